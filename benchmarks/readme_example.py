#!/usr/bin/env python
"""The README's own example, run and drawn: `talkhead talking-head` on the astronaut, then `talkhead lip-sync` on it.

    python benchmarks/readme_example.py --out benchmarks/results/readme_example.png

Writes a contact sheet: the mouth region of 10 frames spread over the clip, the generated talking head on
top and the dubbed video below, so a reader sees what the two commands make before running them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SPEECH = ROOT / "examples" / "assets" / "speech.wav"
COLUMNS, SIDE = 10, 128


def mouth_strip(video: Path, columns: int = COLUMNS, side: int = SIDE) -> np.ndarray:
    """(side, columns * side, 3): the mouth of ``columns`` frames spread over ``video``, boxed on the first
    frame's face."""
    import cv2

    from talkhead.io.video import VideoReader
    from talkhead.processing.faces import FaceTracker

    frames = list(VideoReader(video))
    points = FaceTracker().update(frames[0])
    center, half = points[48:68].mean(0), int(np.ptp(points[:, 0]) * 0.45)
    x0, y0 = int(center[0] - half), int(center[1] - half)
    picks = np.linspace(0, len(frames) - 1, columns).round().astype(int)
    return np.concatenate(
        [
            cv2.resize(
                frames[i][max(y0, 0) : y0 + 2 * half, max(x0, 0) : x0 + 2 * half],
                (side, side),
                interpolation=cv2.INTER_AREA,
            )
            for i in picks
        ],
        1,
    )


def main() -> None:
    import cv2
    from skimage import data, io

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "readme_example.png")
    args = parser.parse_args()
    talkhead = [sys.executable, "-m", "talkhead.cli"]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        io.imsave(folder / "astronaut.png", data.astronaut(), check_contrast=False)
        subprocess.run(
            [
                *talkhead,
                "talking-head",
                "--image",
                str(folder / "astronaut.png"),
                "--audio",
                str(SPEECH),
                "-o",
                str(folder / "talking.mp4"),
                "--quiet",
            ],
            check=True,
        )
        subprocess.run(
            [
                *talkhead,
                "lip-sync",
                "--video",
                str(folder / "talking.mp4"),
                "--audio",
                str(SPEECH),
                "-o",
                str(folder / "dubbed.mp4"),
                "--quiet",
            ],
            check=True,
        )
        sheet = np.concatenate([mouth_strip(folder / "talking.mp4"), mouth_strip(folder / "dubbed.mp4")], 0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
