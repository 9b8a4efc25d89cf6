#!/usr/bin/env python
"""Train the MS-Sync syncer pyramid (Airale et al., MS-Sync, §3.1, §4.3) on a dataset built by `talkhead preprocess`.

    accelerate launch examples/train_syncers.py --dataset data/raw-ds --output_dir runs/syncers
    accelerate launch examples/train_syncers.py --dataset data/raw-ds --output_dir runs/eval-syncers \
        --objective contrastive
    accelerate launch examples/train_syncers.py --output_dir runs/syncers --resume_from_checkpoint latest

``--objective infonce`` trains the loss syncers: symmetric InfoNCE over mixed groups of 48 windows
with the growing positive margin. ``--objective contrastive`` trains the evaluation syncers:
SyncNet's margin loss (m = 10) over groups of 12 consecutive windows of one clip, unnormalised
embeddings. ``--levels`` trains all four levels (default) or some of them; each optimiser step
takes one group per level. The validation split holds out whole sources (speakers). The best
weights of each level by validation loss are kept; plots of the losses and of the validation
retrieval accuracy (aligned window among 48) per level go to OUTPUT_DIR/plots.

``--streaming`` reads a dataset bigger than memory (``talkhead preprocess --shard I/N`` Parquet shards) as it goes,
each of ``accelerate launch --num_processes N``'s processes its own part, and resumes mid-batch exactly
(:mod:`talkhead.training.syncer_steps`); each clip gives ``--stream_draws`` items a pass (new offsets and
augmentations), the input statistics come from the first 64 training clips, and the first 200 held-out clips are
read again at each validation, one at a time (:mod:`talkhead.training.syncer_validation`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from talkhead.training.arguments import TrainingRunArguments


@dataclass
class SyncerTrainingArguments(TrainingRunArguments):
    levels: str = field(default="1,2,3,4", metadata={"help": "pyramid levels to train, e.g. '1,2,3,4' or '2'"})
    objective: str = field(
        default="infonce", metadata={"help": "infonce (loss syncers) or contrastive (evaluation syncers)"}
    )
    model_config: str = field(default="small", metadata={"help": "preset (paper, small, tiny) or a config.json path"})
    init_from: str | None = field(default=None, metadata={"help": "start from these pretrained weights"})
    group_size: int | None = field(
        default=None, metadata={"help": "windows per group (48 for infonce, 12 for contrastive)"}
    )
    clips_per_batch: int = field(default=16, metadata={"help": "clips whose windows are pooled before grouping"})
    max_steps: int = field(default=300_000, metadata={"help": "optimiser steps"})
    learning_rate: float = field(default=1e-5)
    weight_decay: float = field(default=4e-5)
    temperature: float = field(default=1.0, metadata={"help": "InfoNCE temperature (1 in the paper)"})
    margin_start: float = field(default=1e-3, metadata={"help": "InfoNCE positive margin at step 0"})
    margin_growth: float = field(default=1.002, metadata={"help": "margin factor every margin_every steps"})
    margin_every: int = field(default=1000)
    margin_max: float = field(default=0.4)
    augment: bool = field(default=True, metadata={"help": "flip, scale, shift and audio-gain augmentation"})
    validation_steps: int = field(default=500, metadata={"help": "validate every this many steps"})
    selection_metric: str = field(
        default="loss",
        metadata={"help": "what picks each level's best weights: loss (lower) or retrieval_accuracy (higher)"},
    )
    logging_steps: int = field(default=50)


class WindowEmbedder(nn.Module):
    """Calls the syncers through ``forward`` so that accelerate/DDP sees every step."""

    def __init__(self, syncer):
        super().__init__()
        self.syncer = syncer

    def forward(
        self, windows: dict[int, tuple[torch.Tensor, torch.Tensor]]
    ) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
        return {level: self.syncer.embed_windows(x, a, level) for level, (x, a) in windows.items()}


def build_config(args: SyncerTrainingArguments):
    from talkhead.models.ms_sync import MSSyncSyncerConfig

    objective = {"normalize_embeddings": args.objective == "infonce", "objective": args.objective}
    return MSSyncSyncerConfig.from_preset_or_file(args.model_config, **objective)


def parse_levels(text: str, num_levels: int) -> list[int]:
    levels = sorted({int(part) for part in text.split(",") if part.strip()})
    if not levels or levels[0] < 1 or levels[-1] > num_levels:
        raise SystemExit(f"error: --levels {text!r} must name levels between 1 and {num_levels}")
    return levels


def level_result(result: dict, level: int) -> dict:
    return {key: result[f"{key}_{level}"] for key in ("loss", "retrieval_accuracy", "groups")}


def save_plots(output_dir: Path, history: dict, levels: list[int]) -> None:
    from talkhead.training.plots import plot_curves

    plots = output_dir / "plots"
    plot_curves(
        plots / "train_loss.png",
        {f"level {level}": history["train"].get(str(level), []) for level in levels},
        "training loss per level",
        "loss",
        smooth=25,
    )
    plot_curves(
        plots / "validation_loss.png",
        {f"level {level}": [(s, r[f"loss_{level}"]) for s, r in history["validation"]] for level in levels},
        "validation loss per level (held-out sources)",
        "loss",
    )
    plot_curves(
        plots / "validation_retrieval.png",
        {
            f"level {level}": [(s, r[f"retrieval_accuracy_{level}"]) for s, r in history["validation"]]
            for level in levels
        },
        "validation retrieval accuracy: aligned window among 48",
        "top-1 accuracy",
        chance=1 / 48,
    )


def is_better(result: dict, best: dict | None, metric: str) -> bool:
    """Whether a validation result beats the best so far (ties on accuracy go to the lower loss)."""
    if math.isnan(result[metric]):  # a level without validation windows has nothing to compare
        return False
    if best is None:
        return True
    if metric == "loss":
        return result["loss"] < best["loss"]
    key = (result["retrieval_accuracy"], -result["loss"])
    return key > (best["retrieval_accuracy"], -best["loss"])


def level_keeper(trainer, args, levels: list[int]):
    """The validation's ``keep``: each level's best weights by ``--selection_metric``, in OUTPUT_DIR/best_levels."""
    from safetensors.torch import save_file

    def keep(step: int, weights: str, result: dict) -> bool:
        syncer = trainer.accelerator.unwrap_model(trainer.model).syncer
        improved = False
        for level in levels:
            scores = level_result(result, level)
            if is_better(scores, trainer.history["best"].get(str(level)), args.selection_metric):
                improved = True
                trainer.history["best"][str(level)] = {
                    "step": step,
                    **({"weights": weights} if trainer.ema else {}),
                    **scores,
                }
                best_dir = trainer.output_dir / "best_levels"
                best_dir.mkdir(parents=True, exist_ok=True)
                state = {k: v.detach().cpu().contiguous() for k, v in syncer.levels[level - 1].state_dict().items()}
                save_file(state, best_dir / f"level-{level}.safetensors")
        return improved

    return keep


def final_syncer(trainer, levels: list[int]):
    """The trained syncers with each level's best validated weights."""
    from safetensors.torch import load_file

    final = trainer.accelerator.unwrap_model(trainer.model).syncer
    for level in levels:
        path = trainer.output_dir / "best_levels" / f"level-{level}.safetensors"
        if path.exists():
            final.levels[level - 1].load_state_dict(load_file(path))
    return final


