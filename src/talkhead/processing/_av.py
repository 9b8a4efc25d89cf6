"""Small PyAV helpers shared by the audio and video readers: opening with clear errors and the time origin."""

from __future__ import annotations

import os
import re
from pathlib import Path

import av

from ..errors import MediaDecodeError

KINDS = {"audio": "audio file", "video": "video", "media": "audio or video file"}


def ffmpeg_reason(error: Exception) -> str:
    """What FFmpeg says went wrong, without its error number or the file name it appends.

    ``[Errno 1094995529] Invalid data found when processing input: 'x.mp4'`` -> ``invalid data found when
    processing input``.
    """
    text = getattr(error, "strerror", None) or str(error)
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", str(text))
    text = re.sub(r":\s*'[^']*'$", "", text).strip().rstrip(".")
    if len(text) > 1 and text[1].islower():  # "Invalid data" -> "invalid data"; "EOF" stays
        text = text[0].lower() + text[1:]
    return text or type(error).__name__


def open_container(path: str | os.PathLike, kind: str = "media") -> av.container.InputContainer:
    """Open a media file for reading, turning FFmpeg errors into a message that names the file.

    ``kind`` (``audio``, ``video`` or ``media``) is what the caller expects it to be, for the message.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: '{path}'")
    if path.is_dir():
        raise MediaDecodeError(f"'{path}' is a folder, not a media file")
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as err:
        raise MediaDecodeError(f"'{path}' is not a readable {KINDS.get(kind, kind)} (FFmpeg: {ffmpeg_reason(err)}); "
                               "check that the file is complete and not something else renamed") from err


def container_origin(container: av.container.InputContainer) -> float:
    """The container's start time in seconds: the zero of the common audio/video timeline.

    Audio and video are both read relative to this origin, so a stream that starts late (a video whose
    first frame is at 0.033 s, say) keeps its offset to the other stream.
    """
    start = container.start_time
    return 0.0 if start is None else float(start) / av.time_base
