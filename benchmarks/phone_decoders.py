#!/usr/bin/env python
"""Which phones tell more about the mouth? The phone table (no learning) with each pocketsphinx decoder.

    python benchmarks/phone_decoders.py --data DATASET [--cache phones_words.npz]

The phone table of baselines.md (each phone's mean z-scored mouth opening, :mod:`talkhead.metrics.baselines`)
is fitted on the train split's phones and real openings, then predicts the test split's openings from their
phones; lip-follow (no lag search) against the real mouth, per decoder of
:func:`talkhead.processing.phones.decode_phones`: ``allphone`` (a phone loop; the dataset's stored ``phones``
column) and ``words`` (recognised words' dictionary phones aligned to the audio). Word decoding of the 57 clips
takes about 8 minutes on one core; ``--cache`` keeps it (an .npz by clip id). Writes
benchmarks/results/phone_decoders.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "phone_decoders.json"


def main() -> None:
    from talkhead.data.clips import iter_clips, load_dataset_dict
    from talkhead.data.mouth_windows import clip_phones
    from talkhead.metrics.baselines import fit_phone_table, phone_table_opening
    from talkhead.metrics.lip_follow import lip_follow
    from talkhead.processing.mouth import inner_lip_opening
    from talkhead.training.motion_clips import cached_phones

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--cache", type=Path, help="word phones by clip id (.npz), read if present, written after")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    splits = load_dataset_dict(args.data)
    train, test = list(iter_clips(splits["train"])), list(iter_clips(splits["test"]))
    with tempfile.TemporaryDirectory() as scratch:  # without --cache the decoded phones are not kept
        words = cached_phones(train + test, args.cache or Path(scratch) / "phones_words.npz", "words")
    decoders = {"allphone": lambda clip: clip_phones(clip), "words": lambda clip: words[clip.clip_id]}
    report = {"benchmark": "phone_decoders", "data": args.data, "train_clips": len(train), "rows": {}, "per_clip": {}}
    for name, phones in decoders.items():
        table = fit_phone_table([phones(c) for c in train], [inner_lip_opening(c.landmarks) for c in train])
        scores = {
            c.clip_id: lip_follow(phone_table_opening(table, phones(c)), inner_lip_opening(c.landmarks)) for c in test
        }
        report["per_clip"][name] = scores
        report["rows"][name] = {
            "lip_follow": float(np.nanmean(list(scores.values()))),
            "std": float(np.nanstd(list(scores.values()))),
            "clips": len(scores),
        }
    args.json.write_text(json.dumps(report, indent=1))
    print("| decoder | phone table lip-follow (test) | clips |\n|---|---|---|")
    for name, row in report["rows"].items():
        print(f"| `{name}` | {row['lip_follow']:.3f} ± {row['std']:.3f} | {row['clips']} |")


if __name__ == "__main__":
    main()
