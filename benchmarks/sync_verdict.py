#!/usr/bin/env python
"""When can the mouth-sync expert tell? Its confidence on clips with their own speech and with another clip's.

    python benchmarks/sync_verdict.py VIDEO [VIDEO ...] [--model talkhead/mouth-sync]

Each video is tracked once; its mouth is then searched (±15 frames, :func:`talkhead.data.mouth_sync.clip_offset`)
against its own speech as filmed, its own speech delayed 5 frames, and the speech of three other videos (no
relation to the mouth), over its first 60 frames (2.4 s), 125 (5 s) and up to 250 (10 s). Speech that did not make
the mouth gives the confidence a match by chance reaches; it shrinks as 1 / sqrt(windows searched), so the rows
carry confidence x sqrt(windows) too, the statistic :data:`talkhead.evaluation.verdict.MIN_SCALED_CONFIDENCE`
thresholds, and the verdict :func:`talkhead.evaluation.verdict.judge_offset` gives each pair.
Writes benchmarks/results/sync_verdict.json.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "sync_verdict.json"
LENGTHS = (60, 125, 250)  # frames at 25 fps: the shortest the search allows (56) and up, to 10 s
DELAY = 5  # frames the own speech is delayed by
MAX_LAG = 15
OTHERS = (1, 4, 7)  # the speech of the videos this many places further in the list


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("videos", nargs="+", help="talking-face videos with their own speech (at least 8)")
    parser.add_argument("--model", default="talkhead/mouth-sync", help="the mouth-sync expert")
    args = parser.parse_args()

    from talkhead.data.mouth_sync import clip_offset, mouth_displacements
    from talkhead.evaluation.verdict import judge_offset
    from talkhead.hub import load_pretrained
    from talkhead.io.audio import SAMPLE_RATE, load_audio
    from talkhead.models.mouth_motion import mouth_audio_features
    from talkhead.models.mouth_sync import MouthSyncModel
    from talkhead.processing.audio import SAMPLES_PER_FRAME
    from talkhead.processing.tracked_clip import track_clip

    expert = load_pretrained(MouthSyncModel, args.model).eval()
    names = [Path(video).stem for video in args.videos]
    mouths, speech = {}, {}
    for name, video in zip(names, args.videos, strict=True):
        tracked = track_clip(video)
        mouths[name] = mouth_displacements(*tracked.short_gaps_filled())[: max(LENGTHS)]
        speech[name] = load_audio(video)[: max(LENGTHS) * SAMPLES_PER_FRAME]

    rows = []
    for index, name in enumerate(names):
        delayed = np.concatenate([np.zeros(DELAY * SAMPLES_PER_FRAME, np.float32), speech[name]])
        pairs = [("own", speech[name]), (f"delayed_{DELAY}", delayed)]
        pairs += [(f"other:{names[(index + k) % len(names)]}", speech[names[(index + k) % len(names)]]) for k in OTHERS]
        for audio, wave in pairs:
            available = min(len(mouths[name]), int(len(wave) / SAMPLE_RATE * 25))
            for frames in sorted({min(available, length) for length in LENGTHS}):
                features = mouth_audio_features(wave[: frames * SAMPLES_PER_FRAME], frames, 25, expert.config)
                found = clip_offset(expert, features, mouths[name][:frames], MAX_LAG)
                verdict = judge_offset(found["offset"], found["confidence"], MAX_LAG, found["windows"])
                rows.append(
                    {
                        "video": name,
                        "audio": audio,
                        "frames": frames,
                        "offset": found["offset"],
                        "confidence": round(found["confidence"], 4),
                        "scaled_confidence": round(found["confidence"] * math.sqrt(found["windows"]), 3),
                        "verdict": verdict.kind,
                    }
                )
                print(rows[-1], flush=True)
    RESULTS.write_text(json.dumps({"model": args.model, "summary": summary(rows), "rows": rows}, indent=1) + "\n")


def summary(rows: list[dict]) -> dict:
    """Per speech kind and length band: the range of the scaled confidence and how many pairs got each verdict."""
    table: dict = {}
    for row in rows:
        kind = row["audio"].split(":")[0]
        band = "60" if row["frames"] <= 60 else "125" if row["frames"] <= 125 else "126-250"
        cell = table.setdefault(kind, {}).setdefault(band, {"scaled_confidence": [], "verdicts": {}})
        cell["scaled_confidence"].append(row["scaled_confidence"])
        cell["verdicts"][row["verdict"]] = cell["verdicts"].get(row["verdict"], 0) + 1
    for bands in table.values():
        for cell in bands.values():
            values = cell.pop("scaled_confidence")
            cell.update(pairs=len(values), scaled_confidence_min=min(values), scaled_confidence_max=max(values))
    return table


if __name__ == "__main__":
    main()
