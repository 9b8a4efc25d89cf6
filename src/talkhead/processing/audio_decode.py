"""Audio tracks through PyAV (FFmpeg): mp3, m4a, the sound of a video, and wavs that soundfile cannot read.

:func:`decode_audio_track` decodes a whole track at its own rate (what :func:`talkhead.processing.audio.load_audio`
falls back on); :func:`stream_audio` decodes and resamples chunk by chunk, for sound that is only passed
through. Both put sample 0 at time 0 of the container's timeline, so audio lines up with the frames of
:class:`talkhead.processing.video.VideoReader`. :func:`declared_audio_seconds` and :func:`decoded_audio_seconds` tell
a track's length without decoding it all, to refuse one that is too long before it fills the memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from ..errors import MediaDecodeError, NoAudioError
from ._av import container_origin, declared_duration, decoded_seconds, ffmpeg_reason, open_container


def decode_audio_track(path: Path) -> tuple[np.ndarray, int]:
    """The first audio track of ``path`` through PyAV, channels averaged: (float32 wave at its own rate, the rate),
    sample 0 at time 0 of the container's timeline. A truncated file keeps what decoded, as media players do."""
    with open_container(path, "audio") as container:
        stream = _first_audio_track(container, path)
        origin = container_origin(container)
        chunks: list[np.ndarray] = []
        first_time: float | None = None
        rate = stream.rate or stream.codec_context.sample_rate
        track_seconds = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
        averager = _ChannelAverager()
        try:
            for frame in container.decode(stream):
                if first_time is None and frame.time is not None:
                    first_time = frame.time
                chunks.extend(averager.average(frame))
                rate = frame.sample_rate
            chunks.extend(averager.flush())
        except av.error.FFmpegError as err:
            if not chunks:
                raise MediaDecodeError(f"cannot decode the audio of '{path}' (FFmpeg: {ffmpeg_reason(err)})") from err
            # a truncated file: keep what decoded, as media players do
    wave = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    if track_seconds is not None:  # AAC decoders return the encoder's padding after the last sample
        wave = wave[: int(round(track_seconds * rate))]
    lead = 0.0 if first_time is None else first_time - origin
    return _shift_to_origin(wave, lead, rate), int(rate)


def declared_audio_seconds(source: str | os.PathLike) -> float | None:
    """The length of the first audio track of ``source`` as its header gives it, read without decoding; ``None`` when
    the header gives none (a live recording's webm). A header can be wrong: :func:`decoded_audio_seconds` checks it."""
    path = Path(source)
    with open_container(path, "audio") as container:
        return declared_duration(container, _first_audio_track(container, path))


def decoded_audio_seconds(source: str | os.PathLike, stop_after: float) -> float:
    """How far the first audio track of ``source`` reaches on the container's timeline, found by decoding it, but no
    further than the first frame that ends past ``stop_after`` seconds: an hour-long file costs no more than that."""
    path = Path(source)
    with open_container(path, "audio") as container:
        stream = _first_audio_track(container, path)
        try:
            return decoded_seconds(container, stream, stop_after)
        except av.error.FFmpegError as err:
            raise MediaDecodeError(f"cannot decode the audio of '{path}' (FFmpeg: {ffmpeg_reason(err)})") from err


def _first_audio_track(container: av.container.InputContainer, path: Path) -> av.audio.stream.AudioStream:
    if not container.streams.audio:
        raise NoAudioError(f"'{path}' has no audio track; give the speech as a separate file")
    return container.streams.audio[0]


class _ChannelAverager:
    """Decoded frames as mono float32, each sample the average of its channels.

    Frames are read as packed float32 at their own layout and rate (swresample converts the sample format only,
    exactly): PyAV counts one plane too many in a planar frame of 8 channels, and reading that frame as an array
    crashes the process, while a packed frame has one plane whatever the channel count.
    """

    def __init__(self) -> None:
        self._resampler: av.AudioResampler | None = None
        self._setup: tuple | None = None

    def average(self, frame: av.AudioFrame) -> list[np.ndarray]:
        flushed = []
        setup = (frame.format.name, frame.layout.name, len(frame.layout.channels), frame.sample_rate)
        if setup != self._setup:  # a stream may change its layout or rate midway; one resampler takes one setup
            flushed = self.flush()
            self._resampler = av.AudioResampler(format="flt", layout=frame.layout, rate=frame.sample_rate)
            self._setup = setup
        assert self._resampler is not None
        return flushed + [self._mono(packed) for packed in self._resampler.resample(frame)]

    def flush(self) -> list[np.ndarray]:
        """What the resampler still holds."""
        if self._resampler is None:
            return []
        return [self._mono(packed) for packed in self._resampler.resample(None)]

    @staticmethod
    def _mono(packed: av.AudioFrame) -> np.ndarray:
        # packed float32: one plane of shape (1, samples * channels), the channels interleaved
        return packed.to_ndarray().reshape(-1, len(packed.layout.channels)).mean(axis=1, dtype=np.float32)


def _shift_to_origin(wave: np.ndarray, lead_seconds: float, rate: int) -> np.ndarray:
    """Pad (stream starts late) or trim (encoder priming before the origin) to put sample 0 at time 0."""
    lead = int(round(lead_seconds * rate))
    if lead > 0:
        return np.concatenate([np.zeros(lead, np.float32), wave])
    if lead < 0:
        return wave[-lead:]
    return wave


def stream_audio(source: str | os.PathLike, sample_rate: int) -> Iterator[np.ndarray]:
    """The audio of ``source`` as mono float32 chunks at ``sample_rate``, decoded and resampled as it is read.

    The streaming counterpart of :func:`load_audio` for audio that is only passed through (an output's
    sound track): memory stays at one chunk whatever the length. Sample 0 is at time 0 of the file's
    timeline, as in :func:`load_audio`; the resampling and channel mixing are FFmpeg's (swresample), so
    samples differ slightly from :func:`load_audio`'s. Errors surface when iteration starts.
    """
    path = Path(source)
    with open_container(path, "audio") as container:
        stream = _first_audio_track(container, path)
        origin = container_origin(container)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        skip: int | None = None  # samples before the origin still to drop (encoder priming)
        try:
            for frame in container.decode(stream):
                for chunk in resampler.resample(frame):
                    samples = chunk.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    if skip is None:
                        lead = 0.0 if frame.time is None else frame.time - origin
                        skip = max(0, -int(round(lead * sample_rate)))
                        if lead > 0:  # the track starts late: silence until it does
                            yield np.zeros(int(round(lead * sample_rate)), np.float32)
                    dropped = min(skip, len(samples))
                    skip -= dropped
                    if dropped < len(samples):
                        yield samples[dropped:]
        except av.error.FFmpegError as err:
            raise MediaDecodeError(f"cannot decode the audio of '{path}' (FFmpeg: {ffmpeg_reason(err)})") from err
        for chunk in resampler.resample(None):
            yield chunk.to_ndarray().reshape(-1).astype(np.float32, copy=False)
