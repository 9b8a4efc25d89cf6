"""Benchmark the MS-Sync syncer pyramids on held-out clips.

    python benchmarks/ms_sync_syncers.py --data DATASET [--split test] \
        [--loss-syncers ms-sync-syncers] [--eval-syncers ms-sync-eval-syncers]

1. Retrieval accuracy per level: the aligned landmark window of each audio window among 48
   candidates (mixed groups from all held-out clips; chance 1/48), averaged over 20 random
   groupings, for both pyramids (cosine for the loss syncers, Euclidean for the evaluation syncers).
2. |AV-Off_i| and AV-Conf_i from the evaluation syncers on 80-frame clips, for ground truth, the
   audio shifted by 5 and 10 frames (the audio leads), and static landmarks (first frame repeated).
   Ground truth should have the smallest |AV-Off| and the highest AV-Conf at every level.

Writes benchmarks/results/ms_sync_syncers.json and the "ms_sync_syncers" section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
from common import machine, update_results_section, write_json

CONDITIONS = ("ground_truth", "audio_shift_5", "audio_shift_10", "static")


def retrieval(syncer, clips, level: int, repeats: int, euclidean: bool, same_clip: bool = False) -> tuple[float, int]:
    """Top-1 retrieval of the aligned window: among 48 windows of all clips, or 12 consecutive windows of one clip."""
    from talkhead.data.windows import cut_syncer_windows
    from talkhead.metrics.sync import retrieval_accuracy

    rng = np.random.default_rng(level)
    size = 12 if same_clip else 48
    accuracies = []
    for _ in range(repeats):
        windows = [cut_syncer_windows(c, level, int(rng.integers(0, 20))) for c in clips]
        if same_clip:
            groups = [(x[i : i + size], a[i : i + size]) for x, a in windows for i in range(0, len(x) - size + 1, size)]
        else:
            x = np.concatenate([w[0] for w in windows])
            a = np.concatenate([w[1] for w in windows])
            order = rng.permutation(len(x))
            groups = [(x[order[i : i + size]], a[order[i : i + size]]) for i in range(0, len(order) - size + 1, size)]
        for x, a in groups:
            with torch.no_grad():
                e_x, e_a = syncer.embed_windows(
                    torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(a)), level
                )
            accuracies.append(retrieval_accuracy(e_a, e_x, euclidean=euclidean))
    return (float(np.mean(accuracies)) if accuracies else float("nan")), len(accuracies)


def av_scores(eval_syncer, clips, length: int = 80, max_shift: int = 10) -> dict:
    from talkhead.metrics.landmarks import multiscale_sync
    from talkhead.processing.landmarks import smooth_landmarks

    values = {condition: [] for condition in CONDITIONS}
    for clip in clips:
        # Smoothed as the syncers saw them in training (MS-Sync authors' code, LouisBearing/HMo-audio `VoxLipsDataset`).
        smoothed = smooth_landmarks(clip.landmarks)
        for start in range(0, clip.num_frames - length - max_shift + 1, length):
            landmarks = smoothed[start : start + length]
            for condition in CONDITIONS:
                shift = {"audio_shift_5": 5, "audio_shift_10": 10}.get(condition, 0)
                audio = clip.logfbank[4 * (start + shift) : 4 * (start + shift + length)]
                points = np.repeat(landmarks[:1], length, axis=0) if condition == "static" else landmarks
                values[condition].append(multiscale_sync(eval_syncer, points, audio).summary())
    return {
        condition: {
            key: {"mean": float(np.mean([v[key] for v in rows])), "std": float(np.std([v[key] for v in rows]))}
            for key in rows[0]
        }
        for condition, rows in values.items()
    }, len(values["ground_truth"])


def check_ground_truth(scores: dict, levels) -> dict:
    """Per level: is ground truth best on both |AV-Off| (lowest, ties allowed) and AV-Conf (highest)?"""
    verdict = {}
    for level in levels:
        gt_off = scores["ground_truth"][f"av_off_{level}"]["mean"]
        gt_conf = scores["ground_truth"][f"av_conf_{level}"]["mean"]
        others = [c for c in CONDITIONS if c != "ground_truth"]
        verdict[level] = {
            "smallest_offset": all(gt_off <= scores[c][f"av_off_{level}"]["mean"] for c in others),
            "highest_confidence": all(gt_conf > scores[c][f"av_conf_{level}"]["mean"] for c in others),
        }
    return verdict


def markdown(results: dict) -> str:
    levels = results["levels"]
    lines = [
        "### MS-Sync syncer pyramids",
        "",
        f"Measured {results['machine']['date']} with `python benchmarks/ms_sync_syncers.py --data {results['data']} "
        f"--split {results['split']}`: {results['clips']} held-out clips ({', '.join(results['sources'])}).",
        "",
        "Top-1 retrieval of the aligned landmark window for each audio window, mean over "
        f"{results['repeats']} random offsets: among 48 windows of all held-out clips (chance 2.1 %), and among 12 "
        "consecutive windows of one clip (chance 8.3 %; identity cannot help there, only synchrony):",
        "",
        "| pyramid | groups | " + " | ".join(f"level {level} ({200 * 2 ** (level - 1)} ms)" for level in levels) + " |",
        "|---|---|" + "---|" * len(levels),
    ]
    for name in ("loss_syncers", "eval_syncers"):
        row = results["retrieval"][name]
        lines.append(
            f"| {name.replace('_', ' ')} | 48 mixed | "
            + " | ".join(f"{100 * row[str(level)]['accuracy']:.1f} %" for level in levels)
            + " |"
        )
        lines.append(
            f"| {name.replace('_', ' ')} | 12 same-clip | "
            + " | ".join(
                f"{100 * row[str(level)]['same_clip_accuracy']:.1f} % ({row[str(level)]['same_clip_groups']})"
                for level in levels
            )
            + " |"
        )
    lines += [
        "",
        f"Evaluation syncers on {results['av_clips']} clips of 80 frames: |AV-Off_i| / AV-Conf_i, mean ± std "
        "(offsets in level steps of 40, 80, 160, 320 ms):",
        "",
        "| condition | " + " | ".join(f"\\|AV-Off_{level}\\| | AV-Conf_{level}" for level in levels) + " |",
        "|---|" + "---|---|" * len(levels),
    ]
    for condition in CONDITIONS:
        scores = results["av"][condition]
        cells = []
        for level in levels:
            off, conf = scores[f"av_off_{level}"], scores[f"av_conf_{level}"]
            cells += [f"{off['mean']:.2f} ± {off['std']:.2f}", f"{conf['mean']:.2f} ± {conf['std']:.2f}"]
        lines.append(f"| {condition.replace('_', ' ')} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Ground truth best at each level (smallest |AV-Off|, highest AV-Conf): "
        + "; ".join(
            f"level {level}: offset {'yes' if v['smallest_offset'] else 'NO'}, "
            f"confidence {'yes' if v['highest_confidence'] else 'NO'}"
            for level, v in results["ground_truth_best"].items()
        ),
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="dataset written by talkhead preprocess")
    parser.add_argument("--split", default="test")
    parser.add_argument("--loss-syncers", default="ms-sync-syncers")
    parser.add_argument("--eval-syncers", default="ms-sync-eval-syncers")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--no-results-md", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()

    from talkhead.data.clips import iter_clips, load_dataset_dict
    from talkhead.data.windows import pyramid_clip
    from talkhead.hub import checkpoint_path, load_pretrained
    from talkhead.models.ms_sync import MSSyncSyncerModel

    torch.set_grad_enabled(False)
    clips = list(iter_clips(load_dataset_dict(args.data)[args.split]))
    loss_syncers = load_pretrained(MSSyncSyncerModel, args.loss_syncers).eval()
    eval_syncers = load_pretrained(MSSyncSyncerModel, args.eval_syncers).eval()
    levels = list(range(1, eval_syncers.config.num_levels + 1))
    pyramids = [pyramid_clip(c, len(levels)) for c in clips]
    results = {
        "machine": machine(),
        "data": args.data,
        "split": args.split,
        "clips": len(clips),
        "sources": sorted({c.source for c in clips}),
        "levels": levels,
        "repeats": args.repeats,
        "loss_syncers": checkpoint_path(args.loss_syncers),
        "eval_syncers": checkpoint_path(args.eval_syncers),
        "retrieval": {},
    }
    euclidean = not eval_syncers.config.normalize_embeddings
    for name, syncer, distance in (("loss_syncers", loss_syncers, False), ("eval_syncers", eval_syncers, euclidean)):
        results["retrieval"][name] = {}
        for level in levels:
            accuracy, groups = retrieval(syncer, pyramids, level, args.repeats, distance)
            same, same_groups = retrieval(syncer, pyramids, level, args.repeats, distance, same_clip=True)
            results["retrieval"][name][str(level)] = {
                "accuracy": accuracy,
                "groups": groups,
                "same_clip_accuracy": same,
                "same_clip_groups": same_groups,
            }
    results["av"], results["av_clips"] = av_scores(eval_syncers, clips)
    results["ground_truth_best"] = check_ground_truth(results["av"], levels)
    print(write_json("ms_sync_syncers", results))
    text = markdown(results)
    if not args.no_results_md:
        update_results_section("ms_sync_syncers", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
