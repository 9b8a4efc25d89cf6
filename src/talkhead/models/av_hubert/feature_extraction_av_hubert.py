"""The AV-HuBERT expert's inputs (Shi et al. 2022, ``hubert_dataset.py`` of facebookresearch/av_hubert; used by
Yaman et al., AV-HuBERT expert, §3.5).

* :func:`stacked_logfbank`: audio, 16 kHz waveform -> (T, 104): 26 log filterbank energies at 100 Hz
  (:func:`pcm_logfbank`), 4 consecutive frames stacked into one row per 25-fps video frame, each row
  normalised over its own 104 values (layer norm without affine), zero rows past the end of the audio.
* :func:`av_hubert_inputs`: one video's normalised mouth crops and audio features. The mouth crops are the
  lip-reading ROI of :mod:`talkhead.processing.mouth_crops` (:func:`~talkhead.processing.mouth_crops.mouth_rois`,
  :func:`~talkhead.processing.mouth_crops.normalize_rois`), which every tracked clip makes, so they live in
  ``processing``; this module holds what only this model reads.

Where we differ from AV-HuBERT's preparation and why: nothing in the audio. :func:`pcm_logfbank` is
python_speech_features' ``logfbank`` with its defaults on the 16-bit PCM scale (25 ms rectangular frames every
10 ms, pre-emphasis 0.97, 512-point power spectrum, 26 FFT-bin-quantised mel triangles, natural log), built from
:mod:`talkhead.processing.audio`'s front end (the one behind logfbank26 and mfcc13), not from logfbank26 itself:
logfbank26 peak-normalises and uses librosa's triangles, which suit our own models but not pretrained AV-HuBERT
weights. The mouth crops' differences are in :mod:`talkhead.processing.mouth_crops`.
"""

from __future__ import annotations

import numpy as np

from ...errors import EmptyAudioError
from ...io.audio import SAMPLE_RATE
from ...processing.audio import (
    LOGFBANK_PER_VIDEO_FRAME,
    MFCC_PCM_SCALE,
    _band_energies,
    _check_rate,
    _nonzero,
    _quantised_mel_filters,
)
from ...processing.mouth_crops import mouth_rois, normalize_rois

STACK = LOGFBANK_PER_VIDEO_FRAME  # 4 filterbank frames (10 ms) per video frame (40 ms)
AUDIO_FEATURE_SIZE = 26 * STACK  # 104


def stack_logfbank(logfbank: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """(4T, 26) log filterbanks at 100 Hz -> (ceil(4T / 4), 104): stack 4 frames (zero rows fill the last
    stack), then normalise each row to zero mean and unit variance (``F.layer_norm`` over the row, eps 1e-5)."""
    feats = np.asarray(logfbank, dtype=np.float32)
    if feats.ndim != 2:
        raise ValueError(f"expected (frames, bands) log filterbanks, got shape {feats.shape}")
    remainder = (-len(feats)) % STACK
    if remainder:
        feats = np.concatenate([feats, np.zeros((remainder, feats.shape[1]), np.float32)])
    stacked = feats.reshape(-1, STACK * feats.shape[1]).astype(np.float64)
    mean = stacked.mean(axis=1, keepdims=True)
    variance = stacked.var(axis=1, keepdims=True)
    return ((stacked - mean) / np.sqrt(variance + eps)).astype(np.float32)


def pcm_logfbank(wave: np.ndarray, sample_rate: int = SAMPLE_RATE, pcm_scale: float = MFCC_PCM_SCALE) -> np.ndarray:
    """``python_speech_features.logfbank(int16 samples, 16000)``: (N, 26) float32 at 100 Hz, N = 1 + ⌈(n - 400) / 160⌉.

    ``wave`` is a float waveform in [-1, 1] (as :func:`talkhead.io.audio.load_audio` returns it),
    multiplied by ``pcm_scale`` to the int16 scale AV-HuBERT reads wav files at.
    """
    _check_rate(sample_rate)
    wave = np.asarray(wave, dtype=np.float64)
    if wave.size == 0:
        raise EmptyAudioError("cannot compute the filterbank of an empty waveform")
    energies, _ = _band_energies(wave * pcm_scale, _quantised_mel_filters(sample_rate))
    return np.log(_nonzero(energies)).astype(np.float32)


def stacked_logfbank(wave: np.ndarray, num_frames: int | None = None, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """AV-HuBERT audio features of a 16 kHz mono waveform in [-1, 1], (num_frames, 104) float32 (AV-HuBERT
    code, ``hubert_dataset.py``).

    :func:`pcm_logfbank`, then :func:`stack_logfbank`, then zero rows appended (audio shorter than the video)
    or rows dropped (longer) to reach ``num_frames`` video frames; ``None`` keeps every stacked row.
    """
    rows = stack_logfbank(pcm_logfbank(wave, sample_rate))
    if num_frames is None:
        return rows
    if num_frames <= 0:
        raise ValueError(f"num_frames={num_frames}: need at least one video frame")
    if len(rows) >= num_frames:
        return np.ascontiguousarray(rows[:num_frames])
    return np.concatenate([rows, np.zeros((num_frames - len(rows), rows.shape[1]), np.float32)])


def av_hubert_inputs(
    frames: np.ndarray, landmarks: np.ndarray, wave: np.ndarray, mean_face: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One video's AV-HuBERT inputs: ((T, 88, 88) normalised mouth crops, (T, 104) audio features).

    ``frames`` (T, H, W, 3) RGB uint8 at 25 fps, ``landmarks`` (T, 68, 2) pixels, ``wave`` 16 kHz mono
    on the same timeline (sample 0 at frame 0). Add a batch axis to feed :class:`AVHubertModel`.
    """
    rois = normalize_rois(mouth_rois(frames, landmarks, mean_face=mean_face))
    return rois, stacked_logfbank(wave, len(rois))


__all__ = [
    "AUDIO_FEATURE_SIZE",
    "pcm_logfbank",
    "stack_logfbank",
    "stacked_logfbank",
    "av_hubert_inputs",
]
