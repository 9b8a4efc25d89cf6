#!/usr/bin/env python
"""A live avatar, drawn: the frames where the phones need a lip shape, offline lip-sync above the live stream.

    python benchmarks/live_sheet.py [--out benchmarks/results/live.png] [--data DS --clip N]

The avatar is the README's talking astronaut (``talkhead talking-head`` of the astronaut with the README's speech),
prepared with ``talkhead avatar`` and driven by the same speech pushed in 20 ms chunks; above it, ``talkhead lip-sync``
of that video with that speech. Columns as in ``articulation_sheet.py`` (p/b/m, f/v, rounded and open vowels at the
middle of their phones). With ``--data`` and ``--clip`` (for looking only, never for committing: the frames are of a
real clip), a held-out clip too: its real frames (filmed offset undone), its offline lip-sync and its live stream,
both with its own speech and no mouth from within 10 frames of the speech's own.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from articulation_sheet import SPEECH, _talk, draw, phone_columns, real_clip_row, strip  # noqa: E402
from talking_photo import lower_face_box  # noqa: E402

CHUNK = 320  # 20 ms


def streamed(video, wave: np.ndarray, exclude_within: int = 0) -> list[np.ndarray]:
    """The frames a live avatar of ``video`` makes from ``wave`` pushed in 20 ms chunks."""
    from talkhead.pipelines.live import LipSyncAvatar

    stream = LipSyncAvatar.from_video(video).stream(exclude_within=exclude_within, realtime=False)
    frames = [frame for start in range(0, len(wave), CHUNK) for frame, _ in stream.push(wave[start : start + CHUNK])]
    return frames + [frame for frame, _ in stream.end()]


def astronaut_rows(folder: Path, rows: list, labels: list):
    import cv2
    from skimage import data

    from talkhead.cli import main as talkhead
    from talkhead.io.audio import load_audio
    from talkhead.io.video import VideoReader
    from talkhead.processing.faces import FaceTracker
    from talkhead.processing.phones import decode_phones

    photo = folder / "astronaut.png"
    cv2.imwrite(str(photo), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    talking = _talk(photo, SPEECH, folder, "talking", [])
    wave = load_audio(SPEECH)
    dubbed = folder / "dubbed.mp4"
    talkhead(["lip-sync", "--video", str(folder / "talking.mp4"), "--audio", str(SPEECH), "-o", str(dubbed), "--quiet"])
    columns = phone_columns(decode_phones(wave, "words", "en"), len(talking))
    box = lower_face_box(FaceTracker().update(talking[0]))
    rows.append(strip(list(VideoReader(dubbed)), box, columns))
    labels.append("astronaut, talkhead lip-sync")
    rows.append(strip(streamed(folder / "talking.mp4", wave), box, columns))
    labels.append("astronaut, talkhead live")
    return columns


def clip_rows(data: str, index: int, folder: Path, rows: list, labels: list):
    from talkhead.benchmarks.lip_follow import OWN_EXCLUDE_FRAMES, pipeline_runners
    from talkhead.io.video import VideoReader

    clip, real, box, columns = real_clip_row(data, index, rows, labels)
    lip_syncer, _ = pipeline_runners("mouth-motion", "ms-sync-short")
    own = folder / "own.mp4"
    lip_syncer(clip.video, clip.audio, own, exclude_within=OWN_EXCLUDE_FRAMES)
    rows.append(strip(list(VideoReader(own, max_side=max(real.tracked.frames.shape[1:3]))), box, columns))
    labels.append("talkhead lip-sync")
    rows.append(strip(streamed(clip.video, real.wave, OWN_EXCLUDE_FRAMES), box, columns))
    labels.append("talkhead live")
    return columns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "live.png")
    parser.add_argument("--data", help="a `talkhead preprocess` folder, for the held-out clip rows")
    parser.add_argument("--clip", type=int, help="which test clip (its index in the split)")
    args = parser.parse_args()
    rows, labels, blocks = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        columns = astronaut_rows(Path(folder), rows, labels)
        blocks += [(0, columns), (1, columns)]
        if args.data and args.clip is not None:
            start = len(rows)
            columns = clip_rows(args.data, args.clip, Path(folder), rows, labels)
            blocks += [(start + i, columns) for i in range(3)]
    draw(rows, labels, blocks, args.out)
    print(args.out)


if __name__ == "__main__":
    main()
