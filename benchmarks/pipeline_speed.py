"""Speed and memory of the two video pipelines on this CPU, against their targets.

    python benchmarks/pipeline_speed.py [--seconds 10 300]

Runs ``talkhead benchmark speed`` (src/talkhead/benchmarks/speed.py: each task and input length in a
fresh process, generated inputs) and writes benchmarks/results/pipeline_speed.json and the
"pipeline_speed" section of RESULTS.md. Targets: lip-sync and talking head at least 25 frames/s end
to end; peak memory flat from the short to the long input (streaming).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from common import machine, update_results_section, write_json

TARGET_FPS = 25


def render(report: dict, lengths: list[float]) -> str:
    from talkhead.benchmarks.speed import speed_table

    verdicts = []
    for task in ("lip-sync", "talking-head"):
        rows = [r for r in report["rows"] if r["task"] == task]
        slowest = min(r["frames_per_second"] for r in rows)
        short, long = rows[0], rows[-1]
        growth = long["peak_memory_mib"] - short["peak_memory_mib"]
        per_second = growth * 1024 / max(long["input_seconds"] - short["input_seconds"], 1e-9)
        verdicts.append(
            f"{task}: slowest {slowest:.1f} frames/s end to end, target {TARGET_FPS}: "
            f"{'met' if slowest >= TARGET_FPS else 'missed'}; peak memory {short['peak_memory_mib']:,.0f} MiB at "
            f"{short['input_seconds']:g} s and {long['peak_memory_mib']:,.0f} MiB at {long['input_seconds']:g} s "
            f"(+{per_second:.0f} KiB per second of input)."
        )
    text = " ".join(f"{s:g}" for s in lengths)
    return "\n".join(
        [
            "### Pipeline speed and memory",
            "",
            f"Measured {report['machine']['date']} with `python benchmarks/pipeline_speed.py --seconds {text}` (the "
            "same "
            f"as `talkhead benchmark speed --seconds {text} --json OUT`) on this {report['machine']['cpus']}-core CPU, "
            "shipped checkpoints, default options. Inputs: scikit-image's astronaut photo (512x512), the espeak-ng "
            "example "
            f"speech looped to length, and for lip-sync {report['video']} at 25 fps. Each run is a fresh process; "
            "stage "
            'columns are frames/s of that stage alone, "end to end" is frames over the wall time of the pipeline call '
            "(after the start-up column: imports, numba, dlib and model loading, paid once per process), real-time "
            "factor "
            "is wall time over output duration, peak memory is the process's maximum resident set.",
            "",
            speed_table(report),
            "",
            *[f"- {v}" for v in verdicts],
            "- Frames stream (lip-sync holds one batch of 16, the talking head one frame) and so does the output's "
            "sound "
            "(decoded and resampled as it is written); spectra are computed in blocks. What still grows with the "
            "input: "
            "the 16 kHz copy of the speech the models read (64 KB a second), its features and phones, the per-frame "
            "face "
            "track or landmarks, and lip-sync's mouth targets; its pool of lower-face patches is capped (750).",
            "- Lip-sync here is the default: the mouth-motion model (phone decoding included in the wall "
            'time) and the retrieval renderer (its pool pass is a third decoding of the video); the "generator" column '
            "is empty because no face generator runs.",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, nargs="+", default=[10.0, 300.0])
    parser.add_argument("--from-json", help="re-render RESULTS.md from a saved report instead of measuring")
    args = parser.parse_args()

    if args.from_json:
        report = json.loads(Path(args.from_json).read_text())
    else:
        from talkhead.benchmarks.speed import benchmark_speed

        report = benchmark_speed(tuple(args.seconds))
        report["machine"] = {**report["machine"], **machine()}
        write_json("pipeline_speed", report)
    lengths = sorted({row["input_seconds"] for row in report["rows"]})
    text = render(report, lengths)
    update_results_section("pipeline_speed", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
