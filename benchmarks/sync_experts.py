#!/usr/bin/env python
"""Sync experts on held-out speakers: offset accuracy, clip offsets, a 5-frame shift.

    python benchmarks/sync_experts.py --data DATASET --split test \
        --mouth-sync mouth-sync=hub_configs/mouth-sync --face-expert syncnet-eval=hub_configs/syncnet-eval \
        [--phones-cache phones.npz]

Offset accuracy is the training validation's: groups of 8 windows of one clip, 2 frames apart; a hit when
a visual window scores its own audio highest (chance 0.125). The raw clips are not in sync (7 of the 12
test clips are 1-8 frames off by the phone table, benchmarks/results/av_offsets.json), so a correct
expert is marked wrong on them: each accuracy is given with the clips as filmed (``raw``) and with each
clip's offset undone first (``aligned``; found with the phone table fitted on the split, no learned
model). Face experts read 5 lower-half faces; the mouth-sync expert reads its own window (1 s).

For the mouth-sync expert, per clip (:func:`talkhead.data.mouth_sync.clip_offset`, ±15 frames): the
offset it finds on the clip as filmed, against 0 (the clips taken as in sync) and against the phone table's
offset; and with the audio delayed by 5 frames (the mouth now moves 5 frames before its sound), whether the
offset it finds moves by -5 ± 1.
Writes benchmarks/results/sync_experts.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "sync_experts.json"
SHIFT = 5


def named_paths(values: list[str]) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, _, path = value.partition("=")
        pairs[name if path else Path(name).name] = path or name
    return pairs


def face_expert_rows(paths: dict[str, str], clips, aligned_clips, samples: int) -> dict:
    import torch
    from transformers import AutoModel

    import talkhead.models  # noqa: F401
    from talkhead.data.face_windows import OffsetWindowDataset

    sys.path.insert(0, str(ROOT / "examples"))
    from train_avsyncnet import validate

    rows = {}
    for name, path in paths.items():
        model = AutoModel.from_pretrained(path).eval()
        rows[name] = {}
        for label, chosen in (("raw", clips), ("aligned", aligned_clips)):
            dataset = OffsetWindowDataset(chosen, 8, 2, samples_per_epoch=samples, seed=4321)
            rows[name][label] = validate(model, list(torch.utils.data.DataLoader(dataset, batch_size=16)))
        print(name, json.dumps(rows[name]), flush=True)
    return rows


def delayed(features: np.ndarray, displacements: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The clip with its audio ``frames`` later than filmed: the mouth of frame t meets the sound of frame
    t - frames."""
    return features[: len(features) - frames], displacements[frames:]


def mouth_sync_rows(paths: dict[str, str], clips, lags: list[int], phones: dict, samples: int) -> dict:
    from talkhead.data.mouth_sync import clip_offset, group_offset_accuracy
    from talkhead.data.mouth_windows import motion_clip
    from talkhead.models.mouth_sync import MouthSyncModel

    rows = {}
    for name, path in paths.items():
        model = MouthSyncModel.from_pretrained(path).eval()
        raw = [motion_clip(c, model.config, phones[c.clip_id]) for c in clips]
        aligned = [motion_clip(c, model.config, phones[c.clip_id], lag) for c, lag in zip(clips, lags, strict=True)]
        per_clip = {}
        for clip, lag in zip(raw, lags, strict=True):
            found = clip_offset(model, clip.features, clip.displacements)
            moved = clip_offset(model, *delayed(clip.features, clip.displacements, SHIFT))
            per_clip[clip.clip_id] = {
                "offset": found["offset"],
                "confidence": round(found["confidence"], 4),
                "phone_table_offset": lag,
                "offset_audio_delayed": moved["offset"],
            }
        offsets = np.array([r["offset"] for r in per_clip.values()])
        table = np.array([r["phone_table_offset"] for r in per_clip.values()])
        moved = np.array([r["offset_audio_delayed"] for r in per_clip.values()]) - offsets
        rows[name] = {
            "raw": group_offset_accuracy(model, raw, samples=samples),
            "aligned": group_offset_accuracy(model, aligned, samples=samples),
            "clips_offset_within_1_of_0": float(np.mean(np.abs(offsets) <= 1)),
            "clips_offset_within_1_of_phone_table": float(np.mean(np.abs(offsets - table) <= 1)),
            "clips_shift_found_5_pm_1": float(np.mean(np.abs(moved + SHIFT) <= 1)),
            "window": model.config.window,
            "per_clip": per_clip,
        }
        print(name, json.dumps({k: v for k, v in rows[name].items() if k != "per_clip"}), flush=True)
    return rows


def main() -> None:
    from talkhead.data.av_offsets import clip_offsets, shift_clip
    from talkhead.data.clips import iter_clips, load_dataset_dict

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="dataset written by `talkhead preprocess --faces`")
    parser.add_argument("--split", default="test")
    parser.add_argument("--mouth-sync", nargs="*", default=[], metavar="NAME=PATH", help="mouth-sync experts")
    parser.add_argument("--face-expert", nargs="*", default=[], metavar="NAME=PATH", help="SyncNet / AVSyncNet experts")
    parser.add_argument("--phones-cache", help="an .npz of decoded phones per clip id, read and extended")
    parser.add_argument("--samples", type=int, default=256, help="groups of windows per accuracy")
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args()
    clips = list(iter_clips(load_dataset_dict(args.data)[args.split]))
    cache = args.phones_cache or str(Path(args.output).with_suffix(".phones.npz"))
    lags, _ = clip_offsets(clips, cache)
    phones = dict(np.load(cache))
    report = {
        "benchmark": "sync-experts",
        "data": Path(args.data).name,
        "split": args.split,
        "clips": len(clips),
        "phone_table_offsets": lags,
        "samples": args.samples,
        "face_experts": face_expert_rows(
            named_paths(args.face_expert),
            clips,
            [shift_clip(c, lag) for c, lag in zip(clips, lags, strict=True)],
            args.samples,
        ),
        "mouth_sync": mouth_sync_rows(named_paths(args.mouth_sync), clips, lags, phones, args.samples),
    }
    if not args.phones_cache:
        Path(cache).unlink(missing_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
