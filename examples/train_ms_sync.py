#!/usr/bin/env python
"""Train the MS-Sync generator (Airale et al., MS-Sync, §3) against its discriminators and the frozen loss syncers.

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

``--streaming`` reads a dataset bigger than memory (``talkhead preprocess --shard I/N`` Parquet shards) as it goes,
each of ``accelerate launch --num_processes N``'s processes its own part, and resumes mid-pass exactly
(:mod:`talkhead.training.streamed_data`); the input statistics come from the first 64 training clips, and
validation cuts its chunks from the first 200 held-out clips again at each validation.
"""

from __future__ import annotations

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
    eval_syncers: str | None = field(
        default="ms-sync-eval-syncers", metadata={"help": "syncers for validation AV-Conf"}
    )
    sync_levels: str = field(
        default="1,2,3,4", metadata={"help": "levels of the sync loss; '1' is the single-scale ablation"}
    )
    sync_weight: float = field(default=8.0, metadata={"help": "λ of eq. 14"})
    reconstruction_weight: float = field(
        default=0.0,
        metadata={
            "help": "L2 between generated and real frames, in units of the training set's landmark std "
            "(off in the paper; SUHMo uses a weak one)"
        },
    )
    sequence_length: int = field(
        default=40, metadata={"help": "generated frames per training sequence: 40 (short) or 80 (long)"}
    )
    batch_size: int = field(default=50, metadata={"help": "sequences per step (rounded down to even)"})
    learning_rate_generator: float = field(default=2e-5)
    learning_rate_discriminator: float = field(default=1e-5)
    max_steps: int = field(default=75_000)
    decay_after: int = field(default=70_000, metadata={"help": "multiply both learning rates by 0.1 after this step"})
    lr_scheduler: str = field(
        default="decay_after",
        metadata={
            "help": "decay_after (the paper's: x 0.1 after --decay_after steps), or a shared schedule "
            "(one_cycle, cosine, ...)"
        },
    )
    ema_decay: float = field(
        default=0.999, metadata={"help": "EMA of the generator's weights (0: none); kept where it validates better"}
    )
    augment: bool = field(default=True)
    validation_steps: int = field(default=1000)
    validation_clip_frames: int = field(default=80)


def load_splits(args):
    from talkhead.data.clips import load_training_clips

    return load_training_clips(args.dataset, args.split, args.validation_sources, args.validation_fraction, args.seed)


def validation_chunks(clips, frames: int):
    """Fixed validation clips: consecutive ``frames``-frame chunks of the held-out clips (smoothed as in training)."""
    from talkhead.processing.landmarks import smooth_landmarks

    for clip in clips:
        smoothed = smooth_landmarks(clip.landmarks)
        for start in range(0, clip.num_frames - frames + 1, frames):
            yield {
                "clip_id": clip.clip_id,
                "landmarks": smoothed[start : start + frames],
                "audio": clip.logfbank[4 * start : 4 * (start + frames)],
                "wave": clip.audio[SAMPLES_PER_FRAME * start : SAMPLES_PER_FRAME * (start + frames)],
            }


class StreamedChunks:
    """The validation chunks of streamed held-out clips, cut again at every iteration (one clip in memory)."""

    def __init__(self, clips, frames: int):
        self.clips, self.frames = clips, frames

    def __bool__(self) -> bool:
        return len(self.clips) > 0

    def __iter__(self):
        return validation_chunks(self.clips, self.frames)


def streamed_sequences(args, trainer, split, length: int):
    """This process's streamed training sequences of ``length`` frames (see talkhead.training.streamed_data)."""
    from talkhead.data.streaming import clip_draws
    from talkhead.data.windows import landmark_sequence
    from talkhead.processing.landmarks import smooth_landmarks
    from talkhead.training.streamed_data import streamed_windows

    def prepare(clip):  # smoothed once per clip, as LandmarkSequenceDataset does; short clips give nothing
        return (smooth_landmarks(clip.landmarks, 3), clip.logfbank) if clip.num_frames >= length + 3 else None

    def sample(prepared, rng):
        return landmark_sequence(*prepared, rng, length, args.augment)

    return streamed_windows(trainer, split, clip_draws(prepare, sample, length, args.stream_draws))


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
    from talkhead.io.video_writer import write_video
    from talkhead.processing.landmarks import landmark_canvas

    with torch.no_grad():
        generated = generator.generate(
            torch.from_numpy(chunk["landmarks"][:1]), torch.from_numpy(chunk["audio"])[None], len(chunk["landmarks"])
        )[0].numpy()
    frames = (
        np.concatenate(
            [
                landmark_canvas(real, 256, (60, 60, 200), "ground truth"),
                landmark_canvas(fake, 256, (20, 140, 60), "MS-Sync"),
            ],
            axis=1,
        )
        for real, fake in zip(chunk["landmarks"], generated, strict=False)
    )
    return write_video(path, frames, 25, audio=chunk["wave"])


