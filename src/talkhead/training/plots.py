"""Training plots saved as PNG beside the checkpoints (no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(values) < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(np.pad(values, (window // 2, window - 1 - window // 2), mode="edge"), kernel, mode="valid")


def plot_curves(
    path: str | Path,
    series: dict[str, list[tuple[int, float]]],
    title: str,
    ylabel: str,
    smooth: int = 1,
    chance: float | None = None,
    logy: bool = False,
) -> Path:
    """One line per series of (step, value) points; ``smooth`` > 1 draws a moving average over the raw points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axis = plt.subplots(figsize=(7, 4), dpi=110)
    for index, (name, points) in enumerate(series.items()):
        if not points:
            continue
        steps, values = np.array(points, dtype=float).T
        color = f"C{index}"
        if smooth > 1 and len(values) > smooth:
            axis.plot(steps, values, color=color, alpha=0.25, linewidth=0.8)
            axis.plot(steps, _smooth(values, smooth), color=color, label=name, linewidth=1.6)
        else:
            axis.plot(steps, values, color=color, label=name, marker="o" if len(values) < 30 else None, markersize=3)
    if chance is not None:
        axis.axhline(chance, color="gray", linestyle="--", linewidth=1, label="chance")
    if logy:
        axis.set_yscale("log")
    axis.set_title(title)
    axis.set_xlabel("step")
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
