"""What the two video pipelines share: the default model ids, the output's sound rate, and reading the speech."""

from __future__ import annotations

import os

import numpy as np

from .. import defaults
from ..errors import TalkheadInputError
from ..processing import audio as audio_lib
from ..processing.audio_decode import stream_audio

OUTPUT_SAMPLE_RATE = 48_000
# the pipelines' names for the shipped checkpoints they default to (talkhead.defaults holds the values)
DEFAULT_MOUTH_MOTION = defaults.MOUTH_MOTION
DEFAULT_FACE_GENERATOR = defaults.FACE_GENERATOR
DEFAULT_SILENT_LIP = defaults.SILENT_LIP


def load_speech(audio, name: str):
    """(wave at 16 kHz for the model, the output's 48 kHz sound) from a path or a 16 kHz array.

    From a file the output sound is a stream (:func:`~talkhead.processing.audio_decode.stream_audio`), read as the
    video is written, so only the 16 kHz copy the model needs is held whole.
    """
    if isinstance(audio, (str, os.PathLike)):
        wave = audio_lib.load_audio(audio)
        output_wave = stream_audio(audio, OUTPUT_SAMPLE_RATE)
    else:
        wave = np.asarray(audio, np.float32)
        if wave.ndim == 2 and min(wave.shape) <= 8:  # (samples, channels) or (channels, samples)
            wave = wave.mean(axis=int(np.argmin(wave.shape)))
        if wave.ndim != 1:
            raise TalkheadInputError(f"{name} must be a mono 16 kHz waveform (a 1-D array), got shape {wave.shape}")
        output_wave = audio_lib.resample(wave, audio_lib.SAMPLE_RATE, OUTPUT_SAMPLE_RATE)
    audio_lib.check_min_duration(wave, name)
    return wave, output_wave
