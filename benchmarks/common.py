"""Helpers shared by the benchmark scripts: timing, machine description, and RESULTS.md sections."""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_MD = BENCH_DIR / "RESULTS.md"
REAL_DATA = BENCH_DIR.parents[1] / "shared" / "data" / "raw"


def pin_to_one_core() -> None:
    """Measure single-core speed: one CPU for this process, one thread for OpenCV and torch."""
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    import cv2

    cv2.setNumThreads(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def median_time(fn, repeats: int = 5) -> tuple[float, list[float]]:
    """Median wall time of ``fn()`` over ``repeats`` runs (the machine is shared and noisy)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def machine() -> dict:
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }


def write_json(name: str, data: dict) -> Path:
    path = BENCH_DIR / "results" / f"{name}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def update_results_section(name: str, markdown: str) -> None:
    """Replace the section between ``<!-- name:begin -->`` and ``<!-- name:end -->`` in RESULTS.md."""
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else "# Benchmark results\n"
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    if begin in text:
        text = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS_MD.write_text(text)
