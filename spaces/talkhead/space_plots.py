"""The Space's plots: the result's mouth opening against the speech, and the sync score of every offset tried."""

from __future__ import annotations

import numpy as np

from talkhead.io import audio as audio_io
from talkhead.processing import audio as audio_lib
from talkhead.processing.landmarks import mouth_opening


def audio_envelope(wave: np.ndarray, frames: int, fps: float) -> np.ndarray:
    """RMS of the 16 kHz ``wave`` over each of ``frames`` video frames."""
    return audio_lib.frame_rms(wave, frames, audio_io.SAMPLE_RATE, fps)


def mouth_plot(landmarks: np.ndarray, wave: np.ndarray, fps: float):
    """Mouth opening of the result over time against the audio envelope: lips should follow speech."""
    from matplotlib.figure import Figure

    opening = mouth_opening(landmarks)
    envelope = audio_envelope(wave, len(opening), fps)
    times = np.arange(len(opening)) / fps
    figure = Figure(figsize=(8, 2.8), dpi=100, layout="tight")
    axis = figure.add_subplot()
    loudness = axis.twinx()
    loudness.fill_between(times, envelope, color="C1", alpha=0.3, label="audio envelope (RMS)")
    loudness.set(ylabel="audio RMS", ylim=(0, 1.1 * max(envelope.max(), 1e-6)))
    axis.plot(times, opening, color="C0", label="mouth opening")
    axis.set(
        xlabel="time (s)",
        ylabel="inner-lip gap / mouth width",
        ylim=(0, 1.1 * max(opening.max(), 0.1)),
        title="Lips against speech",
    )
    axis.set_zorder(loudness.get_zorder() + 1)
    axis.patch.set_visible(False)
    handles = axis.get_legend_handles_labels()[0] + loudness.get_legend_handles_labels()[0]
    axis.legend(handles=handles, loc="upper right", fontsize=8)
    axis.grid(alpha=0.3)
    return figure


def offset_plot(score: dict):
    """The mouth-sync score of every audio offset tried: one clear peak near 0 is a mouth in sync."""
    from matplotlib.figure import Figure

    offsets = np.arange(-score["max_lag"], score["max_lag"] + 1)
    figure = Figure(figsize=(8, 2.8), dpi=100, layout="tight")
    axis = figure.add_subplot()
    axis.plot(offsets, score["scores"], color="C2", marker="o", markersize=3)
    axis.axvline(score["offset"], color="gray", linestyle="--", linewidth=1, label=f"best: {score['offset']:+d}")
    axis.set(
        xlabel="offset (frames; < 0: the mouth moves before its sound)",
        ylabel="mean cosine",
        title=f"Sync score per offset (offset {score['offset']:+d}, confidence {score['confidence']:.3f})",
    )
    axis.legend(loc="upper right", fontsize=8)
    axis.grid(alpha=0.3)
    return figure
