"""Small PyAV helpers shared by the audio and video readers: opening with clear errors and the time origin."""

from __future__ import annotations

import os
from pathlib import Path

import av

from ..errors import MediaDecodeError


def open_container(path: str | os.PathLike) -> av.container.InputContainer:
    """Open a media file for reading, turning FFmpeg errors into a message that names the file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: '{path}'")
    if path.is_dir():
        raise MediaDecodeError(f"'{path}' is a folder, not a media file")
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as err:
        raise MediaDecodeError(f"cannot read '{path}': {err}; is it a complete audio or video file?") from err


def container_origin(container: av.container.InputContainer) -> float:
    """The container's start time in seconds: the zero of the common audio/video timeline.

    Audio and video are both read relative to this origin, so a stream that starts late (a video whose
    first frame is at 0.033 s, say) keeps its offset to the other stream.
    """
    start = container.start_time
    return 0.0 if start is None else float(start) / av.time_base
