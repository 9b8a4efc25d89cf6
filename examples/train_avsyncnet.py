#!/usr/bin/env python
"""Train AVSyncNet (spec §6.5) or the Wav2Lip-style SyncNet expert (spec §6.7) with BCE on face windows.

    accelerate launch examples/train_avsyncnet.py --dataset DATASET --output_dir runs/avsyncnet-small
    accelerate launch examples/train_avsyncnet.py --architecture syncnet --output_dir runs/syncnet-eval ...
    accelerate launch examples/train_avsyncnet.py --output_dir runs/avsyncnet-small --resume_from_checkpoint latest

A sample is 5 faces (lower halves) and a 16-frame mel window: the aligned one (label 1) or one of the
same clip at least 5 frames away (label 0), each with probability ½. Adam (0.5, 0.999), lr 1e-4.
Validation on held-out sources reports BCE and accuracy (score > 0.5) and keeps the best weights by
BCE. ``--imagenet_resnet50 FILE`` initialises AVSyncNet's paper-size image tower from a torchvision
ResNet-50 state dict (spec §6.5); without it the towers start from random weights.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from talkhead.training.arguments import TrainingRunArguments


@dataclass
class SyncExpertTrainingArguments(TrainingRunArguments):
    dataset: str | None = field(default=None, metadata={"help": "folder written by `talkhead preprocess --faces`"})
    architecture: str = field(default="avsyncnet", metadata={"help": "avsyncnet or syncnet (the evaluation expert)"})
    model_config: str = field(default="small", metadata={"help": "preset (paper, small, tiny) or config.json"})
    imagenet_resnet50: str | None = field(default=None, metadata={"help": "torchvision ResNet-50 state dict (paper config)"})
    validation_samples: int = field(default=512)
    batch_size: int = field(default=64)
    learning_rate: float = field(default=1e-4)
    max_steps: int = field(default=300_000)
    validation_steps: int = field(default=500)


def build_model(args):
    from talkhead.models.avsyncnet import AVSyncNet, AVSyncNetConfig, SyncNetExpert, SyncNetExpertConfig

    model_class, config_class = {"avsyncnet": (AVSyncNet, AVSyncNetConfig), "syncnet": (SyncNetExpert, SyncNetExpertConfig)}[
        args.architecture]
    return model_class(config_class.from_preset_or_file(args.model_config))


@torch.no_grad()
def validate(model, batches) -> dict:
    from talkhead.losses import sync_bce_loss

    model.eval()
    losses, correct, total = [], 0, 0
    for batch in batches:
        scores = model(batch["faces"], batch["mel"]).scores
        losses.append(float(sync_bce_loss(scores, batch["label"])) * len(scores))
        correct += int(((scores > 0.5).float() == batch["label"]).sum())
        total += len(scores)
    model.train()
    return {"loss": sum(losses) / total, "accuracy": correct / total}


def save_plots(output_dir: Path, history: dict) -> None:
    from talkhead.training.plots import plot_curves

    plot_curves(output_dir / "plots" / "loss.png", {"training BCE": history["train"], "validation BCE": history["validation_loss"]},
                "BCE of aligned vs. shifted windows", "BCE", smooth=1)
    plot_curves(output_dir / "plots" / "validation_accuracy.png", {"validation": history["validation_accuracy"]},
                "validation accuracy (score > 0.5)", "accuracy", chance=0.5)


def main(argv=None) -> None:
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm

    from talkhead.data.clips import load_training_clips
    from talkhead.data.face_windows import SyncWindowDataset
    from talkhead.errors import TalkheadInputError
    from talkhead.losses import sync_bce_loss
    from talkhead.training.checkpoints import (
        load_checkpoint, parse_arguments, push_to_hub, resolve_checkpoint, save_arguments, save_checkpoint,
    )

    args = parse_arguments(SyncExpertTrainingArguments, argv)
    args.require_data_and_output()
    if args.architecture not in ("avsyncnet", "syncnet"):
        raise SystemExit(f"error: --architecture must be avsyncnet or syncnet, got {args.architecture!r}")
    accelerator = Accelerator()
    set_seed(args.seed + accelerator.process_index)
    output_dir = Path(args.output_dir)
    try:
        train_clips, validation_clips, held_out = load_training_clips(args.dataset, args.split, args.validation_sources,
                                                                      args.validation_fraction, args.seed)
        dataset = SyncWindowDataset(train_clips, seed=args.seed)
        validation = SyncWindowDataset(validation_clips, samples_per_epoch=args.validation_samples, seed=1234) if validation_clips else None
    except (TalkheadInputError, ValueError) as err:
        raise SystemExit(f"error: {err}") from err
    model = build_model(args)
    if args.imagenet_resnet50:
        from talkhead.models.avsyncnet import load_imagenet_resnet50

        missing = load_imagenet_resnet50(model, torch.load(args.imagenet_resnet50, map_location="cpu", weights_only=True))
        accelerator.print(f"image tower initialised from {args.imagenet_resnet50} (not from it: {', '.join(missing)})")
    validation_batches = list(torch.utils.data.DataLoader(validation, batch_size=args.batch_size)) if validation else []
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True, drop_last=True,
                                         num_workers=args.num_workers)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate, betas=(0.5, 0.999))
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    if accelerator.is_main_process:
        save_arguments(args, output_dir)
        accelerator.print(f"{len(dataset.clips)} training clips, {len(validation_clips)} validation clips "
                          f"(held-out sources: {', '.join(held_out) or 'none'}); {args.architecture} {args.model_config}")

    step = 0
    history = {"train": [], "validation_loss": [], "validation_accuracy": [], "best": None, "wall_seconds": 0.0}
    checkpoint = resolve_checkpoint(output_dir, args.resume_from_checkpoint)
    if checkpoint is not None:
        state = load_checkpoint(accelerator, checkpoint)
        step, history = state["step"], state["history"]
        accelerator.print(f"resumed from {checkpoint} at step {step}")
    started = time.perf_counter() - history["wall_seconds"]
    running = []
    progress = tqdm(total=args.max_steps, initial=step, desc=args.architecture, disable=not accelerator.is_local_main_process,
                    dynamic_ncols=True)
    while step < args.max_steps:
        dataset.epoch += 1
        for batch in loader:
            loss = sync_bce_loss(model(batch["faces"], batch["mel"]).scores, batch["label"])
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            optimizer.step()
            step += 1
            progress.update(1)
            running.append(float(loss))
            if step % args.logging_steps == 0:
                history["train"].append((step, float(np.mean(running))))
                progress.set_postfix(bce=f"{np.mean(running):.3f}", refresh=False)
                running = []
            if validation_batches and step % args.validation_steps == 0 and accelerator.is_main_process:
                result = validate(accelerator.unwrap_model(model), validation_batches)
                history["validation_loss"].append((step, result["loss"]))
                history["validation_accuracy"].append((step, result["accuracy"]))
                if history["best"] is None or result["loss"] < history["best"]["loss"]:
                    history["best"] = {"step": step, **result}
                    accelerator.unwrap_model(model).save_pretrained(output_dir / "best_model")
                save_plots(output_dir, history)
                accelerator.print(f"step {step}: validation BCE {result['loss']:.4f}, accuracy {result['accuracy']:.3f}")
            if step % args.checkpointing_steps == 0 or step >= args.max_steps:
                history["wall_seconds"] = time.perf_counter() - started
                save_checkpoint(accelerator, output_dir, step, {"history": history}, args.checkpoints_total_limit)
            if step >= args.max_steps:
                break
    progress.close()
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        final = accelerator.unwrap_model(model)
        if (output_dir / "best_model").exists():
            final = type(final).from_pretrained(output_dir / "best_model")
        final.save_pretrained(output_dir)
        summary = {"steps": step, "wall_seconds": round(time.perf_counter() - started, 1), "architecture": args.architecture,
                   "held_out_sources": held_out, "train_clips": len(dataset.clips), "validation_clips": len(validation_clips),
                   "best": history["best"]}
        (output_dir / "training_summary.json").write_text(json.dumps(summary, indent=2))
        if history["validation_loss"]:
            save_plots(output_dir, history)
        accelerator.print(json.dumps(summary, indent=1))
        if args.push_to_hub:
            push_to_hub(final, args.hub_model_id, output_dir)
    accelerator.end_training()


if __name__ == "__main__":
    main()
