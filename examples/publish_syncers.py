#!/usr/bin/env python
"""Publish trained syncer pyramids into hub_configs/ with their model cards.

    python examples/publish_syncers.py export --run runs/loss-syncers --name ms-sync-syncers
    python benchmarks/ms_sync_syncers.py --data DATASET          # measures the exported folders
    python examples/publish_syncers.py card --run runs/loss-syncers --name ms-sync-syncers \
        --benchmark benchmarks/results/ms_sync_syncers.json [--stage1 runs/eval-syncers-stage1]

``export`` writes config.json + model.safetensors (fp16 storage, fp32 use); ``card`` writes README.md
from the run's training_args.json / training_summary.json and the benchmark's measured numbers.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

HUB = Path(__file__).resolve().parents[1] / "hub_configs"

# The card section "At the paper's size" (loss syncers, evaluation syncers): the paper-size configuration is the
# `paper` preset, not a shipped folder, so each trained pyramid's card carries its recipe.
PAPER_SIZE_LOSS = r"""
The paper-size pyramid (Airale et al., MS-Sync; encoders as in the authors' LouisBearing/HMo-audio `resnet.py`:
ConvNeXt-1D [2, 2, 2, 2], widths 64-512, 512-d embeddings, about 48 M parameters) is the `paper` preset,
`MSSyncSyncerConfig.from_preset("paper")`. No weights of that size are published. On VoxCeleb2 with the FOMM-style
fixed-crop preprocessing that keeps head motion ("VoxCeleb2 (II)", §4.1), LRS2 or HDTF, with the authors' settings:

```bash
talkhead preprocess /data/voxceleb2/dev --output data/vox2 --test-sources id00017,id00061 --num-proc 16
accelerate launch examples/train_syncers.py --dataset data/vox2 --output_dir runs/syncers \
    --model_config paper --objective infonce \
    --learning_rate 1e-5 --weight_decay 4e-5 --temperature 1.0 --group_size 48 --clips_per_batch 16 \
    --max_steps 300000 --augment true --selection_metric loss --early_stopping_patience 20
```

Adam with lr 1e-5 and weight decay 4e-5, temperature 1, groups of 48 and 16 clips per batch are the authors'
(LouisBearing/FlowMatchingPortraits `train_lipsync_lvl{0..3}.sh`); 3x10^5 steps with early stopping on the
validation loss are ours. On our 11 minutes these settings learned nothing in 3,000 steps (the embeddings
collapse); this card's training recipe (τ = 0.1, lr 3e-4, no augmentation) is the one that works at that scale.
A pyramid trained so is the `--loss_syncers` of `examples/train_ms_sync.py`."""

PAPER_SIZE_EVAL = r"""
The paper's evaluation pyramid (Airale et al., MS-Sync, §4.3) is the same `paper` preset
(`MSSyncSyncerConfig.from_preset("paper")`, about 48 M parameters) with unnormalised embeddings, trained with
SyncNet's contrastive margin loss (m = 10) on groups of 12 consecutive windows of one clip; `--objective contrastive`
sets both. No weights of that size are published. With `data/vox2` built as in `ms-sync-syncers`' card ("At the
paper's size"):

```bash
accelerate launch examples/train_syncers.py --dataset data/vox2 --output_dir runs/eval-syncers \
    --model_config paper --objective contrastive --learning_rate 1e-5 --group_size 12 --max_steps 300000
```

