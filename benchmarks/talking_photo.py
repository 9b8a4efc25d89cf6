#!/usr/bin/env python
"""A photo that talks, measured and drawn.

    python benchmarks/talking_photo.py --data DATASET [--max-seconds 10] [--sheet benchmarks/results/talking_photo.png]

Runs ``talkhead benchmark talking-head`` (:mod:`talkhead.benchmarks.talking_head`: `talkhead talking-head` from each
test clip's first frame with its own speech, rows ``warp`` and ``mouth-interior``), writes
benchmarks/results/talking_photo.json and the "talking_photo" section of RESULTS.md, and draws a contact sheet: the
README's astronaut with the README's speech in both settings, and with her mouth closed first (a closed photo: the
mouth-interior generator fills it) (and with ``--with-clip-rows``, for looking only, never for committing: the first
held-out clip whose first frame has the lips apart, real and generated); 8 frames each, cut around the mouth and eyes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import machine, update_results_section, write_json

ROOT = Path(__file__).resolve().parents[1]
COLUMNS, SIDE = 8, 150


def face_strip(frames: list[np.ndarray], box: np.ndarray, picks: np.ndarray) -> np.ndarray:
    import cv2

    x0, y0, x1, y1 = box.astype(int)
    crops = []
    for index in picks:
        frame = frames[min(index, len(frames) - 1)]
        crop = frame[max(y0, 0) : y1, max(x0, 0) : x1]
        crops.append(cv2.resize(crop, (SIDE, SIDE), interpolation=cv2.INTER_AREA))
    return np.concatenate(crops, 1)


def lower_face_box(points: np.ndarray) -> np.ndarray:
    """A square from the eyes to below the chin."""
    centre = (points[36:48].mean(0) + points[8]) / 2
    half = 0.62 * (points[8, 1] - points[36:48, 1].mean()) + 4
    return np.r_[centre - half, centre + half]


def clip_rows(report: dict, outputs: Path, rows: list, labels: list) -> None:
    """The first open-photo clip of the report: its real frames, then the warp and default rows."""
    from talkhead.benchmarks.split_clips import split_clips
    from talkhead.io.video import VideoReader
    from talkhead.processing.tracked_clip import track_clip

    clip_id = (report["open_photos"] or report["clips"])[0]
    clip = next(c for c in split_clips(report["data"], report["split"]) if c.clip_id == clip_id)
    real = track_clip(clip.video, keep_frames=True)
    count = min(real.num_frames, int(report["max_seconds"] * 25))
    opening = real.mouth_opening()[:count]
    picks = np.sort(
        np.r_[0, np.argsort(np.nan_to_num(opening))[-(COLUMNS - 3) :], np.linspace(1, count - 1, 2).astype(int)]
    )[:COLUMNS]
    box = lower_face_box(real.track_landmarks[0])
    rows.append(face_strip(list(real.frames[:count]), box, picks))
    labels.append(f"real ({clip_id})")
    for row in ("warp", "mouth-interior"):
        video = outputs / f"{clip_id.replace('/', '_')}-{row}.mp4"
        rows.append(face_strip(list(VideoReader(video, max_side=max(real.frames.shape[1:3]))), box, picks))
        labels.append(row)


def contact_sheet(report: dict, outputs: Path, path: Path, with_clip_rows: bool = False) -> Path:
    import cv2

    from talkhead.io.video import VideoReader
    from talkhead.pipelines.talking_head.blinks import blink_schedule
    from talkhead.processing.faces import FaceTracker

    rows, labels = [], []
    if with_clip_rows:
        clip_rows(report, outputs, rows, labels)
    for row, photo, flags in (
        ("warp", "astronaut.png", ["--mouth-interior-model", "none", "--no-blinks", "--keep-open-mouth"]),
        ("defaults", "astronaut.png", []),
        ("defaults, her mouth closed first: the generator's teeth", "astronaut-closed.png", []),
    ):
        from talkhead.cli import main as talkhead

        video = outputs / f"astronaut-{row.split(',')[0]}-{photo}.mp4"
        talkhead(
            [
                "talking-head",
                "--image",
                str(outputs / photo),
                "--audio",
                str(ROOT / "examples" / "assets" / "speech.wav"),
                "-o",
                str(video),
                "--quiet",
                *flags,
            ]
        )
        frames = list(VideoReader(video))
        points = FaceTracker().update(frames[0])
        shut = np.flatnonzero(blink_schedule(len(frames), 25.0) >= 0.99)[:2]  # where the defaults blink: show them
        spread = np.linspace(0, len(frames) - 1, COLUMNS - len(shut)).round().astype(int)
        picks_astronaut = np.sort(np.r_[spread, shut])
        rows.append(face_strip(frames, lower_face_box(points), picks_astronaut))
        labels.append(f"astronaut, {row}")
    sheet = np.concatenate(rows, 0)
    for number, label in enumerate(labels):
        cv2.putText(
            sheet, label, (4, number * SIDE + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 0), 1, cv2.LINE_AA
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--mouth-interior-model", default=None)
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--sheet", default=str(ROOT / "benchmarks" / "results" / "talking_photo.png"))
    parser.add_argument("--no-results", action="store_true", help="do not write the JSON and RESULTS.md")
    parser.add_argument(
        "--with-clip-rows",
        action="store_true",
        help="also draw a held-out clip (real and generated); never commit that sheet: it shows clips",
    )
    args = parser.parse_args()

    import cv2
    from skimage.data import astronaut

    from talkhead.benchmarks.talking_head import benchmark_talking_head, talking_head_table
    from talkhead.pipelines.talking_head.photo_motion import close_photo_mouth
    from talkhead.pipelines.talking_head.speech_to_landmarks import face_landmarks

    with tempfile.TemporaryDirectory() as folder:
        outputs = Path(folder)
        cv2.imwrite(str(outputs / "astronaut.png"), cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR))
        closed = close_photo_mouth(astronaut(), face_landmarks(astronaut())[0])[0]  # a closed photo: the generator
        cv2.imwrite(str(outputs / "astronaut-closed.png"), cv2.cvtColor(closed, cv2.COLOR_RGB2BGR))
        report = benchmark_talking_head(
            args.data,
            args.split,
            args.mouth_interior_model,
            limit=args.limit,
            max_seconds=args.max_seconds,
            keep_outputs=outputs,
        )
        report["machine"] = machine()
        table = talking_head_table(report)
        print(table)
        if args.sheet:
            print("sheet:", contact_sheet(report, outputs, Path(args.sheet), args.with_clip_rows))
    if not args.no_results:
        write_json("talking_photo", report)
        command = f"python benchmarks/talking_photo.py --data DATASET --max-seconds {args.max_seconds:g}"
        update_results_section(
            "talking_photo",
            f"### A photo that talks\n\n`{command}` on the {len(report['clips'])} clips of split "
            f"`{args.split}` ({len(report['open_photos'])} with the lips apart in the first frame), first "
            f"{args.max_seconds:g} s of each; medians over clips, per-clip range in brackets. "
            f"{report['machine']['date']}."
            f"\n\n{table}\n",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
