"""The reports of ``talkhead evaluate``: the JSON file, the printed table and the confidence-over-time plot.

All read the report dict that :func:`talkhead.evaluation.evaluate.evaluate_video` returns (the same as its JSON).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..io import outputs
from ..io.outputs import atomic_output
from .verdict import Verdict


def write_json(data: dict, path: str | os.PathLike) -> Path:
    """Write atomically: a temporary file beside ``path``, then a rename (:func:`talkhead.io.outputs.write_json`)."""
    return outputs.write_json(data, path, default=float)


def _format_values(values: dict) -> str:
    parts = []
    for key, value in values.items():
        if key == "frames":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            parts.append(f"{key} {value}")
        elif isinstance(value, int):
            parts.append(f"{key} {value:+d}" if "offset" in key else f"{key} {value}")
        elif float(value).is_integer() and ("off" in key):  # |AV-Off| steps, stored as floats
            parts.append(f"{key} {value:g}")
        else:
            parts.append(f"{key} {value:.3f}")
    return ", ".join(parts)


def format_table(report: dict) -> str:
    """A short human-readable summary of an :func:`evaluate_video` report, its verdict first."""
    audio = report["audio"] or "none"
    lines = [f"verdict: {Verdict(**report['verdict']).line()}"] if report.get("verdict") else []
    lines += [
        f"{Path(report['video']).name}: {report['frames']} frames ({report['seconds']} s at {report['fps']} fps"
        + (f", source {report['source_fps']:g} fps" if report.get("source_fps") else "")
        + f"), face found in {100 * report['face_found_rate']:.1f} % of frames; audio: {audio}"
        + (f"; reference: {report['reference']}" if report.get("reference") else "")
    ]
    width = max([len(name) for name in report["metrics"]] + [6])
    lines.append(f"  {'metric':<{width}}  {'status':<11}  values / reason")
    for name, entry in report["metrics"].items():
        detail = _format_values(entry["values"]) if entry["status"] == "computed" else entry["reason"]
        lines.append(f"  {name:<{width}}  {entry['status']:<11}  {detail}")
    return "\n".join(lines)


def plot_confidence(report: dict, path: str | os.PathLike) -> Path:
    """Per-window confidence over time (s) of every sync metric that has one, above the audio envelope.

    One PNG, written atomically (a temporary file beside ``path``, then a rename).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = [(name, entry["curve"]) for name, entry in report["metrics"].items() if "curve" in entry]
    envelope = report.get("audio_envelope")
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 5), dpi=110, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    for index, (_name, curve) in enumerate(curves):
        values = np.array([np.nan if v is None else v for v in curve["values"]], np.float64)
        top.plot(curve["seconds"], values, color=f"C{index}", linewidth=1.2, label=curve["label"])
    if curves:
        top.legend(fontsize=8, loc="best")
        top.axhline(0, color="0.6", linewidth=0.8)
    else:
        top.text(
            0.5,
            0.5,
            "no per-window confidence: no sync metric was computed",
            ha="center",
            va="center",
            transform=top.transAxes,
            fontsize=9,
        )
    top.set_ylabel("confidence")
    top.grid(alpha=0.3)
    top.set_title(
        f"{Path(report['video']).name}: per-window sync confidence (windows centred on their frames)", fontsize=9
    )
    if envelope:
        seconds = (np.arange(len(envelope)) + 0.5) / report["fps"]
        bottom.fill_between(seconds, 0, envelope, color="0.55", linewidth=0)
    else:
        bottom.text(0.5, 0.5, "no audio", ha="center", va="center", transform=bottom.transAxes, fontsize=9)
    bottom.set_ylabel("audio RMS")
    bottom.set_xlabel("time (s)")
    bottom.set_xlim(0, max(report["seconds"], 1 / report["fps"]))
    bottom.grid(alpha=0.3)
    figure.tight_layout()
    try:
        with atomic_output(path) as temporary:
            figure.savefig(temporary, format="png")
    finally:
        plt.close(figure)
    return Path(path)
