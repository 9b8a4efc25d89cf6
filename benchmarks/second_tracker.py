#!/usr/bin/env python
"""Lip-follow and bilabial closures read by a second face tracker (MediaPipe FaceMesh), not the pipelines' dlib.

    python benchmarks/second_tracker.py make --data DS --out DIR        # talkhead's venv: the outputs, kept
    MEDIAPIPE_PY benchmarks/second_tracker.py track --out DIR           # a venv with mediapipe 0.10.21 (numpy < 2)
    python benchmarks/second_tracker.py score --out DIR --json F        # talkhead's venv: the scores

``make`` writes each test clip's ``own``, ``cross`` and ``photo`` outputs as ``talkhead benchmark lip-follow`` makes
them, with the word aligner's phones of each clip's speech and its filmed offset (``meta.json``). ``track`` reads the
real clips and the outputs with FaceMesh (its model ships in the 0.10 wheels, not in 1.x; it pins numpy below 2, so
it runs in a venv of its own and imports no talkhead): the opening of a frame is the mean of the inner-lip gaps
13-14, 82-87 and 312-317 over the distance of the eye centres. ``score`` applies
:func:`talkhead.metrics.lip_follow.lip_follow` and
:func:`talkhead.metrics.lip_contacts.bilabial_closure_of_openings` to those openings, each clip's filmed offset
undone as the articulation benchmark undoes it. Results: RESULTS.md, "Articulation".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROWS = ("own", "cross", "photo")
FACEMESH_INNER_LIPS = ((13, 14), (82, 87), (312, 317))
FACEMESH_EYE_CORNERS = ((33, 133), (362, 263))  # the two corners of each eye: their midpoints are the eye centres
FPS = 25.0


def output_name(clip_id: str, row: str) -> str:
    return f"{clip_id.replace('/', '_')}-{row}.mp4"


def make(data: str, out: Path) -> None:
    from talkhead.benchmarks.articulation import load_offset_expert, prepare_real_clip
    from talkhead.benchmarks.lip_follow import OWN_EXCLUDE_FRAMES, cross_pairs, first_frame, pipeline_runners
    from talkhead.benchmarks.split_clips import split_clips
    from talkhead.io import audio as audio_io
    from talkhead.processing.tracked_clip import track_clip

    out.mkdir(parents=True, exist_ok=True)
    clips = split_clips(data, "test")
    lip_syncer, talker = pipeline_runners("mouth-motion", "ms-sync-short")
    expert = load_offset_expert()
    meta = []
    for clip, speech in cross_pairs(clips):
        lip_syncer(clip.video, clip.audio, out / output_name(clip.clip_id, "own"), exclude_within=OWN_EXCLUDE_FRAMES)
        lip_syncer(clip.video, speech.audio, out / output_name(clip.clip_id, "cross"))
        talker(first_frame(clip.video), clip.audio, out / output_name(clip.clip_id, "photo"))
        real = prepare_real_clip(
            clip.clip_id, track_clip(clip.video, keep_frames=True), audio_io.load_audio(clip.audio), expert
        )
        meta.append(
            {
                "clip": clip.clip_id,
                "video": str(Path(clip.video).resolve()),
                "speech_of": speech.clip_id,
                "offset": int(real.undone_offset),
                "segments": [[s.phone, s.start, s.end] for s in real.segments],
            }
        )
        print(clip.clip_id, flush=True)
    (out / "meta.json").write_text(json.dumps(meta, indent=1))


def facemesh_openings(path: str | Path) -> np.ndarray:
    """(T,) FaceMesh's inner-lip opening of each 25 fps frame (NaN without a face)."""
    import cv2

    try:
        import mediapipe as mp
    except ImportError:
        raise SystemExit(
            "error: the track step needs mediapipe 0.10.21 (its wheel carries FaceMesh's model; it pins numpy below 2, "
            "so give it a venv of its own: python -m venv MP && MP/bin/pip install mediapipe==0.10.21, then run "
            "MP/bin/python benchmarks/second_tracker.py track --out DIR)"
        ) from None

    capture = cv2.VideoCapture(str(path))
    source_fps = capture.get(cv2.CAP_PROP_FPS) or FPS
    frames = []
    ok, frame = capture.read()
    while ok:
        frames.append(frame)
        ok, frame = capture.read()
    count = int(round(len(frames) / source_fps * FPS))
    opening = np.full(count, np.nan)
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1) as mesh:
        for t in range(count):
            image = frames[min(int(round(t / FPS * source_fps)), len(frames) - 1)]
            found = mesh.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)).multi_face_landmarks
            if not found:
                continue
            height, width = image.shape[:2]
            points = np.array([[p.x * width, p.y * height] for p in found[0].landmark])
            left, right = ((points[a] + points[b]) / 2 for a, b in FACEMESH_EYE_CORNERS)
            gaps = [np.linalg.norm(points[a] - points[b]) for a, b in FACEMESH_INNER_LIPS]
            opening[t] = np.mean(gaps) / np.linalg.norm(left - right)
    return opening


