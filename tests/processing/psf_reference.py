"""python_speech_features' recipe written out step by step with loops: the test reference for mfcc13 and
the AV-HuBERT filterbank (the package itself is not a dependency)."""

from __future__ import annotations

import math

import numpy as np


def psf_power_and_bands(signal: np.ndarray, rate: int = 16000) -> tuple[np.ndarray, np.ndarray]:
    """(power spectrum (N, 257), filterbank energies (N, 26)) with python_speech_features' defaults."""
    emphasized = np.append(signal[0], signal[1:] - 0.97 * signal[:-1]).astype(np.float64)
    count = 1 if len(emphasized) <= 400 else 1 + math.ceil((len(emphasized) - 400) / 160)
    emphasized = np.concatenate([emphasized, np.zeros((count - 1) * 160 + 400 - len(emphasized))])
    frames = np.stack([emphasized[i * 160 : i * 160 + 400] for i in range(count)])
    power = np.abs(np.fft.rfft(frames, 512)) ** 2 / 512
    mel_points = np.linspace(0, 2595 * np.log10(1 + (rate / 2) / 700), 28)
    edges = np.floor(513 * (700 * (10 ** (mel_points / 2595) - 1)) / rate)
    bank = np.zeros((26, 257))
    for j in range(26):
        for i in range(int(edges[j]), int(edges[j + 1])):
            bank[j, i] = (i - edges[j]) / (edges[j + 1] - edges[j])
        for i in range(int(edges[j + 1]), int(edges[j + 2])):
            bank[j, i] = (edges[j + 2] - i) / (edges[j + 2] - edges[j + 1])
    return power, power @ bank.T


def safe_log(values: np.ndarray) -> np.ndarray:
    return np.log(np.where(values == 0, np.finfo(float).eps, values))


def psf_logfbank(signal: np.ndarray, rate: int = 16000) -> np.ndarray:
    """python_speech_features.logfbank(signal, rate)."""
    return safe_log(psf_power_and_bands(signal, rate)[1])


def psf_mfcc(signal: np.ndarray, rate: int = 16000) -> np.ndarray:
    """python_speech_features.mfcc(signal, rate)."""
    from scipy.fftpack import dct

    power, bands = psf_power_and_bands(signal, rate)
    feats = dct(safe_log(bands), type=2, axis=1, norm="ortho")[:, :13]
    feats *= 1 + 11 * np.sin(np.pi * np.arange(13) / 22)
    feats[:, 0] = safe_log(power.sum(axis=1))
    return feats
