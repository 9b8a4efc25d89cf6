"""Deprecated location of :mod:`talkhead.processing.tracked_clip` (moved there so that ``data`` and ``evaluation`` share
it without importing each other, issue #26); importing from here still works and warns."""

import warnings

from ..processing.tracked_clip import FrameBuffer, TrackedClip, track_clip  # noqa: F401

warnings.warn("talkhead.evaluation.tracked_clip moved to talkhead.processing.tracked_clip", DeprecationWarning,
              stacklevel=2)
