#!/usr/bin/env python
"""Audio-video offsets of every clip of a preprocessed dataset, found with the phone table (no learned model).

    python benchmarks/av_offsets.py --data DATASET [--phones-cache phones.npz]

The raw clips' sync is not verified (shared/data/README.md asks for a report of clips that are off). For each
split, :func:`talkhead.data.av_offsets.clip_offsets` fits the phone table on that split's clips, finds each clip's
lag of best correlation between the table's prediction and the real mouth opening (within ±8 frames) and keeps it
where it beats lag 0 by 0.05. Negative: the mouth moves before its sound. Writes benchmarks/results/av_offsets.json
and prints the clips that are off.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "av_offsets.json"


def main() -> None:
    from talkhead.data.av_offsets import clip_offsets
    from talkhead.data.clips import iter_clips, load_dataset_dict

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="dataset written by `talkhead preprocess`")
    parser.add_argument("--phones-cache", help="an .npz of decoded phones per clip id, read and extended")
    args = parser.parse_args()
    report = {}
    for split, rows in load_dataset_dict(args.data).items():
        clips = list(iter_clips(rows))
        lags, details = clip_offsets(clips, args.phones_cache)
        report[split] = {c.clip_id: {"source": c.source, **d} for c, d in zip(clips, details, strict=True)}
        off = {c: d["lag"] for c, d in report[split].items() if d["lag"]}
        print(f"{split}: {len(off)} of {len(clips)} clips off (frames): {off}")
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