The margin loss and the groups of 12 are the authors' (LouisBearing/FlowMatchingPortraits, `loss='syncnet'`); the
step budget is ours. With little data the contrastive loss alone collapses to its trivial optimum (constant
embeddings, loss 25); pretraining with InfoNCE first (`--objective infonce`, then `--objective contrastive
--init_from RUN`) avoids that. The paper trains one pyramid on VoxCeleb2 (II) and one on HDTF and scores each
dataset with its own (Tables 3 and 4). Its protocol for a generator: `talkhead benchmark ms-sync --data data/vox2
--split test --head-model ms-sync-short --eval-syncers-model runs/eval-syncers --padding zeros`."""


def export(run: Path, name: str) -> Path:
    from talkhead.hub.model_export import export_checkpoint
    from talkhead.models.ms_sync import MSSyncSyncerModel

    model = MSSyncSyncerModel.from_pretrained(run)
    folder = export_checkpoint(model, HUB / name)
    print(f"exported {run} -> {folder} ({(folder / 'model.safetensors').stat().st_size / 1e6:.1f} MB)")
    return folder


def _training_rows(run: Path) -> list[list]:
    args = json.loads((run / "training_args.json").read_text())
    summary = json.loads((run / "training_summary.json").read_text())
    rows = [
        [key, args[key]]
        for key in (
            "objective",
            "model_config",
            "learning_rate",
            "weight_decay",
            "temperature",
            "augment",
            "group_size",
            "clips_per_batch",
            "selection_metric",
            "seed",
        )
        if key in args and args[key] is not None
    ]
    rows += [
        ["steps", summary["steps"]],
        ["wall time", f"{summary['wall_seconds'] / 60:.1f} min"],
        ["held-out sources (validation)", ", ".join(summary["held_out_sources"])],
        ["training / validation clips", f"{summary['train_clips']} / {summary['validation_clips']}"],
    ]
    return rows


def card(run: Path, name: str, benchmark: Path, stage1: Path | None) -> Path:
    from talkhead.hub.model_card import (
        PIPELINE_TAGS,
        markdown_table,
        write_model_card,
    )
    from talkhead.models.ms_sync import MSSyncSyncerConfig
    from talkhead.training.eval_results import EXAMPLE_DATASET, results_from_files

    config = MSSyncSyncerConfig.from_pretrained(HUB / name)
    is_eval = "eval" in name
    summary = json.loads((run / "training_summary.json").read_text())
    results = json.loads(benchmark.read_text())
    levels = results["levels"]
    params = _parameter_count(HUB / name)
    best = summary["best"]
    validation = markdown_table(
        ["level", "window", "best step", "validation loss", "validation retrieval (of 48)"],
        [
            [
                level,
                f"{200 * 2 ** (int(level) - 1)} ms",
                best[level]["step"],
                f"{best[level]['loss']:.3f}" if best[level]["loss"] == best[level]["loss"] else "n/a (no group of 48)",
                f"{100 * best[level]['retrieval_accuracy']:.1f} %",
            ]
            for level in sorted(best)
        ],
    )
    key = "eval_syncers" if is_eval else "loss_syncers"
    retrieval = markdown_table(
        ["retrieval of the aligned window"] + [f"level {level}" for level in levels],
        [
            ["among 48 windows of all test clips (chance 2.1 %)"]
            + [f"{100 * results['retrieval'][key][str(level)]['accuracy']:.1f} %" for level in levels],
            ["among 12 consecutive windows of one clip (chance 8.3 %)"]
            + [
                f"{100 * results['retrieval'][key][str(level)]['same_clip_accuracy']:.1f} % "
                f"({results['retrieval'][key][str(level)]['same_clip_groups']} groups)"
                for level in levels
            ],
        ],
    )
    av_rows = []
    for condition, scores in results["av"].items():
        av_rows.append(
            [condition.replace("_", " ")]
            + [
                f"{scores[f'av_off_{level}']['mean']:.2f} / {scores[f'av_conf_{level}']['mean']:.2f}"
                for level in levels
            ]
        )
    av_table = markdown_table(["condition (\\|AV-Off\\| / AV-Conf)"] + [f"level {level}" for level in levels], av_rows)
    verdict = "; ".join(
        f"level {level}: offset {'yes' if v['smallest_offset'] else 'no'}, "
        f"confidence {'yes' if v['highest_confidence'] else 'no'}"
        for level, v in results["ground_truth_best"].items()
    )
    recipe = markdown_table(["setting", "value"], _training_rows(run))
    if stage1 is not None:
        recipe = (
            "Two stages. Stage 1, InfoNCE pretraining (its own seed, not the loss syncers' weights):\n\n"
            + markdown_table(["setting", "value"], _training_rows(stage1))
            + "\n\nStage 2, SyncNet's contrastive margin loss (m = 10) on groups of 12 consecutive windows "
            "of one clip, starting from stage 1:\n\n" + recipe
        )
    role = (
        "**evaluation syncers**: a second pyramid, trained apart from the loss syncers (its own seed), whose "
        "embeddings feed the multi-scale offset search of `talkhead evaluate landmarks` and `talkhead benchmark "
        "ms-sync`. The paper trains this pyramid with SyncNet's contrastive margin loss; on our data that loss "
        "collapsed to its trivial optimum (constant embeddings, loss 25) or, after InfoNCE pretraining, left "
        "aligned pairs farther apart than the zero padding of the offset search. This pyramid is therefore "
        "trained with InfoNCE like the loss syncers, and the metrics search offsets over overlapping windows "
        '(`padding="valid"`)'
        if is_eval
        else "**loss syncers**: InfoNCE-trained, cosine scores; frozen, they give the multi-scale synchrony loss "
        "of the MS-Sync generator"
    )
    sections = {
        "What it is": f"""\
A pyramid of {config.num_levels} audio/landmark syncers (MS-Sync, Airale et al.): level i scores a 5-frame
window of 68 landmarks against 20 frames of 26-band log filterbanks at 1/2^(i-1) of the base rates, i.e. windows of
{", ".join(f"{d} ms" for d in config.level_durations_ms)}. These are the {role}.

