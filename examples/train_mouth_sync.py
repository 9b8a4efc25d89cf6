#!/usr/bin/env python
"""Train the mouth-sync expert: 1 s of mouth shapes against 1 s of phones + mel.

    accelerate launch examples/train_mouth_sync.py --dataset DATASET --output_dir runs/mouth-sync \
        --validation_sources OpenTalker__video-retalking,smeetrs__deep_avsr
    accelerate launch examples/train_mouth_sync.py --output_dir runs/mouth-sync --resume_from_checkpoint latest
    ... --use_phones False     # the mel-only row

A sample is a group of ``--windows_per_group`` windows of one clip ``--stride`` frames apart; each mouth
window must pick its own audio among the group's (:func:`talkhead.losses.offset_classification_loss`).
Every clip's audio-video offset is undone first, validation clips' too (``--align_validation``): the
raw clips are off by up to 8 frames (``talkhead.data.av_offsets``, found with the phone table, no
learned model), and an expert selected on mislabelled offsets is selected on noise. Validation
measures the group offset accuracy and keeps the best weights by it.

``--streaming`` reads a dataset bigger than memory (``talkhead preprocess --shard I/N`` Parquet shards) as it goes,
each of ``accelerate launch --num_processes N``'s processes its own part, and resumes mid-pass exactly
(:mod:`talkhead.training.streamed_data`); the offsets are then undone at preprocessing (``--av-offset-model``) and
validation reads the first 200 held-out clips again at each validation.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

from talkhead.training.motion_clips import MouthShapeTrainingArguments


@dataclass
class MouthSyncTrainingArguments(MouthShapeTrainingArguments):
    window: int | None = field(default=None, metadata={"help": "overrides the preset's window (frames)"})
    align_validation: bool = field(default=True, metadata={"help": "undo the validation clips' offsets too"})
    windows_per_group: int = field(default=8, metadata={"help": "windows per group (chance = 1 / this)"})
    stride: int = field(default=2, metadata={"help": "frames between a group's windows"})
    augment: bool = field(default=True, metadata={"help": "scale and jitter the mouth displacements"})
    batch_size: int = field(default=32, metadata={"help": "groups per step"})
    validation_samples: int = field(default=512, metadata={"help": "groups drawn (fixed seed) for validation"})


def save_plots(output_dir: Path, history: dict, chance: float) -> None:
    from talkhead.training.plots import plot_curves

    plot_curves(
        output_dir / "plots" / "loss.png",
        {"training loss": history["train"].get("loss", [])},
        "training loss",
        "loss",
        smooth=5,
    )
    plot_curves(
        output_dir / "plots" / "validation_accuracy.png",
        {"validation": [(s, r["offset_accuracy"]) for s, r in history["validation"]]},
        "held-out offset accuracy (own audio ranked first in its group)",
        "accuracy",
        chance=chance,
    )


@dataclass
class TrainingData:
    loader: torch.utils.data.DataLoader
    validation: object  # MotionClips: a list, or streamed clips read again at each validation
    held_out: list[str]
    describe: str
    train_clips: int | None = None  # None when streamed (not counted)
    begin_pass: object = None


def in_memory_data(args, config) -> TrainingData:
    """Every clip loaded, offsets undone, groups drawn afresh each pass (replayed exactly on resume)."""
    from talkhead.data.mouth_windows import MouthSyncGroupDataset
    from talkhead.training.loop import seeded_loader
    from talkhead.training.motion_clips import prepare_motion_clips

    train_clips, validation_clips, held_out = prepare_motion_clips(
        args, config, search_validation=True, undo_validation=args.align_validation
    )
    dataset = MouthSyncGroupDataset(
        train_clips, config.window, args.windows_per_group, args.stride, seed=args.seed, augment=args.augment
    )
    loader = seeded_loader(dataset, args.batch_size, args)

    def begin_pass(passes: int) -> None:  # a fresh draw of groups every pass, seeded by the step it began at
        dataset.epoch = passes * len(loader)

    return TrainingData(
        loader, validation_clips, held_out, f"{len(dataset.clips)} training clips", len(dataset.clips), begin_pass
    )


def streamed_data(args, config, trainer) -> TrainingData:
    """Clips streamed from the Parquet shards, this process's part (see talkhead.training.streamed_data)."""
    from functools import partial

    from talkhead.data.mouth_windows import group_sample
    from talkhead.data.streaming import clip_draws
    from talkhead.training.streamed_data import stream_description, streamed_windows
    from talkhead.training.streamed_motion import motion_clip_maker, motion_split

    split = motion_split(args)
    to_motion_clip, _ = motion_clip_maker(args, config)
    span = config.window + (args.windows_per_group - 1) * args.stride

    def long_enough(clip):
        return to_motion_clip(clip) if clip.num_frames >= span else None

    sample = partial(
        group_sample,
        window=config.window,
        windows_per_group=args.windows_per_group,
        stride=args.stride,
        augment=args.augment,
    )
    windows = streamed_windows(trainer, split, clip_draws(long_enough, sample, span, args.stream_draws))
    trainer.print(
        "streaming: audio-video offsets are not searched (undo them with `talkhead preprocess --av-offset-model`)"
    )
    return TrainingData(
        windows.loader(args.batch_size),
        split.validation_clips(to_motion_clip),
        split.held_out,
        stream_description(trainer),
    )


