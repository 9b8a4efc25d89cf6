"""Benchmark `talkhead preprocess` and its face tracking on the real clips in ../shared/data/raw.

    python benchmarks/preprocess.py            # everything (about 5 minutes on 2 cores)
    python benchmarks/preprocess.py --skip-full

Measures, on one core: detection + 68 landmarks (detect-then-track) frames/s on frames already
decoded, at 256 px (LIA obama.mov) and at 1080p (LatentSync demo1, 1080x1920); and decode + track
at 1080p the way preprocess runs it (decoded at most 640 px). Then the whole preprocess over the
folder (--faces) with 1 and 2 worker processes. Writes benchmarks/results/preprocess.json and the
"preprocess" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import shutil
import sys
import tempfile
from pathlib import Path

from common import REAL_DATA, machine, median_time, pin_to_one_core, update_results_section, write_json

CLIP_256 = REAL_DATA / "wyhsirius__LIA" / "data" / "vox" / "obama.mov"
CLIP_1080 = REAL_DATA / "bytedance__LatentSync" / "assets" / "demo1_video.mp4"


def tracking_speed(path: Path, frames: int, max_side: int | None, repeats: int) -> dict:
    """Frames/s of FaceTracker on frames held in memory (decoding excluded)."""
    from talkhead.io.video import VideoReader
    from talkhead.processing.faces import FaceTracker

    reader = VideoReader(path, max_side=max_side)
    images = list(itertools.islice(reader, frames))
    tracker = FaceTracker()
    found = []
    seconds, runs = median_time(lambda: found.append(tracker.track(images).found_rate), repeats)
    return {
        "clip": path.name,
        "frame_size": f"{images[0].shape[1]}x{images[0].shape[0]}",
        "frames": len(images),
        "fps_median": round(len(images) / seconds, 1),
        "fps_runs": [round(len(images) / t, 1) for t in runs],
        "face_found_rate": found[-1],
        "detector_calls": tracker.detections,
    }


def decode_and_track_speed(path: Path, max_side: int, repeats: int) -> dict:
    from talkhead.io.video import VideoReader
    from talkhead.processing.faces import FaceTracker

    tracker = FaceTracker()
    counts = []
    seconds, runs = median_time(
        lambda: counts.append(len(tracker.track(VideoReader(path, max_side=max_side)).found)), repeats
    )
    return {
        "clip": path.name,
        "decoded_at_max_side": max_side,
        "frames": counts[-1],
        "fps_median": round(counts[-1] / seconds, 1),
        "fps_runs": [round(counts[-1] / t, 1) for t in runs],
    }


def full_preprocess(num_proc: int) -> dict:
    from talkhead.data.build import PreprocessOptions, build_dataset

    out = Path(tempfile.mkdtemp(prefix="talkhead-bench-")) / "dataset"
    try:
        summary = build_dataset(
            [REAL_DATA], out, options=PreprocessOptions(faces=True), num_proc=num_proc, progress=False
        )
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    used = [r for r in summary.reports if not r.skipped]
    return {
        "num_proc": num_proc,
        "rows": summary.rows,
        "input_videos": len(summary.reports),
        "videos_used": len(used),
        "minutes": round(summary.minutes, 2),
        "frames": summary.frames,
        "face_found_rate": round(summary.face_found_rate, 4),
        "wall_seconds": round(summary.wall_seconds, 1),
        "dataset_mb": round(size / 1e6, 1),
        "skipped": summary.skipped(),
    }


def _in_subprocess(fn, *args):
    """Run ``fn`` in a fresh process so the one-core pinning does not leak into the full runs."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def _pinned(fn, *args):
    pin_to_one_core()
    return fn(*args)


def markdown(results: dict) -> str:
    lines = [
        "### Preprocessing (`talkhead preprocess`)",
        "",
        f"Measured {results['machine']['date']} on this machine ({results['machine']['cores']} cores) with "
        "`python benchmarks/preprocess.py`; medians of repeated runs. Data: ../shared/data/raw.",
        "",
        "Detection + 68 landmarks (detect-then-track, HOG re-detection every 5 frames), one core:",
        "",
        "| input | frames | frames/s (median) | runs |",
        "|---|---|---|---|",
    ]
    for key in ("track_256", "track_1080", "decode_track_1080"):
        row = results.get(key)
        if row:
            label = {
                "track_256": f"{row.get('frame_size')} frames in memory ({row['clip']})",
                "track_1080": f"{row.get('frame_size')} frames in memory ({row['clip']})",
                "decode_track_1080": f"decode 1080x1920 HEVC at max 640 px + track ({row['clip']})",
            }[key]
            lines.append(f"| {label} | {row['frames']} | {row['fps_median']} | {row['fps_runs']} |")
    full = [results[k] for k in ("full_1", "full_2") if k in results]
    if full:
        lines += [
            "",
            "Whole folder, `--faces`:",
            "",
            "| workers | rows | videos used | minutes | frames | face found | wall time | dataset size |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in full:
            lines.append(
                f"| {row['num_proc']} | {row['rows']} | {row['videos_used']} of {row['input_videos']} | "
                f"{row['minutes']} | {row['frames']:,} | {100 * row['face_found_rate']:.2f} % | "
                f"{row['wall_seconds']} s | {row['dataset_mb']} MB |"
            )
        skipped = full[-1]["skipped"]
        if skipped:
            lines += ["", "Skipped: " + "; ".join(f"`{Path(p).name}` ({r})" for p, r in skipped)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-full", action="store_true", help="only the tracking speeds")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if not REAL_DATA.is_dir():
        print(f"needs the real clips at {REAL_DATA}", file=sys.stderr)
        return 2
    results = {"machine": machine()}
    results["track_256"] = _in_subprocess(_pinned, tracking_speed, CLIP_256, 500, None, args.repeats)
    results["track_1080"] = _in_subprocess(_pinned, tracking_speed, CLIP_1080, 150, None, args.repeats)
    results["decode_track_1080"] = _in_subprocess(_pinned, decode_and_track_speed, CLIP_1080, 640, 3)
    if not args.skip_full:
        results["full_1"] = full_preprocess(1)
        results["full_2"] = full_preprocess(2)
    print(write_json("preprocess", results))
    text = markdown(results)
    update_results_section("preprocess", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
