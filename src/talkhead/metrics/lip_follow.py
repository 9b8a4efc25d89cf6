"""Lip-follow: does a mouth open and close with the speech? A model-free referee.

The measure every model and the no-learning baselines (:mod:`talkhead.metrics.baselines`) are read by: mouth opening per
frame (mean inner-lip gap over the inter-ocular distance, :func:`talkhead.processing.mouth.inner_lip_opening`), each
sequence smoothed by a centred 3-frame moving average, then the Pearson correlation of two sequences over their common
length, with **no lag search** (sync has to be exact to score). It needs no learned model, so it checks the learned sync
scores rather than depending on them. ``talkhead evaluate video --speaker-video`` reads it off two tracked videos
(:func:`talkhead.evaluation.evaluate.lip_follow_videos`); ``talkhead benchmark lip-follow`` is
:mod:`talkhead.benchmarks.lip_follow`.
"""

from __future__ import annotations

import numpy as np

SMOOTHING_FRAMES = 3


def smooth_opening(opening: np.ndarray, width: int = SMOOTHING_FRAMES) -> np.ndarray:
    """Centred moving average of a 1-D sequence; the ends average the frames that exist."""
    opening = np.asarray(opening, np.float64)
    if width <= 1 or len(opening) < 2:
        return opening.copy()
    kernel, half = np.ones(width), width // 2
    sums = np.convolve(opening, kernel, "full")[half : half + len(opening)]  # "same" pads short inputs to the kernel
    return sums / np.convolve(np.ones(len(opening)), kernel, "full")[half : half + len(opening)]


def lip_follow(opening: np.ndarray, reference: np.ndarray) -> float:
    """Pearson correlation of two mouth-opening sequences (smoothed) over their common length.

    NaN frames (no face) are left out of both. Returns NaN when fewer than 3 frames remain or either
    sequence is constant.
    """
    length = min(len(opening), len(reference))
    a, b = smooth_opening(np.asarray(opening)[:length]), smooth_opening(np.asarray(reference)[:length])
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def std_ratio(opening: np.ndarray, reference: np.ndarray) -> float:
    """How much ``opening`` varies against ``reference`` (std over std of the smoothed sequences, common length)."""
    length = min(len(opening), len(reference))
    a, b = smooth_opening(np.asarray(opening)[:length]), smooth_opening(np.asarray(reference)[:length])
    keep = np.isfinite(a) & np.isfinite(b)
    return float(a[keep].std() / b[keep].std()) if keep.sum() > 2 and b[keep].std() > 0 else float("nan")
