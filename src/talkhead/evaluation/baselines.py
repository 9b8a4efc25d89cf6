"""Deprecated location of :mod:`talkhead.metrics.baselines` (moved there so that ``data`` does not import
``evaluation``, issue #26); importing from here still works and warns."""

import warnings

from ..metrics.baselines import fit_phone_table, loudness_opening, phone_table_opening  # noqa: F401

warnings.warn("talkhead.evaluation.baselines moved to talkhead.metrics.baselines", DeprecationWarning, stacklevel=2)