Architecture: ConvNeXt-1D encoders per level and modality (MS-Sync code, LouisBearing/HMo-audio
`resnet.py`) in the `small` preset: landmark embedding
{config.landmark_embed_dim}, stage widths {config.encoder_widths}, blocks {config.encoder_blocks}, {config.embed_dim}-d
embeddings; {params / 1e6:.2f} M parameters in all (the paper's size is about 48 M). Two departures from the paper,
both measured on this data: inputs are standardised with training-set statistics stored in the checkpoint (without
it the encoders collapse to a constant embedding), and each window is centred on its own temporal mean
(`center_windows`), so the syncers see motion and spectral change rather than face shape and voice. Without centring
they learned to match voices to faces: 95 % retrieval on training clips, 18 % on held-out sources that share a
speaker (Obama) with training, and chance (2.8 %, against 2.1 %) on new speakers.

```python
from talkhead.models.ms_sync import MSSyncSyncerModel
syncers = MSSyncSyncerModel.from_pretrained("talkhead/{name}")
out = syncers(landmarks, logfbank)   # (B, T, 68, 2) crop units, (B, 4T, 26)
out.scores                           # per level: cosine of every aligned window pair
```""",
        "Training recipe": recipe + f"\n\nHardware: {platform.machine()} CPU, 2 cores, no GPU. Command: "
        f"`accelerate launch examples/train_syncers.py --dataset DATASET --output_dir RUN` with the settings above.",
        "Validation (held-out sources, during training)": validation,
        "Measured on the held-out test split": f"""\
Test split: {results["clips"]} clips from {", ".join(results["sources"])}
(sources never seen in training). Command: `python benchmarks/ms_sync_syncers.py --data DATASET --split test`.

{retrieval}

Evaluation-syncer offsets and confidences on {results["av_clips"]} clips of 80 frames (offset steps 40, 80, 160,
320 ms; search over overlapping windows), ground truth against the audio shifted by 5 and 10 frames and a static face:

{av_table}

Ground truth best: {verdict}.""",
        "Limits": f"""Trained on {summary["train_clips"]} clips (about 7 minutes of video): on speakers never seen in
training the syncers do about twice as well as chance, far from the paper's (trained on VoxCeleb2). They overfit:
the validation loss on held-out sources is lowest after 500 to 1000 steps and rises after, while retrieval on the
12 validation clips is noisy (1 to 7 groups of 48), so the per-level selection above sometimes keeps early weights. \
Level 4 (1.6 s windows) sees very few windows,
in training and in 80-frame evaluation clips (6 windows), and its scores carry little information. A shift of the
audio moves the offset but hardly changes the confidence (AV-Conf says how sharp the best offset is, not where
it is), so AV-Conf alone does not reveal an offset; |AV-Off| does. Landmarks come from dlib's
68-point predictor, not FAN, so the coordinates differ from the paper's. To train on VoxCeleb2, LRS2 or HDTF:
`talkhead preprocess` the videos, then the same command with `--model_config paper --max_steps 300000
--learning_rate 1e-5` (the paper's settings; the next section gives them all).""",
        "At the paper's size": PAPER_SIZE_EVAL if is_eval else PAPER_SIZE_LOSS,
    }
    title = (
        "MS-Sync evaluation syncers (small, research only)"
        if is_eval
        else "MS-Sync loss syncers (small, research only)"
    )
    summary_text = (
        "Multi-scale audio/landmark synchrony models (200 to 1600 ms) from the MS-Sync paper, trained with "
        "talkhead on 11 minutes of public example clips."
    )
    tag = PIPELINE_TAGS[config.model_type]
    return write_model_card(
        HUB / name,
        datasets=[EXAMPLE_DATASET],
        title=title,
        summary=summary_text,
        sections=sections,
        pipeline_tag=tag,
        eval_results=results_from_files(name, tag, [benchmark]),
        tags=["talking-head", "lip-sync", "audio-visual", "ms-sync", "syncnet"],
    )


def _parameter_count(folder: Path) -> int:
    from talkhead.models.ms_sync import MSSyncSyncerModel

    return sum(p.numel() for p in MSSyncSyncerModel.from_pretrained(folder).parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["export", "card"])
    parser.add_argument("--run", required=True, type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--benchmark", type=Path)
    parser.add_argument("--stage1", type=Path, help="the InfoNCE pretraining run of two-stage evaluation syncers")
    args = parser.parse_args()
    if args.action == "export":
        export(args.run, args.name)
    else:
        if args.benchmark is None:
            parser.error("card needs --benchmark")
        print(card(args.run, args.name, args.benchmark, args.stage1))


if __name__ == "__main__":
    main()
