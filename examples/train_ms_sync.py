#!/usr/bin/env python
"""Train the MS-Sync generator (spec §3-4) against its discriminators and the frozen loss syncers.

    accelerate launch examples/train_ms_sync.py --dataset DATASET --output_dir runs/ms-sync-short
    accelerate launch examples/train_ms_sync.py --output_dir runs/ms-sync-short --resume_from_checkpoint latest

Each step: one discriminator update (D_f, D_s, D_s^j, hinge losses) on generator outputs made
without gradient, then one generator update on the same batch with
L = λ · L_AV^MS + L_Gf + L_Gs + L_Gsj (eq. 14, λ = 8). Adam (β1 = 0, β2 = 0.999); the learning
rates drop by 10x after ``--decay_after`` steps. The paper's ablations: ``--sync_levels 1``
(single-scale sync loss) and ``--single_branch`` (one generator branch). Validation generates
80-frame clips of held-out speakers from their first frame and reports the evaluation syncers'
AV-Conf / |AV-Off| per level; the best generator by level-1 AV-Conf is kept. Each checkpoint also
renders a sample (generated beside ground-truth landmarks, audio muxed) to OUTPUT_DIR/samples.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from talkhead.processing.audio import SAMPLES_PER_FRAME
from talkhead.training.arguments import TrainingRunArguments


@dataclass
class MSSyncTrainingArguments(TrainingRunArguments):
    generator_config: str = field(default="small", metadata={"help": "preset (paper, small, tiny) or config.json"})
    discriminator_config: str = field(default="small", metadata={"help": "preset (paper, small, tiny) or config.json"})
    single_branch: bool = field(default=False, metadata={"help": "ablation: one generator branch instead of four"})
    loss_syncers: str = field(default="ms-sync-syncers", metadata={"help": "frozen syncers of the sync loss"})
    eval_syncers: str | None = field(default="ms-sync-eval-syncers", metadata={"help": "syncers for validation AV-Conf"})
    sync_levels: str = field(default="1,2,3,4", metadata={"help": "levels of the sync loss; '1' is the single-scale ablation"})
    sync_weight: float = field(default=8.0, metadata={"help": "λ of eq. 14"})
    reconstruction_weight: float = field(default=0.0, metadata={"help": "L2 between generated and real frames, in units of the training set's landmark std "
                                                                      "(off in the paper; SUHMo uses a weak one)"})
    sequence_length: int = field(default=40, metadata={"help": "generated frames per training sequence: 40 (short) or 80 (long)"})
    batch_size: int = field(default=50, metadata={"help": "sequences per step (rounded down to even)"})
    learning_rate_generator: float = field(default=2e-5)
    learning_rate_discriminator: float = field(default=1e-5)
    max_steps: int = field(default=75_000)
    decay_after: int = field(default=70_000, metadata={"help": "multiply both learning rates by 0.1 after this step"})
    augment: bool = field(default=True)
    validation_steps: int = field(default=1000)
    validation_clip_frames: int = field(default=80)


def load_splits(args):
    from talkhead.data.clips import load_training_clips

    return load_training_clips(args.dataset, args.split, args.validation_sources, args.validation_fraction, args.seed)


def validation_chunks(clips, frames: int) -> list[dict]:
    """Fixed validation clips: consecutive ``frames``-frame chunks of the held-out clips (smoothed as in training)."""
    from talkhead.processing.landmarks import smooth_landmarks

    chunks = []
    for clip in clips:
        smoothed = smooth_landmarks(clip.landmarks)
        for start in range(0, clip.num_frames - frames + 1, frames):
            chunks.append({"clip_id": clip.clip_id, "landmarks": smoothed[start : start + frames],
                           "audio": clip.logfbank[4 * start : 4 * (start + frames)],
                           "wave": clip.audio[SAMPLES_PER_FRAME * start : SAMPLES_PER_FRAME * (start + frames)]})
    return chunks


@torch.no_grad()
def validate(generator, eval_syncers, chunks) -> dict:
    """Mean |AV-Off_i| and AV-Conf_i of clips generated from each chunk's first frame."""
    from talkhead.metrics.landmarks import multiscale_sync

    generator.eval()
    rows = []
    for chunk in chunks:
        initial = torch.from_numpy(chunk["landmarks"][:1])
        generated = generator.generate(initial, torch.from_numpy(chunk["audio"])[None], len(chunk["landmarks"]))[0]
        if not torch.isfinite(generated).all():
            raise FloatingPointError("the generator produced non-finite landmarks")
        rows.append(multiscale_sync(eval_syncers, generated.numpy(), chunk["audio"]).summary())
    generator.train()
    return {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}


