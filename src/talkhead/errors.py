"""Errors raised on bad user input.

Every error here carries a message meant for a person: it names the input and says what to do.
The CLI prints these messages without a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class TalkheadInputError(ValueError):
    """Base class: the input cannot be used as given."""


class MediaDecodeError(TalkheadInputError):
    """A file exists but cannot be decoded (corrupt, truncated, not a media file)."""


class NoAudioError(TalkheadInputError):
    """A file holds no audio stream."""


class EmptyAudioError(TalkheadInputError):
    """Audio decodes to zero samples, or is too short for the task."""


class NoVideoError(TalkheadInputError):
    """A file holds no video stream, or a frame folder holds no images."""


class NoFaceError(TalkheadInputError):
    """No face was found where one is needed."""
