"""The two no-learning mouth-motion baselines (a phone table and the person's own mouths), as rows every model is
read against.

* **phone table**: each phone's mean z-scored mouth opening over the training clips; a new clip's
  opening is the table's value of each frame's phone (most of its frame's span).
* **loudness**: the RMS of each 40 ms of speech, smoothed over 5 frames.
"""

from __future__ import annotations

import numpy as np

from ..io.audio import SAMPLE_RATE
from ..processing.audio import VIDEO_FPS, frame_rms
from ..processing.phones import NUM_PHONES


def _zscore(values: np.ndarray) -> np.ndarray:
    return (values - np.nanmean(values)) / (np.nanstd(values) + 1e-9)


def fit_phone_table(phones: list[np.ndarray], openings: list[np.ndarray]) -> np.ndarray:
    """(NUM_PHONES,) mean z-scored opening per phone, from per-clip (T, NUM_PHONES) phones and (T,) openings."""
    sums, counts = np.zeros(NUM_PHONES), np.zeros(NUM_PHONES)
    for clip_phones, opening in zip(phones, openings, strict=False):
        length = min(len(clip_phones), len(opening))
        z, labels = _zscore(np.asarray(opening[:length], np.float64)), np.argmax(clip_phones[:length], 1)
        keep = np.isfinite(z)
        np.add.at(sums, labels[keep], z[keep])
        np.add.at(counts, labels[keep], 1)
    return sums / np.maximum(counts, 1)


def phone_table_opening(table: np.ndarray, phones: np.ndarray) -> np.ndarray:
    """(T,) predicted (z-scored) opening of a clip from its (T, NUM_PHONES) phones."""
    return table[np.argmax(phones, 1)]


def loudness_opening(wave: np.ndarray, num_frames: int, fps: float = VIDEO_FPS) -> np.ndarray:
    """(num_frames,) RMS of each frame's span of 16 kHz ``wave``, smoothed by a 5-frame moving average."""

    return np.convolve(frame_rms(wave, num_frames, SAMPLE_RATE, fps), np.ones(5) / 5, "same")