def render_sample(generator, chunk: dict, path: Path) -> Path:
    """Ground truth (left) and generated (right) landmarks of one validation chunk, with its audio."""
    from talkhead.processing.landmarks import landmark_canvas
    from talkhead.processing.video import write_video

    with torch.no_grad():
        generated = generator.generate(torch.from_numpy(chunk["landmarks"][:1]), torch.from_numpy(chunk["audio"])[None],
                                       len(chunk["landmarks"]))[0].numpy()
    frames = (np.concatenate([landmark_canvas(real, 256, (60, 60, 200), "ground truth"),
                              landmark_canvas(fake, 256, (20, 140, 60), "MS-Sync")], axis=1)
              for real, fake in zip(chunk["landmarks"], generated))
    return write_video(path, frames, 25, audio=chunk["wave"])


def save_plots(output_dir: Path, history: dict, levels: list[int]) -> None:
    from talkhead.training.plots import plot_curves

    plots = output_dir / "plots"
    plot_curves(plots / "losses.png", {k: history["train"][k] for k in ("generator_adversarial", "discriminator", "sync")},
                "training losses", "loss", smooth=20)
    plot_curves(plots / "validation_av_conf.png", {f"level {l}": history["validation"][f"av_conf_{l}"] for l in levels},
                "validation AV-Conf per level (generated from the first frame)", "AV-Conf")
    plot_curves(plots / "validation_av_off.png", {f"level {l}": history["validation"][f"av_off_{l}"] for l in levels},
                "validation |AV-Off| per level", "|AV-Off| (level steps)")


