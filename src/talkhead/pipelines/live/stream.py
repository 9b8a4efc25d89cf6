"""A live stream of a prepared avatar: 16 kHz speech chunks in, (frame, audio) pairs out at the avatar's frame rate.

Each frame is the avatar's idle loop with the mouth redrawn (:func:`~talkhead.pipelines.mouth_paste.render_frame`)
to the shape :class:`~.mouth_stream.MouthShapeStream` predicts; silence gives the shut mouth, so idling and
speaking are one path and nothing jumps when speech starts. The audio paired with a frame is that frame's own 40 ms
of the speech, so the pairs come out delayed by exactly :attr:`AvatarStream.latency_frames` frames and a player that
plays them together keeps them in sync.
"""

from __future__ import annotations

import threading

import numpy as np

from ...errors import TalkheadInputError
from ...processing import audio as audio_lib
from .. import mouth_retrieval as retrieval
from ..mouth_paste import render_frame
from .mouth_stream import MouthFrame, MouthShapeStream


def as_wave(chunk, sample_rate: int) -> np.ndarray:
    """A pushed chunk as 1-D float32 in [-1, 1]: float arrays as they are, int16 arrays and bytes (16-bit little
    endian) scaled; anything else, or another rate, refused in one line."""
    if sample_rate != audio_lib.SAMPLE_RATE:
        raise TalkheadInputError(
            f"stream.push got sample_rate={sample_rate}; a live stream takes {audio_lib.SAMPLE_RATE} Hz mono "
            "(resample first, e.g. talkhead.io.audio.resample)"
        )
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        if len(chunk) % 2:
            raise TalkheadInputError("stream.push got an odd number of bytes; raw PCM must be 16-bit (s16le) samples")
        return np.frombuffer(chunk, "<i2").astype(np.float32) / 32768.0
    wave = np.asarray(chunk)
    if wave.ndim != 1:
        raise TalkheadInputError(f"stream.push takes mono 1-D samples, got shape {wave.shape}")
    if wave.dtype == np.int16:
        return wave.astype(np.float32) / 32768.0
    if wave.dtype.kind != "f":
        raise TalkheadInputError(f"stream.push takes float samples in [-1, 1] or int16, got dtype {wave.dtype}")
    return np.clip(wave.astype(np.float32), -1.0, 1.0)


class AvatarStream:
    """See the module docstring. ``push`` and ``end`` may be called from any thread, one call at a time per stream
    (a lock keeps them in order); an avatar can have several streams, each with its own state.

    ``realtime`` (default) is for speech that arrives as it is spoken: the visemes' phones are decoded in the phone
    worker processes, so no frame waits for a decoding, and the frames depend on how fast the workers ran.
    ``realtime=False`` decodes them in ``push``: the frames are a pure function of the speech (for speech pushed
    faster than it is spoken, such as a file rendered as fast as it can be)."""

    def __init__(
        self,
        avatar,
        visemes: bool = True,
        exclude_within: int = 0,
        retrieval_options: dict | None = None,
        realtime: bool = True,
    ):
        if avatar.mouth_model is None:
            raise TalkheadInputError(
                "this avatar has no mouth-motion model: load it with LipSyncAvatar.from_pretrained"
            )
        self.avatar = avatar
        self.mouth = MouthShapeStream(avatar.mouth_model, avatar.mean, avatar.closed, visemes, realtime)
        self.exclude_within = exclude_within  # benchmarks: never take a pooled mouth this close to the speech's frame
        self.retrieval_options = retrieval_options or {}  # benchmarks: next_mouth's costs
        self._order = avatar.loop.order()
        self._previous: int | None = None
        self._lock = threading.Lock()
        self.frames_made = 0

    @property
    def fps(self) -> float:
        return self.avatar.fps

    @property
    def latency_frames(self) -> int:
        """Frames between a frame's audio arriving whole and the frame coming out (the model's look-ahead)."""
        return self.mouth.delay_frames

    def push(self, chunk, sample_rate: int = audio_lib.SAMPLE_RATE) -> list[tuple[np.ndarray, np.ndarray]]:
        """Take a chunk of speech (any length; float in [-1, 1], int16, or s16le bytes) and return the
        ``(frame, audio)`` pairs it completes: ``frame`` (H, W, 3) uint8, ``audio`` that frame's 640 samples."""
        wave = as_wave(chunk, sample_rate)
        with self._lock:
            return [self._render(made) for made in self.mouth.push(wave)]

    def idle(self, seconds: float) -> list[tuple[np.ndarray, np.ndarray]]:
        """Push ``seconds`` of silence: the avatar idles, mouth shut."""
        return self.push(np.zeros(int(round(seconds * audio_lib.SAMPLE_RATE)), np.float32))

    def end(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The utterance is over: the frames still held back (its last ``latency_frames`` and a partial frame) come
        out, followed by silence; the stream can go on."""
        spf = audio_lib.SAMPLES_PER_FRAME
        pad = (-self.mouth.heard) % spf + (self.latency_frames + 1) * spf + 3 * audio_lib.MEL_HOP
        pairs = self.push(np.zeros(pad, np.float32))
        with self._lock:
            self.mouth.end_utterance()
        return pairs

    def _render(self, made: MouthFrame) -> tuple[np.ndarray, np.ndarray]:
        avatar = self.avatar
        position = int(self._order[made.index % len(self._order)])
        landmarks = avatar.landmarks[position]
        excluded = None
        if self.exclude_within:
            excluded = np.abs(avatar.pool.frame_indices - made.index) < self.exclude_within
        chosen = retrieval.next_mouth(
            avatar.pool,
            made.shape,
            avatar.poses[position],
            self._previous,
            made.shut,
            excluded,
            **self.retrieval_options,
        )
        self._previous = chosen
        target = retrieval.target_landmarks(landmarks[None], made.shape[None])[0]
        frame = render_frame(avatar.frames[position], landmarks, target, avatar.pool, chosen)
        self.frames_made += 1
        return frame, self.mouth.audio_of(made.index)
