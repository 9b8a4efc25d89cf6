"""Audio tracks through PyAV (FFmpeg): mp3, m4a, the sound of a video, and wavs that soundfile cannot read.

:func:`decode_audio_track` decodes a whole track at its own rate (what :func:`talkhead.processing.audio.load_audio`
falls back on); :func:`stream_audio` decodes and resamples chunk by chunk, for sound that is only passed
through. Both put sample 0 at time 0 of the container's timeline, so audio lines up with the frames of
:class:`talkhead.processing.video.VideoReader`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from ..errors import MediaDecodeError, NoAudioError
from ._av import container_origin, ffmpeg_reason, open_container


def decode_audio_track(path: Path) -> tuple[np.ndarray, int]:
    """The first audio track of ``path`` through PyAV, channels averaged: (float32 wave at its own rate, the rate),
    sample 0 at time 0 of the container's timeline. A truncated file keeps what decoded, as media players do."""
    with open_container(path, "audio") as container:
        if not container.streams.audio:
            raise NoAudioError(f"'{path}' has no audio track; give the speech as a separate file")
        stream = container.streams.audio[0]
        origin = container_origin(container)
        chunks: list[np.ndarray] = []
        first_time: float | None = None
        rate = stream.rate or stream.codec_context.sample_rate
        declared_duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
        try:
            for frame in container.decode(stream):
                if first_time is None and frame.time is not None:
                    first_time = frame.time
                samples = _to_float(frame.to_ndarray())
                if frame.format.is_planar:  # (channels, n)
                    samples = samples.mean(axis=0)
                else:  # packed: (1, n * channels)
                    samples = samples.reshape(-1, len(frame.layout.channels)).mean(axis=1)
                chunks.append(samples)
                rate = frame.sample_rate
        except av.error.FFmpegError as err:
            if not chunks:
                raise MediaDecodeError(f"cannot decode the audio of '{path}' (FFmpeg: {ffmpeg_reason(err)})") from err
            # a truncated file: keep what decoded, as media players do
    wave = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    if declared_duration is not None:  # AAC decoders return the encoder's padding after the last sample
        wave = wave[: int(round(declared_duration * rate))]
    lead = 0.0 if first_time is None else first_time - origin
    return _shift_to_origin(wave, lead, rate), int(rate)


def _to_float(samples: np.ndarray) -> np.ndarray:
    if samples.dtype.kind == "i":
        return samples.astype(np.float32) / float(-np.iinfo(samples.dtype).min)
    if samples.dtype.kind == "u":  # u8 PCM is offset binary
        return (samples.astype(np.float32) - 128.0) / 128.0
    return samples.astype(np.float32, copy=False)


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
        if not container.streams.audio:
            raise NoAudioError(f"'{path}' has no audio track; give the speech as a separate file")
        stream = container.streams.audio[0]
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
