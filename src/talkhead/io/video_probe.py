"""What a video source holds, read without decoding its frames: size, rate, duration, audio, rotation.

A source is a video file (any container FFmpeg reads) or a folder of numbered frames. Also the frame-rate
rule every decoder of the package follows (:func:`resample_indices`: nearest presentation time).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from ..defaults import VIDEO_FPS
from ..errors import MediaDecodeError, NoVideoError
from .containers import declared_duration, decoded_seconds, ffmpeg_reason, open_container

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".flv")


@dataclass(frozen=True)
class VideoInfo:
    """What a video source holds, read without decoding its frames."""

    path: Path
    width: int
    height: int
    source_fps: float | None
    duration: float
    has_audio: bool
    is_frame_folder: bool = False
    rotation: int = 0  # degrees counter-clockwise the stored frames are turned for display (phone videos)
    is_still_image: bool = False  # a photo (png, jpg, ...) that FFmpeg opens as a one-frame video

    def num_frames(self, fps: float = VIDEO_FPS) -> int:
        """Frames at ``fps`` covering the duration (an estimate until decoded)."""
        return frames_covering(self.duration, fps)


def frames_covering(duration: float, fps: float = VIDEO_FPS) -> int:
    """Number of output frames k with k / fps < duration."""
    return max(0, math.ceil(duration * fps - 1e-6))


def resample_indices(source_times: np.ndarray, end_time: float, fps: float = VIDEO_FPS) -> np.ndarray:
    """For each output frame k (time k / fps < ``end_time``), the index of the nearest source frame.

    The reference definition of the frame-rate conversion; :class:`VideoReader` streams the same
    rule. ``source_times`` must be increasing.
    """
    source_times = np.asarray(source_times, dtype=np.float64)
    out_times = np.arange(frames_covering(end_time, fps)) / fps
    # a source frame i owns output times up to the midpoint with frame i+1 (ties to the earlier one)
    midpoints = (source_times[1:] + source_times[:-1]) / 2
    return np.searchsorted(midpoints, out_times - 1e-9, side="left")


def is_frame_folder(path: str | os.PathLike) -> bool:
    path = Path(path)
    return path.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir())


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def list_frame_files(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)


def probe_video(source: str | os.PathLike, folder_fps: float = VIDEO_FPS) -> VideoInfo:
    """Size, rate, duration and audio presence of a video file or a folder of frames."""
    path = Path(source)
    if path.is_dir():
        files = list_frame_files(path)
        if not files:
            raise NoVideoError(f"'{path}' holds no image frames ({', '.join(IMAGE_SUFFIXES)})")
        height, width = read_image_file(files[0]).shape[:2]
        return VideoInfo(path, width, height, folder_fps, len(files) / folder_fps, False, True)
    with open_container(path, "video") as container:
        stream = _first_video_stream(container, path)
        rate = stream.average_rate or stream.guessed_rate
        duration = _stream_duration(container, stream)
        width, height = stream.codec_context.width, stream.codec_context.height
        rotation = _display_rotation(container, stream)
        if rotation in (90, 270):
            width, height = height, width
        return VideoInfo(
            path,
            width,
            height,
            float(rate) if rate else None,
            duration,
            bool(container.streams.audio),
            rotation=rotation,
            is_still_image=_is_image_demuxer(container.format.name),
        )


def _is_image_demuxer(format_name: str) -> bool:
    """Whether FFmpeg read the file with one of its still-image demuxers (``image2``, ``png_pipe``, ``jpeg_pipe``, ...):
    the extension alone would miss a photo saved under a video's name."""
    return format_name in ("image2", "image2pipe") or format_name.endswith("_pipe")


def refuse_still_image(info: VideoInfo, argument: str = "video") -> VideoInfo:
    """``info``, unless it describes a still image, which a command that needs motion refuses; ``argument`` names the
    input in the error (``video`` reads ``--video`` on the command line)."""
    if info.is_still_image:
        raise NoVideoError(
            f"{argument}='{info.path}' is a still image, not a video; to animate a photo, use talking-head "
            f"(`talkhead talking-head`, pipeline(\"talking-head\")) with image='{info.path}'"
        )
    return info


def _display_rotation(container, stream) -> int:
    """The display-matrix rotation of the first frame, as 0, 90, 180 or 270 (0 if it cannot be read)."""
    try:
        frame = next(container.decode(stream))
    except (StopIteration, av.error.FFmpegError):
        return 0
    return int(round(float(getattr(frame, "rotation", 0) or 0) / 90)) % 4 * 90


def _stream_duration(container, stream) -> float:
    return declared_duration(container, stream) or 0.0


def stored_frame_size(source: str | os.PathLike) -> tuple[int, int]:
    """(width, height) of the frames of the video file ``source`` as stored, from its header: the size to check before
    any frame is decoded. :func:`probe_video` decodes the first frame for its rotation, which may swap the two."""
    path = Path(source)
    with open_container(path, "video") as container:
        stream = _first_video_stream(container, path)
        return stream.codec_context.width, stream.codec_context.height


def decoded_video_seconds(source: str | os.PathLike, stop_after: float) -> float:
    """How far the first video stream of the file ``source`` reaches on its timeline, found by decoding it, but no
    further than the first frame that ends past ``stop_after`` seconds: for a header that gives no duration
    (:attr:`VideoInfo.duration` is then 0)."""
    path = Path(source)
    with open_container(path, "video") as container:
        stream = _first_video_stream(container, path)
        try:
            return decoded_seconds(container, stream, stop_after)
        except av.error.FFmpegError as err:
            raise MediaDecodeError(
                f"'{path}' is not a readable video (FFmpeg: {ffmpeg_reason(err)}); check that the file is complete"
            ) from err


def _first_video_stream(container, path: Path):
    if not container.streams.video:
        raise NoVideoError(f"'{path}' has no video stream")
    return container.streams.video[0]


def read_image_file(path: Path) -> np.ndarray:
    """One frame of a frame folder as RGB uint8."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise MediaDecodeError(f"cannot read image '{path}'")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