def main(argv=None) -> None:
    from accelerate.utils import DistributedDataParallelKwargs

    from talkhead.data.windows import SyncerWindowDataset, window_statistics
    from talkhead.errors import TalkheadInputError
    from talkhead.losses import info_nce_loss, infonce_margin, syncnet_contrastive_loss
    from talkhead.models.ms_sync import MSSyncSyncerModel
    from talkhead.training.accelerator_setup import build_scheduler
    from talkhead.training.checkpoints import parse_arguments
    from talkhead.training.loop import Trainer, Validation
    from talkhead.training.syncer_steps import group_steps, load_clips, streamed_clips, streamed_group_steps
    from talkhead.training.syncer_validation import validate_syncers

    args = parse_arguments(SyncerTrainingArguments, argv)
    args.require_data_and_output()
    args.require_choice("selection_metric", ("loss", "retrieval_accuracy"))
    args.require_choice("objective", ("infonce", "contrastive"))
    same_clip = args.objective == "contrastive"
    group_size = args.group_size or (12 if same_clip else 48)
    trainer = Trainer(args, f"syncers-{args.objective}", [DistributedDataParallelKwargs(find_unused_parameters=True)])
    config = build_config(args)
    levels = parse_levels(args.levels, config.num_levels)
    try:
        if args.streaming:
            windows, train_clips, validation_clips, held_out = streamed_clips(args, trainer, config, levels)
        else:
            train_clips, validation_clips, held_out = load_clips(args, config, levels)
    except TalkheadInputError as err:
        raise SystemExit(f"error: {err}") from err
    if not train_clips:
        raise SystemExit("error: no training clip is long enough for the requested levels")
    if args.init_from:  # e.g. evaluation syncers: InfoNCE pretraining, then the contrastive loss
        syncer = MSSyncSyncerModel.from_pretrained(
            args.init_from, normalize_embeddings=config.normalize_embeddings, objective=config.objective
        )
    else:
        syncer = MSSyncSyncerModel(config)
        syncer.set_input_statistics(*window_statistics(train_clips, config.center_windows))
    optimizer = torch.optim.Adam(syncer.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    if args.streaming:  # each process streams its own part: the loader is not handed to accelerate
        embedder, optimizer, scheduler = trainer.prepare(
            WindowEmbedder(syncer), optimizer, build_scheduler(optimizer, args)
        )
        steps = streamed_group_steps(trainer, windows, args.clips_per_batch, group_size, same_clip, levels)
    else:
        dataset = SyncerWindowDataset(train_clips, levels, augment=args.augment, seed=args.seed)
        order = torch.Generator()  # the shuffle of pass p is seeded by (seed, p): a resumed run finds its order again
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_size=min(args.clips_per_batch, len(train_clips)),
            shuffle=True,
            collate_fn=list,
            num_workers=args.num_workers,
            drop_last=True,
            generator=order,
        )
        embedder, optimizer, loader, scheduler = trainer.prepare(
            WindowEmbedder(syncer), optimizer, loader, build_scheduler(optimizer, args)
        )

        def begin_pass(passes: int) -> None:
            dataset.epoch = passes
            order.manual_seed(args.seed * 1_000_003 + passes)

        steps = group_steps(trainer, loader, begin_pass, group_size, same_clip, levels)
    trainer.history["best"] = {}
    train_count = None if args.streaming else len(train_clips)
    trainer.start(
        embedder,
        f"{train_count or 'streamed'} training clips, {len(validation_clips)} validation clips (held-out "
        f"sources: {', '.join(held_out) or 'none'}); levels {levels}; groups of {group_size}",
    )

    def train_step(windows: dict) -> dict:
        embeddings = embedder(windows)
        margin = infonce_margin(
            trainer.state.step, args.margin_start, args.margin_growth, args.margin_every, args.margin_max
        )
        losses = {
            str(level): info_nce_loss(e_a, e_x, margin, args.temperature)
            if not same_clip
            else syncnet_contrastive_loss(e_x, e_a, config.contrastive_margin)
            for level, (e_x, e_a) in embeddings.items()
        }
        trainer.optimizer_step(sum(losses.values()), optimizer, scheduler)
        return losses

    def validate(model) -> dict:
        return validate_syncers(
            model.syncer,
            validation_clips,
            levels,
            group_size,
            args.objective,
            args.temperature,
            config.contrastive_margin,
        )

    validation = Validation(
        validate,
        args.validation_steps,
        keep=level_keeper(trainer, args, levels),
        plot=lambda out, history: save_plots(out, history, levels),
        describe=lambda r: "; ".join(
            f"L{level} val loss {r[f'loss_{level}']:.3f} acc {r[f'retrieval_accuracy_{level}']:.2f}" for level in levels
        ),
    )
    trainer.fit(steps, train_step, [embedder], validation if len(validation_clips) else None)
    if trainer.is_main_process:
        trainer.export(
            {
                "levels": levels,
                "held_out_sources": held_out,
                "train_clips": train_count,
                "validation_clips": len(validation_clips),
            },
            final_syncer(trainer, levels),
            best_dir=None,
        )
    trainer.end()


if __name__ == "__main__":
    main()