def save_plots(output_dir: Path, history: dict, levels: list[int]) -> None:
    from talkhead.training.plots import plot_curves

    plots = output_dir / "plots"
    plot_curves(
        plots / "losses.png",
        {k: history["train"].get(k, []) for k in ("generator_adversarial", "discriminator", "sync")},
        "training losses",
        "loss",
        smooth=20,
    )
    plot_curves(
        plots / "validation_av_conf.png",
        {f"level {level}": [(s, r[f"av_conf_{level}"]) for s, r in history["validation"]] for level in levels},
        "validation AV-Conf per level (generated from the first frame)",
        "AV-Conf",
    )
    plot_curves(
        plots / "validation_av_off.png",
        {f"level {level}": [(s, r[f"av_off_{level}"]) for s, r in history["validation"]] for level in levels},
        "validation |AV-Off| per level",
        "|AV-Off| (level steps)",
    )


def build_models(args, train_clips):
    """The generator and discriminators (input statistics of the training clips) and the frozen loss syncers."""
    from talkhead.data.windows import input_statistics
    from talkhead.hub import load_pretrained
    from talkhead.models.ms_sync import (
        MSSyncDiscriminatorConfig,
        MSSyncDiscriminators,
        MSSyncGenerator,
        MSSyncGeneratorConfig,
        MSSyncSyncerModel,
    )

    overrides = {"num_branches": 1} if args.single_branch else {}
    generator = MSSyncGenerator(MSSyncGeneratorConfig.from_preset_or_file(args.generator_config, **overrides))
    discriminators = MSSyncDiscriminators(MSSyncDiscriminatorConfig.from_preset_or_file(args.discriminator_config))
    statistics = input_statistics(train_clips)
    generator.set_input_statistics(*statistics)
    discriminators.set_input_statistics(*statistics[:2])
    syncers = load_pretrained(MSSyncSyncerModel, args.loss_syncers).eval().requires_grad_(False)
    return generator, discriminators, syncers


def build_schedulers(args, optimizers):
    """The paper's schedule (``decay_after``: both learning rates x 0.1 after ``--decay_after`` steps) or a shared
    one."""
    from talkhead.training.accelerator_setup import build_scheduler

    if args.lr_scheduler == "decay_after":
        return [torch.optim.lr_scheduler.MultiStepLR(optimizer, [args.decay_after], 0.1) for optimizer in optimizers]
    return [build_scheduler(optimizer, args) for optimizer in optimizers]


