#!/usr/bin/env python
"""Train the mouth-sync expert (issue #14, item 4): 1 s of mouth shapes against 1 s of phones + mel.

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
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from talkhead.training.arguments import TrainingRunArguments


@dataclass
class MouthSyncTrainingArguments(TrainingRunArguments):
    model_config: str = field(default="small", metadata={"help": "preset (small, tiny) or config.json"})
    use_phones: bool = field(default=True, metadata={"help": "read the pocketsphinx phone features"})
    use_mel: bool = field(default=True, metadata={"help": "read the per-frame mel"})
    window: int | None = field(default=None, metadata={"help": "overrides the preset's window (frames)"})
    hidden_size: int | None = field(default=None, metadata={"help": "overrides the preset's channels"})
    dropout: float | None = field(default=None, metadata={"help": "overrides the preset's dropout"})
    input_dropout: float | None = field(default=None, metadata={"help": "overrides the preset's input dropout"})
    align_offsets: bool = field(default=True, metadata={"help": "undo the training clips' audio-video offsets"})
    align_validation: bool = field(default=True, metadata={"help": "undo the validation clips' offsets too"})
    max_offset: int = field(default=8, metadata={"help": "largest offset searched, in frames"})
    windows_per_group: int = field(default=8, metadata={"help": "windows per group (chance = 1 / this)"})
    stride: int = field(default=2, metadata={"help": "frames between a group's windows"})
    augment: bool = field(default=True, metadata={"help": "scale and jitter the mouth displacements"})
    batch_size: int = field(default=32, metadata={"help": "groups per step"})
    learning_rate: float = field(default=1e-3)
    weight_decay: float = field(default=1e-2)
    max_steps: int = field(default=6000)
    validation_steps: int = field(default=250)
    validation_samples: int = field(default=512, metadata={"help": "groups drawn (fixed seed) for validation"})


def prepare_clips(args, config):
    """Training and validation :class:`MotionClip` s, offsets undone as asked (written to av_offsets.json)."""
    from talkhead.data.av_offsets import clip_offsets
    from talkhead.data.clips import load_training_clips
    from talkhead.data.mouth_windows import motion_clip

    train, validation, held_out = load_training_clips(args.dataset, args.split, args.validation_sources,
                                                      args.validation_fraction, args.seed)
    output_dir = Path(args.output_dir)
    cache_path = output_dir / "phones_cache.npz"  # decoding is the slow part of a (re)start
    clips = train + validation
    lags, details = clip_offsets(clips, cache_path, args.max_offset)
    keep = [args.align_offsets] * len(train) + [args.align_validation] * len(validation)
    lags = [lag if kept else 0 for lag, kept in zip(lags, keep)]
    report = {c.clip_id: {"source": c.source, **d, "undone": bool(lag)} for c, d, lag in zip(clips, details, lags)}
    (output_dir / "av_offsets.json").write_text(json.dumps(report, indent=1))
    print(f"audio-video offsets undone in {sum(lag != 0 for lag in lags)} of {len(clips)} clips")
    cache = dict(np.load(cache_path))
    motion = [motion_clip(c, config, cache[c.clip_id], lag) for c, lag in zip(clips, lags)]
    return motion[:len(train)], motion[len(train):], held_out


def save_plots(output_dir: Path, history: dict, chance: float) -> None:
    from talkhead.training.plots import plot_curves

    plot_curves(output_dir / "plots" / "loss.png", {"training loss": history["train"]}, "training loss", "loss", smooth=5)
    plot_curves(output_dir / "plots" / "validation_accuracy.png",
                {"validation": [(s, r["offset_accuracy"]) for s, r in history["validation"]]},
                "held-out offset accuracy (own audio ranked first in its group)", "accuracy", chance=chance)


def main(argv=None) -> None:
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm

    from talkhead.data.mouth_windows import MouthSyncGroupDataset
    from talkhead.errors import TalkheadInputError
    from talkhead.evaluation.mouth_sync import group_offset_accuracy
    from talkhead.losses import offset_classification_loss
    from talkhead.models.mouth_sync import MouthSyncConfig, MouthSyncModel
    from talkhead.training.checkpoints import (
        load_checkpoint,
        parse_arguments,
        push_to_hub,
        resolve_checkpoint,
        save_arguments,
        save_checkpoint,
        save_final,
    )

    args = parse_arguments(MouthSyncTrainingArguments, argv)
    args.require_data_and_output()
    accelerator = Accelerator()
    set_seed(args.seed + accelerator.process_index)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    overrides = {k: v for k, v in (("window", args.window), ("hidden_size", args.hidden_size), ("dropout", args.dropout),
                                   ("input_dropout", args.input_dropout)) if v is not None}
    config = MouthSyncConfig.from_preset_or_file(args.model_config, use_phones=args.use_phones, use_mel=args.use_mel,
                                                 **overrides)
    try:
        train_clips, validation_clips, held_out = prepare_clips(args, config)
        dataset = MouthSyncGroupDataset(train_clips, config.window, args.windows_per_group, args.stride, seed=args.seed,
                                        augment=args.augment)
    except (TalkheadInputError, ValueError) as err:
        raise SystemExit(f"error: {err}") from err
    model = MouthSyncModel(config)
    # the loader draws its worker seed from its own generator, not from the global one dropout uses, so starting a
    # pass (or resuming mid-pass) leaves the dropout masks of an uninterrupted run unchanged
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, drop_last=True, num_workers=args.num_workers,
                                         generator=torch.Generator().manual_seed(args.seed))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    # warm-up of 5 % of the run, but at least 2.5 steps: OneCycleLR divides by zero when warm-up is one step
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.learning_rate, total_steps=args.max_steps,
                                                    pct_start=min(0.3, max(0.05, 2.5 / args.max_steps)))
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    if accelerator.is_main_process:
        save_arguments(args, output_dir)
        accelerator.print(f"{len(dataset.clips)} training clips, {len(validation_clips)} validation clips (held-out "
                          f"sources: {', '.join(held_out) or 'none'}); {sum(p.numel() for p in model.parameters())} parameters")
    step = 0
    history = {"train": [], "validation": [], "best": None, "wall_seconds": 0.0}
    checkpoint = resolve_checkpoint(output_dir, args.resume_from_checkpoint)
    if checkpoint is not None:
        state = load_checkpoint(accelerator, checkpoint)
        step, history = state["step"], state["history"]
        accelerator.print(f"resumed from {checkpoint} at step {step}")
    started = time.perf_counter() - history["wall_seconds"]
    running = []
    chance = 1 / args.windows_per_group
    progress = tqdm(total=args.max_steps, initial=step, desc="mouth-sync", disable=not accelerator.is_local_main_process,
                    dynamic_ncols=True)
    while step < args.max_steps:
        # a fresh draw of groups on every pass, seeded by the step the pass began at; a resumed run skips the
        # batches its pass had already given, so it sees the groups an uninterrupted run would
        done = step % len(loader)
        dataset.epoch = step - done
        for batch in accelerator.skip_first_batches(loader, done) if done else loader:
            output = model(batch["mouth_windows"], batch["audio_windows"])
            loss = offset_classification_loss(output.mouth_embeddings, output.audio_embeddings, config.cosine_temperature)[0]
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            progress.update(1)
            running.append(loss.item())
            if step % args.logging_steps == 0:
                history["train"].append((step, float(np.mean(running))))
                progress.set_postfix(loss=f"{np.mean(running):.3f}", refresh=False)
                running = []
            if validation_clips and step % args.validation_steps == 0 and accelerator.is_main_process:
                result = group_offset_accuracy(accelerator.unwrap_model(model), validation_clips,
                                               args.windows_per_group, args.stride, args.validation_samples)
                accelerator.unwrap_model(model).train()
                history["validation"].append((step, result))
                if history["best"] is None or result["offset_accuracy"] > history["best"]["offset_accuracy"]:
                    history["best"] = {"step": step, **result}
                    accelerator.unwrap_model(model).save_pretrained(output_dir / "best_model")
                save_plots(output_dir, history, chance)
                accelerator.print(f"step {step}: held-out offset accuracy {result['offset_accuracy']:.3f} (chance "
                                  f"{chance:.3f}), cosine aligned {result['aligned_cosine']:.3f} shifted "
                                  f"{result['shifted_cosine']:.3f}")
            if step % args.checkpointing_steps == 0 or step >= args.max_steps:
                history["wall_seconds"] = time.perf_counter() - started
                save_checkpoint(accelerator, output_dir, step, {"history": history}, args.checkpoints_total_limit)
            if step >= args.max_steps:
                break
    progress.close()
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        summary = {"steps": step, "wall_seconds": round(time.perf_counter() - started, 1), "held_out_sources": held_out,
                   "train_clips": len(dataset.clips), "validation_clips": len(validation_clips),
                   "use_phones": args.use_phones, "use_mel": args.use_mel, "best": history["best"]}
        final = save_final(accelerator.unwrap_model(model), output_dir, summary, best_dir="best_model")
        if history["validation"]:
            save_plots(output_dir, history, chance)
        accelerator.print(json.dumps({k: v for k, v in summary.items()}, indent=1))
        if args.push_to_hub:
            push_to_hub(final, args.hub_model_id, output_dir)
    accelerator.end_training()


if __name__ == "__main__":
    sys.exit(main())
