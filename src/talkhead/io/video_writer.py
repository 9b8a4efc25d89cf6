"""H.264 (yuv420p) + AAC encoding of RGB frames and a mono waveform, atomically.

:class:`VideoWriter` cuts or pads the audio to the video's duration, so the two streams end together. It writes to
a temporary file beside the target and renames it on success (:class:`talkhead.io.outputs.AtomicOutput`): a failed
or interrupted run never leaves a partial file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..defaults import CRF, VIDEO_FPS
from ..errors import NoVideoError
from .audio import SAMPLE_RATE, fit_length
from .outputs import AtomicOutput, disk_full_error, is_disk_full

# x264's macroblock-tree rate control (mbtree) made the same frames encode differently from one encoder to the next
# in one process (first encode against later ones, and after other clips: pixel differences of up to 27 levels with
# PyAV 18's x264), so a pipeline reused for a second dub gave other frames than a fresh one. Without it every
# encode of the same frames is the same bytes, whatever was encoded before.
DETERMINISTIC_X264 = "mbtree=0"


class VideoWriter:
    """Encode RGB frames and optional mono audio to an H.264 + AAC mp4, atomically.

    Use as a context manager. Frames of odd width or height are padded by one pixel (yuv420p needs
    even sizes). On leaving the block without an error, the audio is cut or zero-padded to the
    video's duration and the file is moved into place; on an error the partial file is removed.

    Args:
        path: the output file.
        fps: frame rate.
        audio: mono float32 waveform in [-1, 1], an iterable of such chunks (read as the video needs them,
            e.g. :func:`talkhead.io.audio.stream_audio`), or ``None`` for a silent video.
        sample_rate: rate of ``audio``.
        crf: x264 quality (lower is better; 18 is visually lossless).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fps: float = VIDEO_FPS,
        audio: np.ndarray | None = None,
        sample_rate: int = SAMPLE_RATE,
        crf: int = CRF,
        preset: str = "veryfast",
    ):
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
        self._container: av.container.OutputContainer | None = None
        self._video: av.video.stream.VideoStream | None = None
        self._audio_stream: av.audio.stream.AudioStream | None = None

    def __enter__(self) -> VideoWriter:
        temporary = self._output.__enter__()
        try:
            self._container = av.open(str(temporary), mode="w", format="mp4")
        except BaseException:
            self._output.discard()
            raise
        return self

    @property
    def _opened(self) -> av.container.OutputContainer:
        """The output container, open between ``__enter__`` and ``__exit__``."""
        if self._container is None:
            raise RuntimeError("VideoWriter is used as a context manager: write inside `with VideoWriter(...)`")
        return self._container

    def _open_streams(self, width: int, height: int) -> av.video.stream.VideoStream:
        video = self._opened.add_stream("libx264", rate=self.fps)
        video.width, video.height = width + width % 2, height + height % 2
        video.pix_fmt = "yuv420p"
        video.options = {"crf": str(self.crf), "preset": self.preset, "x264-params": DETERMINISTIC_X264}
        self._video = video
        if self.audio is not None:
            stream = self._opened.add_stream("aac", rate=self.sample_rate)
            stream.layout = "mono"
            self._audio_stream = stream
        return video

    def write(self, frame: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB frame."""
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 frame, got {frame.shape} {frame.dtype}")
        video = self._video if self._video is not None else self._open_streams(frame.shape[1], frame.shape[0])
        if frame.shape[1] != video.width or frame.shape[0] != video.height:
            frame = _pad_to(frame, video.width, video.height)
        packet_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        packet_frame.pts = self.frames_written
        packet_frame.time_base = 1 / self.fps
        try:
            for packet in video.encode(packet_frame):
                self._opened.mux(packet)
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
            self._opened.mux(packet)
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
            if self.frames_written == 0 or self._video is None:
                raise NoVideoError(f"no frames were written to '{self.path}'")
            for packet in self._video.encode():
                self._opened.mux(packet)
            if self._audio_stream is not None:
                for packet in self._audio_stream.encode():
                    self._opened.mux(packet)
            self._opened.close()
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


def write_video(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    fps: float = VIDEO_FPS,
    audio: np.ndarray | None = None,
    sample_rate: int = SAMPLE_RATE,
    **kwargs,
) -> Path:
    """Encode ``frames`` (and ``audio``) to ``path``; see :class:`VideoWriter`."""
    with VideoWriter(path, fps=fps, audio=audio, sample_rate=sample_rate, **kwargs) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.path