def track(out: Path) -> None:
    meta = json.loads((out / "meta.json").read_text())
    openings = {f"real/{m['clip']}": facemesh_openings(m["video"]) for m in meta}
    for m in meta:
        for row in ROWS:
            openings[f"{row}/{m['clip']}"] = facemesh_openings(out / output_name(m["clip"], row))
        print(m["clip"], flush=True)
    np.savez(out / "facemesh_openings.npz", **openings)


def score(out: Path, json_path: Path) -> dict:
    from talkhead.benchmarks.articulation import shifted_pair
    from talkhead.metrics.lip_contacts import bilabial_closure_of_openings
    from talkhead.metrics.lip_follow import lip_follow, std_ratio
    from talkhead.processing.phone_loop import PhoneSegment

    meta = {m["clip"]: m for m in json.loads((out / "meta.json").read_text())}
    openings = np.load(out / "facemesh_openings.npz")
    per_clip: dict[str, dict] = {row: {} for row in ROWS}
    for clip, m in meta.items():
        for row in ROWS:
            spoken = meta[m["speech_of"]] if row == "cross" else m
            real, generated = openings[f"real/{spoken['clip']}"], openings[f"{row}/{clip}"]
            shifted_real, shifted_generated = shifted_pair(real, generated, spoken["offset"])
            segments = [PhoneSegment(*s) for s in spoken["segments"]]
            closure = bilabial_closure_of_openings(real, generated, segments, offset=spoken["offset"])
            per_clip[row][clip] = {
                "lip_follow": lip_follow(shifted_generated, shifted_real),
                "lip_follow_as_filmed": lip_follow(generated, real),
                "std_ratio": std_ratio(shifted_generated, shifted_real),
                "closures": [closure.generated.hits, closure.generated.total],
                "real_closures": [closure.real.hits, closure.real.total],
            }
    rows = {}
    for row, clips in per_clip.items():
        follows = [c["lip_follow"] for c in clips.values()]
        rows[row] = {
            "lip_follow_mean": float(np.mean(follows)),
            "lip_follow_median": float(np.median(follows)),
            "lip_follow_as_filmed_median": float(np.median([c["lip_follow_as_filmed"] for c in clips.values()])),
            "std_ratio_median": float(np.median([c["std_ratio"] for c in clips.values()])),
            "std_ratio_min": float(np.min([c["std_ratio"] for c in clips.values()])),
            "closures": [int(sum(c["closures"][i] for c in clips.values())) for i in (0, 1)],
            "real_closures": [int(sum(c["real_closures"][i] for c in clips.values())) for i in (0, 1)],
        }
    report = {"benchmark": "second_tracker", "tracker": "mediapipe FaceMesh", "rows": rows, "per_clip": per_clip}
    json_path.write_text(json.dumps(report, indent=1))
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("make", "track", "score"))
    parser.add_argument("--out", type=Path, required=True, help="folder of the kept outputs and what is read of them")
    parser.add_argument("--data", help="make: a `talkhead preprocess` folder")
    parser.add_argument("--json", type=Path, help="score: where the report goes")
    args = parser.parse_args(argv)
    if args.step == "make":
        if not args.data:
            parser.error("make needs --data")
        make(args.data, args.out)
    elif args.step == "track":
        track(args.out)
    else:
        if not args.json:
            parser.error("score needs --json")
        for row, values in score(args.out, args.json)["rows"].items():
            print(row, json.dumps({k: np.round(v, 3).tolist() for k, v in values.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
