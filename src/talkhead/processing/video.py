"""Video decoding at a fixed frame rate and H.264 + AAC encoding, with PyAV.

Every model in the package works at 25 fps (spec §1.1). :class:`VideoReader` decodes lazily (what a source holds: :mod:`talkhead.processing.video_probe`) and
resamples any source rate (25, 29.97, 30, 60 or variable) by presentation time, never by frame
index: output frame k shows the source frame whose timestamp is nearest to k / fps (ties go to the
earlier frame), so source frames are repeated or dropped as FFmpeg's ``fps`` filter does, and a
variable-frame-rate video keeps its timing.
Time zero is the container's start, the same origin :func:`talkhead.processing.audio.load_audio`
uses, so audio sample ``round(k / fps * 16000)`` belongs to output frame k.

:class:`VideoWriter` encodes frames and a mono waveform to H.264 (yuv420p) + AAC. Audio is cut or
padded to the video's duration, so the two streams end together. It writes to a temporary file
beside the target and renames it on success (:class:`talkhead.outputs.AtomicOutput`): a failed or
interrupted run never leaves a partial file.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from ..errors import MediaDecodeError, NoVideoError
from ..outputs import AtomicOutput, disk_full_error, is_disk_full
from ._av import container_origin, ffmpeg_reason, open_container
from .audio import SAMPLE_RATE, fit_length
from .video_probe import (
    VIDEO_FPS,
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

    def __init__(self, source: str | os.PathLike, fps: float = VIDEO_FPS, folder_fps: float = VIDEO_FPS,
                 max_side: int | None = None):
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

    def _timed_folder_frames(self, seek: float = 0.0) -> Iterator[tuple[float, float, np.ndarray]]:
        period = 1.0 / float(self.info.source_fps)
        files = list_frame_files(self.path)
        first = min(int(seek / period), max(len(files) - 1, 0))
        for index in range(first, len(files)):
            yield index * period, period, functools.partial(lambda file: self._resize(read_image_file(file)), files[index])

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
                    duration = float(frame.duration * frame.time_base) if frame.duration and frame.time_base else nominal
                    decoded += 1
                    last_time = time
                    yield time, duration, functools.partial(_to_rgb, frame, width, height, turns)
            except av.error.FFmpegError as err:
                if decoded == 0:
                    raise MediaDecodeError(f"'{self.path}' is not a readable video (FFmpeg: {ffmpeg_reason(err)}); "
                                           "check that the file is complete") from err
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


def _resample_stream(timed_frames: Iterable[tuple[float, float, Callable[[], np.ndarray]]], fps: float,
                     first: int = 0) -> Iterator[np.ndarray]:
    """Streaming form of :func:`resample_indices`: yields one source frame per output time from frame ``first``.

    Source frames come as getters and are converted once, when first shown (and shared when repeated).
    """
    k = first
    previous: tuple[float, float, Callable[[], np.ndarray]] | None = None
    image: np.ndarray | None = None
    for current in timed_frames:
        if previous is not None:
            midpoint = (previous[0] + current[0]) / 2
            while k / fps <= midpoint + 1e-9:
                image = previous[2]() if image is None else image
                yield image
                k += 1
        previous, image = current, None
    if previous is not None:
        total = frames_covering(previous[0] + previous[1], fps)
        while k < total:
            image = previous[2]() if image is None else image
            yield image
            k += 1


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def read_video(source: str | os.PathLike, fps: float = VIDEO_FPS, max_side: int | None = None) -> np.ndarray:
    """Decode a whole (short) video to (T, H, W, 3) uint8 at ``fps``."""
    return VideoReader(source, fps=fps, max_side=max_side).read()


class VideoWriter:
    """Encode RGB frames and optional mono audio to an H.264 + AAC mp4, atomically.

    Use as a context manager. Frames of odd width or height are padded by one pixel (yuv420p needs
    even sizes). On leaving the block without an error, the audio is cut or zero-padded to the
    video's duration and the file is moved into place; on an error the partial file is removed.

    Args:
        path: the output file.
        fps: frame rate.
        audio: mono float32 waveform in [-1, 1], an iterable of such chunks (read as the video needs them,
            e.g. :func:`talkhead.processing.audio_decode.stream_audio`), or ``None`` for a silent video.
        sample_rate: rate of ``audio``.
        crf: x264 quality (lower is better; 18 is visually lossless).
    """

    def __init__(self, path: str | os.PathLike, fps: float = VIDEO_FPS, audio: np.ndarray | None = None,
                 sample_rate: int = SAMPLE_RATE, crf: int = 18, preset: str = "veryfast"):
        self.path = Path(path)
        self.fps = Fraction(fps).limit_denominator(1001)
        if audio is None or isinstance(audio, np.ndarray):
            chunks = iter(()) if audio is None else iter([np.asarray(audio, np.float32)])  # clipped later: no copy
        else:
            chunks = iter(audio)
        self.audio = audio
        self._audio_chunks = chunks
        self._audio_buffer: list[np.ndarray] = []
        self.sample_rate = int(sample_rate)
        self.crf = crf
        self.preset = preset
        self.frames_written = 0
        self._samples_written = 0
        self._output = AtomicOutput(self.path)
        self._container = None
        self._video = None
        self._audio_stream = None

    def __enter__(self) -> VideoWriter:
        temporary = self._output.__enter__()
        try:
            self._container = av.open(str(temporary), mode="w", format="mp4")
        except BaseException:
            self._output.discard()
            raise
        return self

    def _open_streams(self, width: int, height: int) -> None:
        video = self._container.add_stream("libx264", rate=self.fps)
        video.width, video.height = width + width % 2, height + height % 2
        video.pix_fmt = "yuv420p"
        video.options = {"crf": str(self.crf), "preset": self.preset}
        self._video = video
        if self.audio is not None:
            stream = self._container.add_stream("aac", rate=self.sample_rate)
            stream.layout = "mono"
            self._audio_stream = stream

    def write(self, frame: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB frame."""
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 frame, got {frame.shape} {frame.dtype}")
        if self._video is None:
            self._open_streams(frame.shape[1], frame.shape[0])
        if frame.shape[1] != self._video.width or frame.shape[0] != self._video.height:
            frame = _pad_to(frame, self._video.width, self._video.height)
        packet_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        packet_frame.pts = self.frames_written
        packet_frame.time_base = 1 / self.fps
        try:
            for packet in self._video.encode(packet_frame):
                self._container.mux(packet)
            self.frames_written += 1
            self._write_audio_until(self.frames_written / self.fps)
        except OSError as error:
            if is_disk_full(error):
                raise self._disk_full() from None
            raise

    def _disk_full(self):
        size = os.path.getsize(self._output.temporary) if os.path.exists(self._output.temporary) else None
        return disk_full_error(self.path, size)

    def _write_audio_until(self, seconds: Fraction) -> None:
        if self._audio_stream is None:
            return
        stop = int(round(seconds * self.sample_rate))
        if stop <= self._samples_written:
            return
        chunk = np.clip(self._take_audio(stop - self._samples_written), -1.0, 1.0)
        audio_frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
        audio_frame.sample_rate = self.sample_rate
        audio_frame.pts = self._samples_written
        audio_frame.time_base = Fraction(1, self.sample_rate)
        for packet in self._audio_stream.encode(audio_frame):
            self._container.mux(packet)
        self._samples_written = stop

    def _take_audio(self, count: int) -> np.ndarray:
        """The next ``count`` samples, zero-padded once the audio has run out (slices: no copy of a whole track)."""
        parts, needed = [], count
        while needed > 0:
            if not self._audio_buffer:
                chunk = next(self._audio_chunks, None)
                if chunk is None:
                    break
                self._audio_buffer.append(np.asarray(chunk, np.float32).reshape(-1))
                continue
            head = self._audio_buffer[0]
            parts.append(head[:needed])
            needed -= len(parts[-1])
            if len(head) > len(parts[-1]):
                self._audio_buffer[0] = head[len(parts[-1]) :]
            else:
                self._audio_buffer.pop(0)
        return fit_length(np.concatenate(parts) if parts else np.zeros(0, np.float32), count)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:  # closing may fail again (a full disk): the first error is the one to report
            self._discard()
            return
        try:
            if self.frames_written == 0:
                raise NoVideoError(f"no frames were written to '{self.path}'")
            for packet in self._video.encode():
                self._container.mux(packet)
            if self._audio_stream is not None:
                for packet in self._audio_stream.encode():
                    self._container.mux(packet)
            self._container.close()
        except BaseException as error:
            full = self._disk_full() if is_disk_full(error) else None
            self._discard()
            if full is not None:
                raise full from None
            raise
        self._output.publish()

    def _discard(self) -> None:
        try:
            if self._container is not None:
                self._container.close()
        except Exception:  # the container may be half-closed already; the file goes either way
            pass
        self._output.discard()


def _pad_to(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.pad(frame, ((0, height - frame.shape[0]), (0, width - frame.shape[1]), (0, 0)), mode="edge")


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float = VIDEO_FPS,
                audio: np.ndarray | None = None, sample_rate: int = SAMPLE_RATE, **kwargs) -> Path:
    """Encode ``frames`` (and ``audio``) to ``path``; see :class:`VideoWriter`."""
    with VideoWriter(path, fps=fps, audio=audio, sample_rate=sample_rate, **kwargs) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.path
