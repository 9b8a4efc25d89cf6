"""Video decoding at a fixed frame rate, with PyAV.

Every model in the package works at 25 fps (the rate of MS-Sync's data, Airale et al., MS-Sync, §4.1).
:class:`VideoReader` decodes lazily (what a source holds: :mod:`talkhead.io.video_probe`) and resamples any
source rate (25, 29.97, 30, 60 or variable) by presentation time, never by frame index: output frame k shows the
source frame whose timestamp is nearest to k / fps (ties go to the earlier frame), so source frames are repeated or
dropped as FFmpeg's ``fps`` filter does, and a variable-frame-rate video keeps its timing.
Time zero is the container's start, the same origin :func:`talkhead.io.audio.load_audio`
uses, so audio sample ``round(k / fps * 16000)`` belongs to output frame k.

Writing frames back out (H.264 + AAC) is :mod:`talkhead.io.video_writer`'s.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np

from ..defaults import VIDEO_FPS
from ..errors import MediaDecodeError, NoVideoError
from .containers import container_origin, ffmpeg_reason, open_container
from .video_probe import (
    frames_covering,
    list_frame_files,
    probe_video,
    read_image_file,
)


class VideoReader:
    """Lazy RGB frames of a video file or frame folder, resampled to ``fps``.

    Iterating yields ``(H, W, 3)`` uint8 arrays. ``max_side`` downscales frames on decode (the
    factor is in :attr:`scale`), which keeps 1080p and 4K inputs cheap where full resolution is not
    needed. After iteration :attr:`num_frames` holds the exact count.

    Args:
        source: a video file, or a folder of numbered image frames.
        fps: output frame rate.
        folder_fps: the frame rate of a frame folder (it has no timestamps).
        max_side: longest side of the returned frames; ``None`` keeps the source size.
    """

    def __init__(
        self,
        source: str | os.PathLike,
        fps: float = VIDEO_FPS,
        folder_fps: float = VIDEO_FPS,
        max_side: int | None = None,
    ):
        self.path = Path(source)
        self.fps = fps
        self.info = probe_video(self.path, folder_fps)
        longest = max(self.info.width, self.info.height)
        self.scale = 1.0 if max_side is None or longest <= max_side else max_side / longest
        self.size = (_even(self.info.width * self.scale), _even(self.info.height * self.scale))
        self.num_frames: int | None = None

    @property
    def estimated_num_frames(self) -> int:
        return self.info.num_frames(self.fps) if self.num_frames is None else self.num_frames

    def __iter__(self) -> Iterator[np.ndarray]:
        count = 0
        for frame in self.frames():
            count += 1
            yield frame
        self.num_frames = count

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Output frames ``start`` to ``stop - 1`` only.

        A file is entered by seeking to the keyframe before ``start``, so a range late in a long video
        costs one group of pictures of decoding, not the whole prefix (reverse playback reads chunks so).
        """
        seek = max(start - 1, 0) / self.fps
        timed = self._timed_folder_frames(seek) if self.info.is_frame_folder else self._timed_file_frames(seek)
        for index, frame in enumerate(_resample_stream(timed, self.fps, first=start), start):
            if stop is not None and index >= stop:
                return
            yield frame

    def frames_at(self, indices, boxes=None) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, frame)`` of the output frames ``indices`` (sorted, distinct) only, in one pass from the first.

        The frames in between are decoded but never converted to RGB (a pool of every other frame of a 4K video
        converted twice the frames it kept, 25 MB each). With ``boxes`` ((len(indices), 4) of x0, y0, x1, y1 inside
        the frame) each frame is ``frame[y0:y1, x0:x1]`` of its box, the same pixels, and where the decoded picture
        allows (4:2:0, even sizes, not downscaled) only that region is converted: no full-size RGB frame is made.
        Indices past the video's end are not yielded.
        """
        indices = np.asarray(indices, np.int64).reshape(-1)
        if not len(indices):
            return
        if (np.diff(indices) <= 0).any() or indices[0] < 0:
            raise ValueError("frames_at needs sorted, distinct, non-negative frame indices")
        if boxes is not None:
            boxes = np.asarray(boxes, np.int64).reshape(len(indices), 4)
        start = int(indices[0])
        seek = max(start - 1, 0) / self.fps
        timed = self._timed_folder_frames(seek) if self.info.is_frame_folder else self._timed_file_frames(seek)
        wanted = 0
        shown: tuple[Callable[[], np.ndarray], tuple[int, int, int, int] | None] | None = None
        image = np.empty((0, 0, 3), np.uint8)
        for index, picture in _resample_pictures(timed, self.fps, first=start):
            if index < indices[wanted]:
                continue  # decoded, never converted
            box = None if boxes is None else _box(boxes[wanted])
            if (picture, box) != shown:  # a source frame shown twice (a lower source rate) is converted once
                shown = picture, box
                image = picture() if box is None else _picture_region(picture, box)
            yield index, image
            wanted += 1
            if wanted == len(indices):
                return

    def read(self) -> np.ndarray:
        """All frames as one (T, H, W, 3) array; for short inputs."""
        frames = list(self)
        if not frames:
            raise NoVideoError(f"'{self.path}' holds no decodable frames")
        return np.stack(frames)

    def _resize(self, image: np.ndarray) -> np.ndarray:
        if image.shape[1] == self.size[0] and image.shape[0] == self.size[1]:
            return image
        return cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)

    def _timed_folder_frames(self, seek: float = 0.0) -> Iterator[tuple[float, float, Callable[[], np.ndarray]]]:
        assert self.info.source_fps is not None  # a frame folder's rate is always known (given or the default)
        period = 1.0 / float(self.info.source_fps)
        files = list_frame_files(self.path)
        first = min(int(seek / period), max(len(files) - 1, 0))
        for index in range(first, len(files)):
            yield (
                index * period,
                period,
                functools.partial(lambda file: self._resize(read_image_file(file)), files[index]),
            )

    def _timed_file_frames(self, seek: float = 0.0) -> Iterator[tuple[float, float, Callable[[], np.ndarray]]]:
        """(time, duration, rgb getter) per decoded frame, time relative to the container's origin.

        The RGB conversion is deferred to the getter, so frames the resampler skips (the run-up from a
        keyframe after a seek, the extra frames of a 60 fps source) are never converted. ``seek`` > 0
        starts at the keyframe at or before that time.
        """
        with open_container(self.path, "video") as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            origin = container_origin(container)
            if seek > 0 and stream.time_base:
                container.seek(int((seek + origin) / stream.time_base), stream=stream, backward=True)
            nominal = 1.0 / float(stream.average_rate or stream.guessed_rate or VIDEO_FPS)
            width, height = self.size
            turns = self.info.rotation // 90
            if turns % 2:  # frames are stored on their side: decode at the stored size, then turn
                width, height = height, width
            last_time = -math.inf
            decoded = 0
            try:
                for frame in container.decode(stream):
                    time = _presentation_time(frame)
                    if time is None:  # no timestamp at all: one nominal period after the previous frame
                        time = last_time + nominal if decoded else 0.0
                    else:
                        time -= origin
                    if time <= last_time:  # duplicated or out-of-order timestamps: keep the first
                        continue
                    duration = (
                        float(frame.duration * frame.time_base) if frame.duration and frame.time_base else nominal
                    )
                    decoded += 1
                    last_time = time
                    yield time, duration, _Picture(frame, width, height, turns)
            except av.error.FFmpegError as err:
                if decoded == 0:
                    raise MediaDecodeError(
                        f"'{self.path}' is not a readable video (FFmpeg: {ffmpeg_reason(err)}); "
                        "check that the file is complete"
                    ) from err
                # a truncated file: keep the frames that decoded


def _presentation_time(frame: av.VideoFrame) -> float | None:
    """Seconds on the container's clock: the frame's pts, else its decoding time (streams muxed without pts)."""
    if frame.time is not None:
        return frame.time
    if frame.dts is not None and frame.time_base:
        return float(frame.dts * frame.time_base)
    return None


def _to_rgb(frame: av.VideoFrame, width: int, height: int, turns: int) -> np.ndarray:
    image = frame.to_ndarray(format="rgb24", width=width, height=height)
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


REGION_FORMATS = ("yuv420p", "yuvj420p")
"""Decoded formats whose regions convert alone, pixel for pixel as in the whole frame (chroma shared by 2 x 2 blocks
at even offsets: tests/processing/test_video_wanted_frames.py)."""


class _Picture:
    """A decoded frame's RGB picture, converted only when asked: whole (a call), or one region (:meth:`region`)."""

    __slots__ = ("frame", "width", "height", "turns")

    def __init__(self, frame: av.VideoFrame, width: int, height: int, turns: int):
        self.frame, self.width, self.height, self.turns = frame, width, height, turns

    def __call__(self) -> np.ndarray:
        return _to_rgb(self.frame, self.width, self.height, self.turns)

    def region(self, box: tuple[int, int, int, int]) -> np.ndarray:
        """``self()[y0:y1, x0:x1]`` (contiguous); only the region is converted where the frame's format allows."""
        frame = self.frame
        if (
            (frame.width, frame.height) != (self.width, self.height)
            or frame.format.name not in REGION_FORMATS
            or frame.width % 2
            or frame.height % 2
        ):  # downscaled or another layout: the whole frame, then a cut
            x0, y0, x1, y1 = box
            return np.ascontiguousarray(self()[y0:y1, x0:x1])
        if not self.turns:
            return _convert_region(frame, *box)
        stored = _stored_box(box, self.turns, frame.width, frame.height)
        return np.ascontiguousarray(np.rot90(_convert_region(frame, *stored), self.turns))


