"""Where a live stream's (frame, audio) pairs go as they are made: an mp4 written as it goes, and/or raw frames."""

from __future__ import annotations

import os
import sys
from collections import deque
from pathlib import Path

import numpy as np

from ...io.video_writer import VideoWriter


class _PendingAudio:
    """The mp4's sound: the audio of the frames written so far, handed to the writer as it asks. An iterator that,
    unlike a generator, goes on after saying it is empty (the next frame brings more)."""

    def __init__(self):
        self.chunks: deque[np.ndarray] = deque()

    def append(self, chunk: np.ndarray) -> None:
        self.chunks.append(chunk)

    def __iter__(self):
        return self

    def __next__(self) -> np.ndarray:
        if not self.chunks:
            raise StopIteration
        return self.chunks.popleft()


class FrameSink:
    """``with FrameSink(avatar, mp4, raw_video, raw_audio) as sink: sink.write(pairs)``.

    ``mp4``: a path written with :class:`~talkhead.io.video_writer.VideoWriter` (atomically: a stream stopped by an
    error leaves no half-written file). ``raw_video``: a path or ``-`` (standard output) for RGB24 frames of the
    avatar's size; ``raw_audio``: a path for the paired speech as s16le PCM. Each write is flushed, so a reader
    (ffmpeg, a virtual camera) sees frames as they come.
    """

    def __init__(
        self, avatar, mp4: str | os.PathLike | None, raw_video: str | None = None, raw_audio: str | None = None
    ):
        self.avatar = avatar
        self.frames = 0
        self._pending_audio = _PendingAudio()
        self._writer = VideoWriter(mp4, fps=avatar.fps, audio=self._pending_audio) if mp4 else None
        self._raw_video_path, self._raw_audio_path = raw_video, raw_audio
        self._raw_video = self._raw_audio = None

    def __enter__(self) -> FrameSink:
        if self._writer is not None:
            self._writer.__enter__()
        if self._raw_video_path:
            path = self._raw_video_path
            self._raw_video = sys.stdout.buffer if path == "-" else open(Path(path), "wb")  # noqa: SIM115
        if self._raw_audio_path:
            self._raw_audio = open(Path(self._raw_audio_path), "wb")  # noqa: SIM115
        return self

    def write(self, pairs) -> None:
        for frame, audio in pairs:
            self.frames += 1
            if self._writer is not None:
                self._pending_audio.append(audio)
                self._writer.write(frame)
            if self._raw_video is not None:
                self._raw_video.write(np.ascontiguousarray(frame).tobytes())
                self._raw_video.flush()
            if self._raw_audio is not None:
                self._raw_audio.write((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
                self._raw_audio.flush()

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._writer is not None:
            self._writer.__exit__(exc_type, exc, tb)
        if self._raw_video is not None and self._raw_video is not sys.stdout.buffer:
            self._raw_video.close()
        if self._raw_audio is not None:
            self._raw_audio.close()
