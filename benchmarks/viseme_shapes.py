#!/usr/bin/env python
"""How real speakers shape their visemes: the numbers behind :mod:`talkhead.processing.visemes`.

    python benchmarks/viseme_shapes.py --data DATASET [--split train] [--json PATH]

For every clip of ``--split`` of a ``talkhead preprocess`` folder (its tracked landmarks and speech): the phones of
the speech from the word aligner, the clip's filmed audio-video offset from the mouth-sync expert (undone when it is
inside the search), and on the frames of each phone class (:func:`talkhead.metrics.phone_frames.phone_frame_ranges`):

* ``rounded_width``: mean mouth width (corner to corner over the inter-ocular distance) on OW, UW, UH and W frames
  over the clip's mean width (what ``ROUNDED_WIDTH`` is set from);
* ``open_vowel_opening`` and ``bilabial_opening``: mean inner-lip opening on open-vowel and P/B/M frames over the
  clip's mean opening.

Medians and quartiles over clips go to the JSON (default benchmarks/results/viseme_shapes.json).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from talkhead import defaults
from talkhead.data.clips import iter_clips, load_dataset_dict
from talkhead.data.mouth_sync import clip_offset, mouth_displacements
from talkhead.hub import load_pretrained
from talkhead.metrics.articulation import mouth_width
from talkhead.metrics.phone_frames import phone_frame_ranges
from talkhead.models.mouth_motion import mouth_audio_features
from talkhead.models.mouth_sync import MouthSyncModel
from talkhead.processing.mouth import inner_lip_opening
from talkhead.processing.phones import decode_phones
from talkhead.processing.visemes import BILABIALS, OPEN_VOWELS, ROUNDED

RESULTS = Path(__file__).resolve().parent / "results" / "viseme_shapes.json"
SEARCH = 15


def _offset(expert, clip) -> int:
    """The clip's filmed offset in the articulation measures' sign (video leads audio: positive), 0 when unsure."""
    frames = len(clip.landmarks)
    try:
        features = mouth_audio_features(clip.audio, frames, clip.fps, expert.config)
        found = clip_offset(expert, features, mouth_displacements(clip.landmarks, clip.face_found), SEARCH)
    except ValueError:
        return 0
    return -found["offset"] if abs(found["offset"]) < SEARCH else 0


def _class_ratio(values: np.ndarray, segments, phones, offset: int) -> float:
    frames = [i for r in phone_frame_ranges(segments, phones, len(values), 25.0, offset) for i in r]
    chosen = values[frames] if frames else np.array([])
    chosen, every = chosen[np.isfinite(chosen)], values[np.isfinite(values)]
    return float(chosen.mean() / every.mean()) if chosen.size and every.mean() > 0 else float("nan")


def _spread(values: list[float]) -> dict:
    array = np.array([v for v in values if np.isfinite(v)])
    if not array.size:
        return {"median": float("nan"), "clips": 0}
    q1, median, q3 = np.percentile(array, [25, 50, 75])
    return {"median": float(median), "q1": float(q1), "q3": float(q3), "clips": int(array.size)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--json", default=str(RESULTS))
    args = parser.parse_args()
    expert = load_pretrained(MouthSyncModel, defaults.MOUTH_SYNC).eval()
    rows: dict[str, dict] = {}
    for clip in tqdm(list(iter_clips(load_dataset_dict(args.data)[args.split])), desc="clips"):
        landmarks = np.where(clip.face_found[:, None, None], clip.landmarks, np.nan)
        segments = decode_phones(clip.audio, "words", "en")
        offset = _offset(expert, clip)
        width, opening = mouth_width(landmarks), inner_lip_opening(landmarks)
        rows[clip.clip_id] = {
            "offset": int(offset),
            "rounded_width": _class_ratio(width, segments, ROUNDED, offset),
            "open_vowel_opening": _class_ratio(opening, segments, OPEN_VOWELS, offset),
            "bilabial_opening": _class_ratio(opening, segments, BILABIALS, offset),
        }
    columns = ("rounded_width", "open_vowel_opening", "bilabial_opening")
    report = {
        "data": args.data,
        "split": args.split,
        "summary": {column: _spread([row[column] for row in rows.values()]) for column in columns},
        "per_clip": rows,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=1))
    print(json.dumps(report["summary"], indent=1))


if __name__ == "__main__":
    main()