def main(argv=None) -> None:
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm

    from talkhead.data.windows import LandmarkSequenceDataset, input_statistics
    from talkhead.errors import TalkheadInputError
    from talkhead.hub import load_pretrained
    from talkhead.losses import hinge_discriminator_loss, hinge_generator_loss, multiscale_sync_loss
    from talkhead.models.ms_sync import (
        MSSyncDiscriminatorConfig,
        MSSyncDiscriminators,
        MSSyncGenerator,
        MSSyncGeneratorConfig,
        MSSyncSyncerModel,
    )
    from talkhead.training.checkpoints import (
        load_checkpoint,
        parse_arguments,
        push_to_hub,
        resolve_checkpoint,
        save_arguments,
        save_checkpoint,
        save_final,
    )

    args = parse_arguments(MSSyncTrainingArguments, argv)
    args.require_data_and_output()
    batch_size = args.batch_size - args.batch_size % 2
    if batch_size < 2:
        raise SystemExit("error: --batch_size must be at least 2 (the pair discriminator needs pairs)")
    accelerator = Accelerator()
    set_seed(args.seed + accelerator.process_index)
    output_dir = Path(args.output_dir)
    try:
        train_clips, validation_clips, held_out = load_splits(args)
    except TalkheadInputError as err:
        raise SystemExit(f"error: {err}") from err
    sync_levels = [int(x) for x in args.sync_levels.split(",") if x.strip()]

    overrides = {"num_branches": 1} if args.single_branch else {}
    generator = MSSyncGenerator(MSSyncGeneratorConfig.from_preset_or_file(args.generator_config, **overrides))
    discriminators = MSSyncDiscriminators(MSSyncDiscriminatorConfig.from_preset_or_file(args.discriminator_config))
    statistics = input_statistics(train_clips)
    generator.set_input_statistics(*statistics)
    discriminators.set_input_statistics(*statistics[:2])
    n_obs = generator.config.num_warmup_frames
    syncers = load_pretrained(MSSyncSyncerModel, args.loss_syncers).to(accelerator.device).eval().requires_grad_(False)
    eval_syncers = load_pretrained(MSSyncSyncerModel, args.eval_syncers).eval() if args.eval_syncers else None
    try:  # the sync loss sees the warm-up and the generated frames: every level needs one window of them
        syncers.check_length(n_obs + args.sequence_length, sync_levels)
    except ValueError as err:
        raise SystemExit(f"error: --sequence_length {args.sequence_length} is too short for --sync_levels "
                         f"{args.sync_levels}: {err}") from err
    dataset = LandmarkSequenceDataset(train_clips, n_obs + args.sequence_length, augment=args.augment, seed=args.seed)
    # the loader draws its worker seed from its own generator, not from the global one the models' noise uses, so
    # starting a pass (or resuming mid-pass) leaves the random stream of an uninterrupted run unchanged
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, drop_last=True, num_workers=args.num_workers,
                                         generator=torch.Generator().manual_seed(args.seed))
    chunks = validation_chunks(validation_clips, args.validation_clip_frames)
    if accelerator.is_main_process:
        save_arguments(args, output_dir)
        accelerator.print(f"{len(dataset.clips)} training clips ({len(dataset)} sequences per epoch), {len(chunks)} validation "
                          f"clips of {args.validation_clip_frames} frames (held-out sources: {', '.join(held_out) or 'none'})")

    betas = (0.0, 0.999)
    optimizer_g = torch.optim.Adam(generator.parameters(), lr=args.learning_rate_generator, betas=betas)
    optimizer_d = torch.optim.Adam(discriminators.parameters(), lr=args.learning_rate_discriminator, betas=betas)
    generator, discriminators, optimizer_g, optimizer_d, loader = accelerator.prepare(
        generator, discriminators, optimizer_g, optimizer_d, loader)

    step = 0
    levels = list(range(1, syncers.config.num_levels + 1))
    history = {"train": {k: [] for k in ("generator_adversarial", "discriminator", "sync")},
               "validation": {f"av_{k}_{l}": [] for k in ("conf", "off") for l in levels}, "best": None, "wall_seconds": 0.0}
    checkpoint = resolve_checkpoint(output_dir, args.resume_from_checkpoint)
    if checkpoint is not None:
        state = load_checkpoint(accelerator, checkpoint)
        step, history = state["step"], state["history"]
        accelerator.print(f"resumed from {checkpoint} at step {step}")
    if accelerator.is_main_process and eval_syncers is not None and chunks and "ground_truth" not in history:
        from talkhead.metrics.landmarks import multiscale_sync

        rows = [multiscale_sync(eval_syncers, c["landmarks"], c["audio"]).summary() for c in chunks]
        history["ground_truth"] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}

    started = time.perf_counter() - history["wall_seconds"]
    running = {k: [] for k in history["train"]}
    progress = tqdm(total=args.max_steps, initial=step, desc="ms-sync", disable=not accelerator.is_local_main_process,
                    dynamic_ncols=True)
    while step < args.max_steps:
        # a fresh draw of sequences on every pass, seeded by its number; a resumed run skips the batches its pass
        # had already given, so it sees the sequences an uninterrupted run would
        passes, done = divmod(step, len(loader))
        dataset.epoch = passes
        for batch in accelerator.skip_first_batches(loader, done) if done else loader:
            scale = 0.1 if step >= args.decay_after else 1.0
            for optimizer, rate in ((optimizer_g, args.learning_rate_generator), (optimizer_d, args.learning_rate_discriminator)):
                for group in optimizer.param_groups:
                    group["lr"] = rate * scale
            landmarks, audio = batch["landmarks"], batch["audio"]
            warmup, real = landmarks[:, :n_obs], landmarks[:, n_obs:]

            output = generator(warmup, audio)  # one rollout serves the critic (detached) and the generator step
            fake = output.positions[:, n_obs:].detach()
            # one critic pass over [real; fake] (DDP wants one forward per backward); pairs stay within a half
            scores = discriminators(torch.cat([warmup, warmup]), torch.cat([real, fake]))
            loss_d = sum(hinge_discriminator_loss(*s.chunk(2)) for s in scores.to_tuple())
            optimizer_d.zero_grad(set_to_none=True)
            accelerator.backward(loss_d)
            optimizer_d.step()

            scores = discriminators(warmup, output.positions[:, n_obs:])
            loss_adversarial = sum(hinge_generator_loss(s) for s in scores.to_tuple())
            loss_sync, _ = multiscale_sync_loss(syncers, output.positions, audio, sync_levels)
            loss_g = loss_adversarial + args.sync_weight * loss_sync
            if args.reconstruction_weight:
                spread = accelerator.unwrap_model(generator).landmark_std.view(-1, 2)  # in standardised units
                loss_g = loss_g + args.reconstruction_weight * ((output.positions[:, n_obs:] - real) / spread).pow(2).mean()
            optimizer_g.zero_grad(set_to_none=True)
            accelerator.backward(loss_g)  # also leaves gradients on D, cleared before its next step
            optimizer_g.step()

            step += 1
            progress.update(1)
            for key, value in (("generator_adversarial", loss_adversarial), ("discriminator", loss_d), ("sync", loss_sync)):
                running[key].append(float(value))
            if step % args.logging_steps == 0:
                means = {k: float(np.mean(v)) for k, v in running.items() if v}
                for key, value in means.items():
                    history["train"][key].append((step, value))
                running = {k: [] for k in running}
                progress.set_postfix({k[:4]: f"{v:.3f}" for k, v in means.items()}, refresh=False)
            if eval_syncers is not None and chunks and step % args.validation_steps == 0 and accelerator.is_main_process:
                result = validate(accelerator.unwrap_model(generator), eval_syncers, chunks)
                for key, value in result.items():
                    history["validation"][key].append((step, value))
                if history["best"] is None or result["av_conf_1"] > history["best"]["av_conf_1"]:
                    history["best"] = {"step": step, **result}
                    accelerator.unwrap_model(generator).save_pretrained(output_dir / "best_generator")
                history["wall_seconds"] = time.perf_counter() - started
                save_plots(output_dir, history, levels)
                accelerator.print(f"step {step}: " + ", ".join(f"L{l} conf {result[f'av_conf_{l}']:.2f} off {result[f'av_off_{l}']:.1f}"
                                                                for l in levels))
            if step % args.checkpointing_steps == 0 or step >= args.max_steps:
                history["wall_seconds"] = time.perf_counter() - started
                save_checkpoint(accelerator, output_dir, step, {"history": history}, args.checkpoints_total_limit)
                if accelerator.is_main_process and chunks:
                    render_sample(accelerator.unwrap_model(generator), chunks[0], output_dir / "samples" / f"step-{step:07d}.mp4")
            if step >= args.max_steps:
                break
    progress.close()
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        summary = {"steps": step, "wall_seconds": round(time.perf_counter() - started, 1), "held_out_sources": held_out,
                   "train_clips": len(dataset.clips), "validation_clips": len(chunks), "best": history["best"],
                   "ground_truth": history.get("ground_truth"), "sync_levels": sync_levels,
                   "single_branch": args.single_branch}
        final = save_final(accelerator.unwrap_model(generator), output_dir, summary, best_dir="best_generator")
        accelerator.print(json.dumps(summary, indent=1))
        if args.push_to_hub:
            push_to_hub(final, args.hub_model_id, output_dir)
    accelerator.end_training()


if __name__ == "__main__":
    main()