def _picture_region(picture: Callable[[], np.ndarray], box: tuple[int, int, int, int]) -> np.ndarray:
    region = getattr(picture, "region", None)
    if region is not None:
        return region(box)
    x0, y0, x1, y1 = box
    return np.ascontiguousarray(picture()[y0:y1, x0:x1])


def _stored_box(box: tuple[int, int, int, int], turns: int, width: int, height: int) -> tuple[int, int, int, int]:
    """The box, in the stored (width, height) frame, of a displayed box after ``np.rot90(stored, turns)``."""
    x0, y0, x1, y1 = box
    turns %= 4
    if turns == 1:  # displayed[i, j] = stored[j, width - 1 - i]
        return width - y1, x0, width - y0, x1
    if turns == 2:  # displayed[i, j] = stored[height - 1 - i, width - 1 - j]
        return width - x1, height - y1, width - x0, height - y0
    if turns == 3:  # displayed[i, j] = stored[height - 1 - j, i]
        return y0, height - x1, y1, height - x0
    return box


def _convert_region(frame: av.VideoFrame, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """RGB of ``frame[y0:y1, x0:x1]`` (a 4:2:0 frame of even size), converted from that region's planes alone.

    The region is widened to even bounds (its chroma samples), copied into a small frame with the same colour
    space and range, converted by the same swscale call as a whole frame, and cut back.
    """
    ex0, ey0 = x0 - x0 % 2, y0 - y0 % 2
    ex1, ey1 = min(x1 + x1 % 2, frame.width), min(y1 + y1 % 2, frame.height)
    part = av.VideoFrame(ex1 - ex0, ey1 - ey0, frame.format.name)
    for number, (source, target) in enumerate(zip(frame.planes, part.planes, strict=True)):
        shift = 0 if number == 0 else 1
        rows = np.frombuffer(memoryview(source), np.uint8).reshape(-1, source.line_size)
        into = np.frombuffer(memoryview(target), np.uint8).reshape(-1, target.line_size)[
            : target.height, : target.width
        ]
        into[:] = rows[ey0 >> shift : (ey0 >> shift) + target.height, ex0 >> shift : (ex0 >> shift) + target.width]
    part.colorspace, part.color_range = frame.colorspace, frame.color_range
    image = part.to_ndarray(format="rgb24")
    if (ex0, ey0, ex1, ey1) == (x0, y0, x1, y1) and image.flags.c_contiguous:
        return image
    return np.ascontiguousarray(image[y0 - ey0 : y1 - ey0, x0 - ex0 : x1 - ex0])


def _resample_pictures(
    timed_frames: Iterable[tuple[float, float, Callable[[], np.ndarray]]], fps: float, first: int = 0
) -> Iterator[tuple[int, Callable[[], np.ndarray]]]:
    """(output index, source picture getter) per output time from frame ``first``: :func:`resample_indices`
    streaming. A repeated source frame is the same getter; nothing is converted here."""
    k = first
    previous: tuple[float, float, Callable[[], np.ndarray]] | None = None
    for current in timed_frames:
        if previous is not None:
            midpoint = (previous[0] + current[0]) / 2
            while k / fps <= midpoint + 1e-9:
                yield k, previous[2]
                k += 1
        previous = current
    if previous is not None:
        total = frames_covering(previous[0] + previous[1], fps)
        while k < total:
            yield k, previous[2]
            k += 1


def _resample_stream(
    timed_frames: Iterable[tuple[float, float, Callable[[], np.ndarray]]], fps: float, first: int = 0
) -> Iterator[np.ndarray]:
    """Streaming form of :func:`resample_indices`: yields one source frame per output time from frame ``first``.

    Source frames come as getters and are converted once, when first shown (and shared when repeated).
    """
    shown: Callable[[], np.ndarray] | None = None
    image = np.empty((0, 0, 3), np.uint8)
    for _, picture in _resample_pictures(timed_frames, fps, first):
        if picture is not shown:
            shown, image = picture, picture()
        yield image


def _box(values: np.ndarray) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (int(v) for v in values)
    return x0, y0, x1, y1


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def read_video(source: str | os.PathLike, fps: float = VIDEO_FPS, max_side: int | None = None) -> np.ndarray:
    """Decode a whole (short) video to (T, H, W, 3) uint8 at ``fps``."""
    return VideoReader(source, fps=fps, max_side=max_side).read()