def main(argv=None) -> None:
    from talkhead.data.mouth_sync import group_offset_accuracy
    from talkhead.errors import TalkheadInputError
    from talkhead.losses import offset_classification_loss
    from talkhead.models.mouth_sync import MouthSyncConfig, MouthSyncModel
    from talkhead.training.accelerator_setup import build_scheduler
    from talkhead.training.checkpoints import parse_arguments
    from talkhead.training.loop import Trainer, Validation

    args = parse_arguments(MouthSyncTrainingArguments, argv)
    args.require_data_and_output()
    trainer = Trainer(args, "mouth-sync")
    config = MouthSyncConfig.from_preset_or_file(
        args.model_config, use_phones=args.use_phones, use_mel=args.use_mel, **args.model_overrides("window")
    )
    try:
        data = streamed_data(args, config, trainer) if args.streaming else in_memory_data(args, config)
    except (TalkheadInputError, ValueError) as err:
        raise SystemExit(f"error: {err}") from err
    validation_clips, held_out = data.validation, data.held_out
    model = MouthSyncModel(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    if args.streaming:  # each process streams its own part: the loader is not handed to accelerate
        model, optimizer, scheduler = trainer.prepare(model, optimizer, build_scheduler(optimizer, args))
    else:
        model, optimizer, data.loader, scheduler = trainer.prepare(
            model, optimizer, data.loader, build_scheduler(optimizer, args)
        )
    trainer.start(
        model,
        f"{data.describe}, {len(validation_clips)} validation clips (held-out "
        f"sources: {', '.join(held_out) or 'none'}); {sum(p.numel() for p in model.parameters())} parameters",
    )
    chance = 1 / args.windows_per_group
    batches = trainer.stream_batches(data.loader) if args.streaming else trainer.batches(data.loader, data.begin_pass)

    def train_step(batch: dict) -> dict:
        output = model(batch["mouth_windows"], batch["audio_windows"])
        loss = offset_classification_loss(output.mouth_embeddings, output.audio_embeddings, config.cosine_temperature)[
            0
        ]
        trainer.optimizer_step(loss, optimizer, scheduler)
        return {"loss": loss}

    validation = Validation(
        lambda m: group_offset_accuracy(
            m, list(validation_clips), args.windows_per_group, args.stride, args.validation_samples
        ),
        args.validation_steps,
        metric="offset_accuracy",
        plot=lambda out, history: save_plots(out, history, chance),
        describe=lambda r: (
            f"held-out offset accuracy {r['offset_accuracy']:.3f} (chance {chance:.3f}), cosine aligned "
            f"{r['aligned_cosine']:.3f} shifted {r['shifted_cosine']:.3f}"
        ),
    )
    trainer.fit(batches, train_step, [model], validation if len(validation_clips) else None)
    if trainer.is_main_process:
        trainer.export(
            {
                "held_out_sources": held_out,
                "train_clips": data.train_clips,
                "validation_clips": len(validation_clips),
                "use_phones": args.use_phones,
                "use_mel": args.use_mel,
            }
        )
    trainer.end()


if __name__ == "__main__":
    sys.exit(main())
