"""Small PyAV helpers shared by the audio and video readers: opening with clear errors, the time origin, and a
stream's length (declared by the header, or found by a decode that stops past a limit)."""

from __future__ import annotations

import os
import re

import av

from ..defaults import VIDEO_FPS
from ..errors import MediaDecodeError
from .inputs import check_input_file

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
    path = check_input_file(path, KINDS.get(kind, kind))
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as err:
        raise MediaDecodeError(
            f"'{path}' is not a readable {KINDS.get(kind, kind)} (FFmpeg: {ffmpeg_reason(err)}); "
            "check that the file is complete and not something else renamed"
        ) from err


def container_origin(container: av.container.InputContainer) -> float:
    """The container's start time in seconds: the zero of the common audio/video timeline.

    Audio and video are both read relative to this origin, so a stream that starts late (a video whose
    first frame is at 0.033 s, say) keeps its offset to the other stream.
    """
    start = container.start_time
    return 0.0 if start is None else float(start) / av.time_base


def declared_duration(container: av.container.InputContainer, stream: av.stream.Stream) -> float | None:
    """The length in seconds the header gives ``stream`` (else the whole container), read without decoding; ``None``
    when it gives none, as in a live recording's webm."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def decoded_seconds(container: av.container.InputContainer, stream: av.stream.Stream, stop_after: float) -> float:
    """How far ``stream`` reaches past :func:`container_origin`, found by decoding it frame by frame (each frame is
    dropped at once) up to the first frame that ends past ``stop_after``.

    For a length the header does not give or cannot be trusted with: however long the stream, at most ``stop_after``
    seconds of it are decoded. A truncated stream reaches as far as it decodes; an FFmpeg error before the first
    frame propagates.
    """
    origin = container_origin(container)
    frame_rate = None if stream.type == "audio" else float(stream.average_rate or stream.guessed_rate or VIDEO_FPS)
    reached = 0.0
    try:
        for frame in container.decode(stream):
            assert isinstance(frame, (av.AudioFrame, av.VideoFrame))  # the stream is an audio or a video stream
            start = reached if frame.time is None else frame.time - origin
            if isinstance(frame, av.AudioFrame):
                length = frame.samples / frame.sample_rate
            else:
                length = 1 / (frame_rate or VIDEO_FPS)
            reached = max(reached, start + length)
            if reached > stop_after:
                break
    except av.error.FFmpegError:
        if reached == 0.0:
            raise
    return reached