def ground_truth(eval_syncers, chunks) -> dict:
    """The evaluation syncers' scores of the real landmarks of the validation chunks (what generated ones aim at)."""
    from talkhead.metrics.landmarks import multiscale_sync

    rows = [multiscale_sync(eval_syncers, c["landmarks"], c["audio"]).summary() for c in chunks]
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def main(argv=None) -> None:
    from talkhead.data.windows import LandmarkSequenceDataset
    from talkhead.errors import TalkheadInputError
    from talkhead.hub import load_pretrained
    from talkhead.losses import hinge_discriminator_loss, hinge_generator_loss, multiscale_sync_loss
    from talkhead.models.ms_sync import MSSyncSyncerModel
    from talkhead.training.checkpoints import parse_arguments
    from talkhead.training.loop import Trainer, Validation, gradients_kept, seeded_loader

    args = parse_arguments(MSSyncTrainingArguments, argv)
    args.require_data_and_output()
    batch_size = args.batch_size - args.batch_size % 2
    if batch_size < 2:
        raise SystemExit("error: --batch_size must be at least 2 (the pair discriminator needs pairs)")
    trainer = Trainer(args, "ms-sync")
    try:
        if args.streaming:
            from talkhead.data.streaming import MOTION_COLUMNS
            from talkhead.training.streamed_data import streamed_split

            split = streamed_split(args, MOTION_COLUMNS)
            held_out, validation_clips = split.held_out, split.validation_clips()
            train_clips = list(split.first_training_clips(64))  # the input statistics' clips
        else:
            train_clips, validation_clips, held_out = load_splits(args)
    except TalkheadInputError as err:
        raise SystemExit(f"error: {err}") from err
    sync_levels = [int(x) for x in args.sync_levels.split(",") if x.strip()]
    generator, discriminators, syncers = build_models(args, train_clips)
    syncers = syncers.to(trainer.accelerator.device)
    n_obs = generator.config.num_warmup_frames
    eval_syncers = load_pretrained(MSSyncSyncerModel, args.eval_syncers).eval() if args.eval_syncers else None
    try:  # the sync loss sees the warm-up and the generated frames: every level needs one window of them
        syncers.check_length(n_obs + args.sequence_length, sync_levels)
    except ValueError as err:
        raise SystemExit(
            f"error: --sequence_length {args.sequence_length} is too short for --sync_levels {args.sync_levels}: {err}"
        ) from err
    betas = (0.0, 0.999)
    optimizer_g = torch.optim.Adam(generator.parameters(), lr=args.learning_rate_generator, betas=betas)
    optimizer_d = torch.optim.Adam(discriminators.parameters(), lr=args.learning_rate_discriminator, betas=betas)
    schedulers = build_schedulers(args, (optimizer_g, optimizer_d))
    if args.streaming:  # each process streams its own part: the loader is not handed to accelerate
        windows = streamed_sequences(args, trainer, split, n_obs + args.sequence_length)
        chunks = StreamedChunks(validation_clips, args.validation_clip_frames)
        generator, discriminators, optimizer_g, optimizer_d, scheduler_g, scheduler_d = trainer.prepare(
            generator, discriminators, optimizer_g, optimizer_d, *schedulers
        )
        batches, train_clips = trainer.stream_batches(windows.loader(batch_size)), None
        validation_count = len(validation_clips)  # clips: their chunks are not counted before a validation
        described = f"training clips streamed, {len(validation_clips)} validation clips"
    else:
        dataset = LandmarkSequenceDataset(
            train_clips, n_obs + args.sequence_length, augment=args.augment, seed=args.seed
        )
        loader = seeded_loader(dataset, batch_size, args)
        chunks = list(validation_chunks(validation_clips, args.validation_clip_frames))
        generator, discriminators, optimizer_g, optimizer_d, loader, scheduler_g, scheduler_d = trainer.prepare(
            generator, discriminators, optimizer_g, optimizer_d, loader, *schedulers
        )

        def begin_pass(passes: int) -> None:  # a fresh draw of sequences every pass, seeded by its number
            dataset.epoch = passes

        batches, train_clips = trainer.batches(loader, begin_pass), len(dataset.clips)
        validation_count = len(chunks)
        described = (
            f"{train_clips} training clips ({len(dataset)} sequences per epoch), {len(chunks)} validation chunks"
        )
    trainer.start(
        generator,
        f"{described} of {args.validation_clip_frames} frames (held-out sources: {', '.join(held_out) or 'none'})",
    )
    levels = list(range(1, syncers.config.num_levels + 1))
    if trainer.is_main_process and eval_syncers is not None and chunks and "ground_truth" not in trainer.history:
        trainer.history["ground_truth"] = ground_truth(eval_syncers, chunks)

    def train_step(batch: dict) -> dict:
        landmarks, audio = batch["landmarks"], batch["audio"]
        warmup, real = landmarks[:, :n_obs], landmarks[:, n_obs:]
        output = generator(warmup, audio)  # one rollout serves the critic (detached) and the generator step
        fake = output.positions[:, n_obs:].detach()
        # one critic pass over [real; fake] (DDP wants one forward per backward); pairs stay within a half
        scores = discriminators(torch.cat([warmup, warmup]), torch.cat([real, fake]))
        loss_d = sum(hinge_discriminator_loss(*s.chunk(2)) for s in scores.to_tuple())
        trainer.optimizer_step(loss_d, optimizer_d, scheduler_d)
        scores = discriminators(warmup, output.positions[:, n_obs:])
        loss_adversarial = sum(hinge_generator_loss(s) for s in scores.to_tuple())
        loss_sync, _ = multiscale_sync_loss(syncers, output.positions, audio, sync_levels)
        loss_g = loss_adversarial + args.sync_weight * loss_sync
        if args.reconstruction_weight:
            spread = trainer.accelerator.unwrap_model(generator).landmark_std.view(-1, 2)  # in standardised units
            loss_g = loss_g + args.reconstruction_weight * ((output.positions[:, n_obs:] - real) / spread).pow(2).mean()
        with gradients_kept(discriminators):  # the generator's backward passes through the critic
            trainer.optimizer_step(loss_g, optimizer_g, scheduler_g)
        return {"generator_adversarial": loss_adversarial, "discriminator": loss_d, "sync": loss_sync}

    def sample(step: int) -> None:
        if trainer.is_main_process and chunks:
            render_sample(
                trainer.accelerator.unwrap_model(generator),
                next(iter(chunks)),
                trainer.output_dir / "samples" / f"step-{step:07d}.mp4",
            )

    validation = Validation(
        lambda g: validate(g, eval_syncers, chunks),
        args.validation_steps,
        metric="av_conf_1",
        best_dir="best_generator",
        plot=lambda out, history: save_plots(out, history, levels),
        describe=lambda r: ", ".join(
            f"L{level} conf {r[f'av_conf_{level}']:.2f} off {r[f'av_off_{level}']:.1f}" for level in levels
        ),
    )
    trainer.fit(
        batches,
        train_step,
        [generator, discriminators],
        validation if eval_syncers is not None and chunks else None,
        on_checkpoint=sample,
    )
    if trainer.is_main_process:
        trainer.export(
            {
                "held_out_sources": held_out,
                "train_clips": train_clips,
                "validation_clips": validation_count,
                "ground_truth": trainer.history.get("ground_truth"),
                "sync_levels": sync_levels,
                "single_branch": args.single_branch,
            },
            best_dir="best_generator",
        )
    trainer.end()


if __name__ == "__main__":
    main()
