"""Speech in: any wav, flac, mp3, m4a or the audio track of a video, whole or streamed.

* :func:`load_audio`: a file's audio, at any sample rate and channel count, to 16 kHz (:data:`SAMPLE_RATE`) mono
  float32 on the container's timeline. Plain audio files are read with soundfile; containers that soundfile cannot
  read go through PyAV (:func:`decode_audio_track`, a whole track at its own rate).
* :func:`stream_audio` decodes and resamples chunk by chunk, for sound that is only passed through.
* :func:`declared_audio_seconds` and :func:`decoded_audio_seconds` tell a track's length without decoding it all, to
  refuse one that is too long before it fills the memory; :func:`check_min_duration` refuses one that is too short.

Everything here puts sample 0 at time 0 of the container's timeline, so audio lines up with the frames of
:class:`talkhead.io.video.VideoReader`. The features computed from the wave are :mod:`talkhead.processing.audio`'s.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import av
import librosa
import numpy as np
import soundfile

from ..errors import EmptyAudioError, MediaDecodeError, NoAudioError
from .containers import container_origin, declared_duration, decoded_seconds, ffmpeg_reason, open_container
from .inputs import check_input_file

SAMPLE_RATE = 16_000  # every model of the package listens at 16 kHz: what load_audio returns by default

# The shortest speech any command accepts: one 200 ms mel window of the face generator, 5 video frames
# at 25 fps, the shortest MS-Sync syncer window. Every command checks it with check_min_duration.
MIN_AUDIO_SECONDS = 0.2


def check_min_duration(wave: np.ndarray, name: str, sample_rate: int = SAMPLE_RATE) -> None:
    """:class:`EmptyAudioError` when ``wave`` is shorter than :data:`MIN_AUDIO_SECONDS`; ``name`` names it."""
    seconds = len(wave) / sample_rate
    if seconds < MIN_AUDIO_SECONDS:
        raise EmptyAudioError(f"{name} is {seconds:.2f} s long; at least {MIN_AUDIO_SECONDS:g} s of speech is needed")


_SOUNDFILE_ERRORS = (soundfile.LibsndfileError, RuntimeError, TypeError)


def load_audio(source: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Load the audio of ``source`` as mono float32 at ``sample_rate``.

    Sample 0 is at time 0 of the file's timeline, so the result lines up with the frames that
    :class:`talkhead.io.video.VideoReader` returns for the same file. Plain audio files are
    read with soundfile; anything else (mp3, m4a, a video's track, a wav with a misleading
    extension) goes through PyAV. Channels are averaged; resampling uses librosa (soxr).

    Raises:
        FileNotFoundError: the path does not exist.
        NoAudioError: the file holds no audio stream.
        MediaDecodeError: the file cannot be decoded.
        EmptyAudioError: the audio has no samples.
    """
    path = check_input_file(source, "audio file")
    try:
        data, native_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        wave = data.mean(axis=1)
    except _SOUNDFILE_ERRORS:
        wave, native_rate = decode_audio_track(path)
    if wave.size == 0:
        raise EmptyAudioError(f"the audio in '{path}' is empty (0 samples); give a file with speech in it")
    return resample(wave, native_rate, sample_rate)


def resample(wave: np.ndarray, source_rate: int, target_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float32 resampling (soxr high quality through librosa)."""
    wave = np.asarray(wave, dtype=np.float32)
    if source_rate <= 0:
        raise MediaDecodeError(f"invalid sample rate {source_rate}")
    if source_rate == target_rate:
        return wave
    return librosa.resample(wave, orig_sr=source_rate, target_sr=target_rate).astype(np.float32)


def fit_length(wave: np.ndarray, num_samples: int) -> np.ndarray:
    """Trim or zero-pad ``wave`` to exactly ``num_samples``."""
    if wave.shape[0] >= num_samples:
        return wave[:num_samples]
    return np.pad(wave, (0, num_samples - wave.shape[0]))


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
