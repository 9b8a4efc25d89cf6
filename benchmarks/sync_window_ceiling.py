#!/usr/bin/env python
"""How long must a sync window be? Offset accuracy of a no-training referee at several window lengths.

    python benchmarks/sync_window_ceiling.py --data DATASET --split test [--mouth-motion talkhead/mouth-motion]

The referee compares the *real* mouth (dlib's points in the face frame, minus the clip's mean shape: perfect
visual input, no image model) with the mouth the mouth-motion model predicts from the audio, by the cosine of
the centred windows. Protocol of the sync experts (benchmarks/sync_experts.py): groups of 8 windows of one
clip, 2 frames apart; a hit when a real-mouth window scores its own prediction highest (chance 0.125), with
the clips as filmed (``raw``) and with their offsets undone (``aligned``, phone table). If this referee cannot
reach 0.5 at SyncNet's 5 frames, no 5-frame image expert trained on the same speech can be expected to.
Writes benchmarks/results/sync_window_ceiling.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results" / "sync_window_ceiling.json"


class PredictionReferee:
    """An "expert" whose embeddings are the centred, normalised windows themselves (real mouth; predicted mouth)."""

    def __init__(self, window: int):
        self.config = type("Config", (), {"window": window})()

    def eval(self):
        return self

    @staticmethod
    def _embed(flat: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.normalize(flat - flat.mean(-1, keepdim=True), dim=-1)

    def embed_mouth(self, windows: torch.Tensor) -> torch.Tensor:  # (..., W, 20, 2)
        return self._embed(windows.flatten(-3))

    def embed_audio(self, windows: torch.Tensor) -> torch.Tensor:  # (..., W, 40): predicted displacements
        return self._embed(windows.flatten(-2))


def main() -> None:
    from talkhead.data.av_offsets import clip_offsets
    from talkhead.data.clips import iter_clips, load_dataset_dict
    from talkhead.data.mouth_sync import group_offset_accuracy
    from talkhead.data.mouth_windows import motion_clip
    from talkhead.hub import load_pretrained
    from talkhead.models.mouth_motion import MouthMotionModel

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="dataset written by `talkhead preprocess`")
    parser.add_argument("--split", default="test")
    parser.add_argument("--mouth-motion", default="talkhead/mouth-motion")
    parser.add_argument("--windows", type=int, nargs="+", default=[5, 9, 15, 25])
    parser.add_argument("--phones-cache", help="an .npz of decoded phones per clip id, read and extended")
    parser.add_argument("--samples", type=int, default=1024)
    args = parser.parse_args()
    model = load_pretrained(MouthMotionModel, args.mouth_motion).eval()
    clips = list(iter_clips(load_dataset_dict(args.data)[args.split]))
    lags, _ = clip_offsets(clips, args.phones_cache)
    phones = dict(np.load(args.phones_cache)) if args.phones_cache else None
    report = {
        "data": Path(args.data).name,
        "split": args.split,
        "clips": len(clips),
        "mouth_motion": args.mouth_motion,
        "samples": args.samples,
        "windows": {},
    }
    for labels in ("raw", "aligned"):
        motion = [
            motion_clip(c, model.config, phones[c.clip_id] if phones else None, lag if labels == "aligned" else 0)
            for c, lag in zip(clips, lags, strict=True)
        ]
        predicted = [
            dataclasses.replace(m, features=model.predict(m.features).reshape(m.num_frames, -1).astype(np.float32))
            for m in motion
        ]
        for window in args.windows:
            result = group_offset_accuracy(PredictionReferee(window), predicted, samples=args.samples)
            report["windows"].setdefault(str(window), {})[labels] = result["offset_accuracy"]
            print(f"{labels} window {window}: offset accuracy {result['offset_accuracy']:.3f}", flush=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
