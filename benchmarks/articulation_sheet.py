#!/usr/bin/env python
"""Articulation, drawn: the frames where the phones need a lip shape, with and without the viseme stage.

    python benchmarks/articulation_sheet.py [--out benchmarks/results/articulation.png] [--data DS --clip N]

Columns are the video frames at the middle of phones of the speech (word aligner): bilabials (P, B, M: shut),
labiodentals (F, V: lower lip at the teeth), rounded vowels (OW, UW, UH, W) and open vowels, each labelled with its
phone. Rows: the README's astronaut made to talk by ``talkhead talking-head`` with the README's speech, with
``--no-visemes`` and with the defaults. With ``--data`` and ``--clip`` (for looking only, never for committing: the
frames are of a real clip), a held-out clip too: its real frames (its filmed audio-video offset undone), its own
speech dubbed by ``talkhead lip-sync`` (no source frame within 10 frames lends its mouth) and its first frame made to
talk, each with and without the viseme stage.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from talking_photo import lower_face_box  # noqa: E402

SPEECH = ROOT.parent / "examples" / "assets" / "speech.wav"
SIDE = 120
WANTED = (("P", "B", "M"), ("F", "V"), ("OW", "UW", "UH", "W"), ("AA", "AE", "AO", "AW", "AY"))
PER_CLASS = (4, 2, 2, 3)


def phone_columns(segments, num_frames: int, offset: int = 0) -> list[tuple[int, str]]:
    """(frame, phone) at the middle of the first phones of each class in :data:`WANTED`, inside the clip."""
    columns = []
    for phones, count in zip(WANTED, PER_CLASS, strict=True):
        found = [s for s in segments if s.phone in phones and s.end - s.start >= 0.04]
        for segment in found[:count]:
            frame = int((segment.start + segment.end) / 2 * 25) - offset
            if 0 <= frame < num_frames:
                columns.append((frame, segment.phone))
    return sorted(columns)


def strip(frames, box: np.ndarray, columns) -> np.ndarray:
    import cv2

    x0, y0, x1, y1 = box.astype(int)
    crops = [
        cv2.resize(frames[min(i, len(frames) - 1)][max(y0, 0) : y1, max(x0, 0) : x1], (SIDE, SIDE)) for i, _ in columns
    ]
    return np.concatenate(crops, 1)


def _talk(image, audio, folder: Path, name: str, flags: list[str]) -> list[np.ndarray]:
    from talkhead.cli import main as talkhead
    from talkhead.io.video import VideoReader

    video = folder / f"{name}.mp4"
    talkhead(["talking-head", "--image", str(image), "--audio", str(audio), "-o", str(video), "--quiet", *flags])
    return list(VideoReader(video))


def astronaut_rows(folder: Path, rows: list, labels: list):
    import cv2
    from skimage import data

    from talkhead.io.audio import load_audio
    from talkhead.processing.faces import FaceTracker
    from talkhead.processing.phones import decode_phones

    photo = folder / "astronaut.png"
    cv2.imwrite(str(photo), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    segments = decode_phones(load_audio(SPEECH), "words", "en")
    columns = None
    for label, flags in (("astronaut, --no-visemes", ["--no-visemes"]), ("astronaut, defaults", [])):
        frames = _talk(photo, SPEECH, folder, label.split(", ")[1], flags)
        columns = columns or phone_columns(segments, len(frames))
        rows.append(strip(frames, lower_face_box(FaceTracker().update(frames[0])), columns))
        labels.append(label)
    return columns


def real_clip_row(data: str, index: int, rows: list, labels: list):
    """The real frames of test clip ``index`` at its phones (its filmed offset undone) as a row; returns the clip, its
    :class:`~talkhead.benchmarks.articulation.RealClip`, the lower-face box and the generated clips' columns."""
    from talkhead.benchmarks.articulation import load_offset_expert, prepare_real_clip
    from talkhead.benchmarks.split_clips import split_clips
    from talkhead.io.audio import load_audio
    from talkhead.processing.tracked_clip import track_clip

    clip = split_clips(data, "test")[index]
    real = prepare_real_clip(
        clip.clip_id, track_clip(clip.video, keep_frames=True), load_audio(clip.audio), load_offset_expert()
    )
    box = lower_face_box(real.tracked.track_landmarks[0])
    generated_columns = phone_columns(real.segments, real.tracked.num_frames)
    real_columns = [(frame - real.undone_offset, phone) for frame, phone in generated_columns]
    rows.append(strip(real.tracked.frames, box, real_columns))
    labels.append(f"real {clip.clip_id} (offset {real.offset:+d} undone)")
    return clip, real, box, generated_columns


def clip_rows(data: str, index: int, folder: Path, rows: list, labels: list):
    from talkhead.benchmarks.lip_follow import OWN_EXCLUDE_FRAMES, pipeline_runners
    from talkhead.io.video import VideoReader

    clip, real, box, generated_columns = real_clip_row(data, index, rows, labels)
    first = np.ascontiguousarray(real.tracked.frames[0])
    for visemes in (False, True):
        lip_syncer, talker = pipeline_runners("mouth-motion", "ms-sync-short", visemes)
        own, photo = folder / f"own-{visemes}.mp4", folder / f"photo-{visemes}.mp4"
        lip_syncer(clip.video, clip.audio, own, exclude_within=OWN_EXCLUDE_FRAMES)
        talker(first, clip.audio, photo)
        side = max(real.tracked.frames.shape[1:3])
        for name, video in (("lip-sync", own), ("photo", photo)):
            frames = list(VideoReader(video, max_side=side))
            rows.append(strip(frames, box, generated_columns))
            labels.append(f"{name}, {'defaults' if visemes else '--no-visemes'}")
    return generated_columns


def draw(rows: list, labels: list, columns_per_block: list, path: Path) -> None:
    import cv2

    width = max(row.shape[1] for row in rows)
    padded = [np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0))) for row in rows]
    sheet = np.concatenate(padded, 0)
    for number, label in enumerate(labels):
        cv2.putText(sheet, label, (4, number * SIDE + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1, cv2.LINE_AA)
    for start, columns in columns_per_block:
        for column, (_, phone) in enumerate(columns):
            cv2.putText(
                sheet,
                phone,
                (column * SIDE + 4, start * SIDE + SIDE - 6),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.5,
                (0, 255, 255),
                1,
                cv2.LINE_AA,
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "articulation.png")
    parser.add_argument("--data", help="a `talkhead preprocess` folder, for the held-out clip rows")
    parser.add_argument("--clip", type=int, help="which test clip (its index in the split)")
    args = parser.parse_args()
    rows, labels, blocks = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        blocks.append((0, astronaut_rows(Path(folder), rows, labels)))
        if args.data and args.clip is not None:
            start = len(rows)
            columns = clip_rows(args.data, args.clip, Path(folder), rows, labels)
            blocks += [(start + i, columns) for i in range(5)]
    draw(rows, labels, blocks, args.out)
    print(args.out)


if __name__ == "__main__":
    main()
