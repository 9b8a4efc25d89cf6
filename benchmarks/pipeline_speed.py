"""Speed and memory of the two video pipelines on this CPU (issue #6's targets).

    python benchmarks/pipeline_speed.py [--seconds 10 300]

Runs ``talkhead benchmark speed`` (src/talkhead/pipelines/speed.py: each task and input length in a
fresh process, generated inputs) and writes benchmarks/results/pipeline_speed.json and the
"pipeline_speed" section of RESULTS.md. Targets: lip-sync and talking head at least 25 frames/s end
to end; peak memory flat from the short to the long input (streaming).
"""

from __future__ import annotations

import argparse
import sys

from common import machine, update_results_section, write_json

TARGET_FPS = 25


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, nargs="+", default=[10.0, 300.0])
    args = parser.parse_args()

    from talkhead.pipelines.speed import benchmark_speed, speed_table

    report = benchmark_speed(tuple(args.seconds))
    report["machine"] = {**report["machine"], **machine()}
    write_json("pipeline_speed", report)
    verdicts = []
    for task in ("lip-sync", "talking-head"):
        rows = [r for r in report["rows"] if r["task"] == task]
        slowest = min(r["frames_per_second"] for r in rows)
        memory = [r["peak_memory_mib"] for r in rows]
        verdicts.append(f"{task}: slowest {slowest:.1f} frames/s end to end, target {TARGET_FPS}: "
                        f"{'met' if slowest >= TARGET_FPS else 'missed'}; peak memory {memory[0]:,.0f} MiB at "
                        f"{rows[0]['input_seconds']:g} s and {memory[-1]:,.0f} MiB at {rows[-1]['input_seconds']:g} s.")
    lengths = " ".join(f"{s:g}" for s in args.seconds)
    text = "\n".join([
        "## Pipeline speed and memory (issue #6)",
        "",
        f"Measured {report['machine']['date']} with `python benchmarks/pipeline_speed.py --seconds {lengths}` (the same as "
        f"`talkhead benchmark speed --seconds {lengths} --json OUT`) on this {report['machine']['cpus']}-core CPU, shipped "
        "checkpoints, default options. Inputs: scikit-image's astronaut photo (512x512), the espeak-ng example speech "
        f"looped to length, and for lip-sync {report['video']} at 25 fps. Each run is a fresh process; stage columns "
        "are frames/s of that stage alone, \"end to end\" is frames over the wall time of the pipeline call (models "
        "loaded before), real-time factor is wall time over output duration, peak memory is the process's maximum "
        "resident set.",
        "",
        speed_table(report),
        "",
        *[f"- {v}" for v in verdicts],
    ])
    update_results_section("pipeline_speed", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
