#!/usr/bin/env python
"""Train the mouth-motion model: phones + mel per video frame -> mouth shapes.

    accelerate launch examples/train_mouth_motion.py --dataset DATASET --output_dir runs/mouth-motion \
        --validation_sources OpenTalker__video-retalking,smeetrs__deep_avsr
    accelerate launch examples/train_mouth_motion.py --output_dir runs/mouth-motion --resume_from_checkpoint latest
    ... --use_phones False     # the mel-only row of the benchmark tables
    ... --validation_fraction 0 --max_steps N --output_gain G   # the final run on every training clip, with the
                               # step count and gain a validation run chose

Samples are random windows of ``--window`` frames; the loss is the squared error of the mouth's
displacement from the clip's mean shape (face-frame units, points 48-67). Phones are decoded from
each clip's audio with pocketsphinx when the dataset has no ``phones`` column (about 30 s for 11
minutes). Validation on held-out sources measures **lip-follow** (the correlation of predicted and
real inner-lip opening, :mod:`talkhead.metrics.lip_follow`) and keeps the best weights by it. At the
end the output gain is fitted on the validation clips so that predicted openings vary as much as
real ones (regression to the mean halves them otherwise), and the rest pose (mean displacement of
silent frames) is stored for still photos.

The raw clips' audio-video sync is not verified, and 18 of the 31 training clips turned out 1 to 7 frames
off; ``--align_offsets`` (default) finds each training clip's offset with the phone table
(:mod:`talkhead.data.av_offsets`) and pairs the sound with the mouth it caused. Held-out lip-follow went
from 0.33 to 0.43 with it (RESULTS.md). Validation clips are never shifted.

``--streaming`` reads a dataset bigger than memory (``talkhead preprocess --shard I/N`` Parquet shards) as it
goes, each of ``accelerate launch --num_processes N``'s processes its own part, and resumes mid-pass exactly
(:mod:`talkhead.training.streamed_motion`); the offsets are then undone at preprocessing (``--av-offset-model``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from talkhead.processing.phones import DEFAULT_PHONE_DECODER, PHONE_LOOP_DECODER
from talkhead.training.motion_clips import MouthShapeTrainingArguments


@dataclass
class MouthMotionTrainingArguments(MouthShapeTrainingArguments):
    opening_loss_weight: float = field(default=0.0, metadata={"help": "extra weight on the inner-lip gap"})
    phone_decoder: str = field(
        default=DEFAULT_PHONE_DECODER,
        metadata={
            "help": "allphone (phone loop) or words (recognised words' phones aligned to the audio; about 4x real time)"
        },
    )
    correlation_loss_weight: float = field(
        default=0.0,
        metadata={
            "help": "weight of 1 - correlation of predicted and real inner-lip gap per window (lip-follow as a loss)"
        },
    )
    time_stretch: float = field(default=0.0, metadata={"help": "play windows at a random rate in [1-s, 1+s]"})
    band_warp: float = field(default=0.0, metadata={"help": "warp the mel bands by a random factor in [1-w, 1+w]"})
    mel_normalization: str = field(
        default="mean",
        metadata={"help": "mel normalisation: mean or mean_std per clip, or running (a streamable model's)"},
    )
    look_ahead: int | None = field(
        default=None,
        metadata={
            "help": "future frames a prediction may read (a streamable model for live avatars, with "
            "--mel_normalization running --phone_decoder live); default: as many as past ones"
        },
    )
    ensemble_size: int | None = field(default=None, metadata={"help": "overrides the preset's ensemble size"})
    align_offsets: bool = field(
        default=True,
        metadata={
            "help": "undo the training clips' audio-video offsets "
            "(found with the phone table; validation clips stay as they are)"
        },
    )
    output_gain: float | None = field(
        default=None,
        metadata={
            "help": "set the output gain instead of fitting it on the validation clips (for a final run on every "
            "clip, with --validation_fraction 0: the gain a validation run fitted)"
        },
    )
    sync_expert: str | None = field(
        default=None,
        metadata={
            "help": "a mouth-sync expert (folder) whose judgement is added to the loss (frozen); train it on the same "
            "training sources, never on the validation ones"
        },
    )
    sync_loss: str = field(
        default="stabilized",
        metadata={
            "help": "stabilized (Yaman et al.'s L_ss: be as in sync as the real mouth) or plain "
            "(-log cosine, Wav2Lip's)"
        },
    )
    sync_loss_weight: float = field(default=0.0, metadata={"help": "weight of the sync loss (0: off)"})
    window: int = field(default=100, metadata={"help": "frames per training sample"})
    checkpointing_steps: int = field(default=1000)


@torch.no_grad()
def evaluate_clips(model, clips, gain: float = 1.0) -> dict:
    """Lip-follow, std ratio and displacement MSE of the model on whole clips (eval mode, given gain)."""
    from talkhead.metrics.lip_follow import lip_follow, std_ratio
    from talkhead.processing.mouth import shape_inner_lip_opening

    follows, ratios, errors, names = [], [], [], []
    for clip in clips:  # once: streamed validation clips are read again at every pass
        names.append(clip.clip_id)
        predicted = model.predict(clip.features) / model.config.output_gain * gain
        errors.append(float(((predicted - clip.displacements) ** 2).sum((-1, -2)).mean()))
        generated = shape_inner_lip_opening(clip.mean_shape + predicted)
        real = shape_inner_lip_opening(clip.mean_shape + clip.displacements)
        follows.append(lip_follow(generated, real))
        ratios.append(std_ratio(generated, real))
    return {
        "lip_follow": float(np.nanmean(follows)),
        "std_ratio": float(np.nanmean(ratios)),
        "mse": float(np.mean(errors)),
        "per_clip_lip_follow": {name: round(f, 4) for name, f in zip(names, follows, strict=True)},
    }


def fit_gain(model, clips) -> float:
    """The output gain at which predicted inner-lip openings vary as much as real ones (mean std ratio 1)."""
    gain = 1.0
    for _ in range(4):  # the opening is nearly linear in the gain; a few fixed-point steps settle it
        ratio = evaluate_clips(model, clips, gain)["std_ratio"]
        if not np.isfinite(ratio) or ratio <= 0:
            break
        gain /= ratio
    return float(np.clip(gain, 0.5, 4.0))


def expert_windows(sequence: torch.Tensor, window: int, stride: int = 5) -> torch.Tensor:
    """(B, T, ...) -> (B, N, window, ...): windows of ``window`` frames every ``stride`` frames."""
    return sequence.unfold(1, window, stride).movedim(-1, 2)


def sync_loss(expert, raw: torch.Tensor, batch: dict, rest: torch.Tensor, kind: str) -> torch.Tensor:
    """The frozen mouth-sync expert's verdict on predicted displacements ``raw`` (B, T, 20, 2) against the audio.

    ``stabilized``: L_ss (losses.stabilized_sync_loss) with y = the real mouth's cosine with the audio and d = the
    rest pose's (a mouth that does not move): the prediction should be exactly as much in sync as the real
    mouth, no more (an expert can be fooled by exaggerated motion) and no less. ``plain``: -log cosine.
    Windows that reach into padding are left out.
    """
    from talkhead.losses import lipsync_loss, stabilized_sync_loss

    window = expert.config.window
    valid = expert_windows(batch["mask"], window).amin(-1) > 0
    audio = expert.embed_audio(expert_windows(batch["audio_features"], window)[valid])
    x = (expert.embed_mouth(expert_windows(raw, window)[valid]) * audio).sum(-1)
    if kind == "plain":
        return lipsync_loss(x)
    with torch.no_grad():
        y = (expert.embed_mouth(expert_windows(batch["labels"], window)[valid]) * audio).sum(-1)
        d = (expert.embed_mouth(rest.expand(1, window, *rest.shape)) * audio).sum(-1)  # one still window, every audio
    return stabilized_sync_loss(x, y, d)


def save_plots(output_dir: Path, history: dict) -> None:
    from talkhead.training.plots import plot_curves

    plot_curves(
        output_dir / "plots" / "loss.png",
        {"training loss": history["train"].get("loss", [])},
        "training loss",
        "loss",
        smooth=5,
    )
    plot_curves(
        output_dir / "plots" / "validation_lip_follow.png",
        {"validation": [(s, r["lip_follow"]) for s, r in history["validation"]]},
        "held-out lip-follow (predicted vs real inner-lip opening)",
        "Pearson r",
    )


def build_config(args):
    from talkhead.models.mouth_motion import MouthMotionConfig

    return MouthMotionConfig.from_preset_or_file(
        args.model_config,
        use_phones=args.use_phones,
        use_mel=args.use_mel,
        phone_decoder=args.phone_decoder,
        opening_loss_weight=args.opening_loss_weight,
        correlation_loss_weight=args.correlation_loss_weight,
        mel_normalization=args.mel_normalization,
        look_ahead=args.look_ahead,
        **args.model_overrides("ensemble_size"),
    )


def load_expert(args, config):
    """The frozen mouth-sync expert of ``--sync_loss_weight`` and the rest pose it compares against (or None, None)."""
    if not args.sync_loss_weight:
        return None, None
    from talkhead.models.mouth_sync import MouthSyncModel

    args.require_choice("sync_loss", ("stabilized", "plain"))
    if not args.sync_expert:
        raise SystemExit("error: --sync_loss_weight needs --sync_expert (a mouth-sync expert folder)")
    expert = MouthSyncModel.from_pretrained(args.sync_expert).eval().requires_grad_(False)
    inputs = {"use_phones": True, "use_mel": True, "mel_normalization": "mean", "phone_decoder": PHONE_LOOP_DECODER}

    def reads(model_config) -> dict:  # a config without a field reads that field's default
        return {k: getattr(model_config, k, default) for k, default in inputs.items()}

    if reads(expert.config) != reads(config):
        raise SystemExit(
            f"error: the sync expert {args.sync_expert} reads other audio features ("
            + ", ".join(f"{k}={v}" for k, v in reads(expert.config).items())
            + ") than this model"
        )
    # the rest pose as a displacement from the mean: what a mouth that does not move would show
    return expert, torch.as_tensor(np.asarray(config.silence_displacement, np.float32).reshape(-1, 2))


def final_model(trainer, model, validation_clips):
    """The best validated weights (or the last) with the output gain given or fitted on the validation clips."""
    from talkhead.models.mouth_motion import MouthMotionModel

    best = trainer.output_dir / "best_model"
    model = MouthMotionModel.from_pretrained(best) if best.exists() else trainer.accelerator.unwrap_model(model)
    if trainer.args.output_gain is not None:
        model.config.output_gain = trainer.args.output_gain
    elif validation_clips:
        model.config.output_gain = round(fit_gain(model, validation_clips), 4)
    return model


@dataclass
class TrainingData:
    loader: torch.utils.data.DataLoader
    validation: list
    held_out: list[str]
    rest_pose: np.ndarray
    opening_std: float  # a typical training speaker's opening spread (config.speech_opening_std)
    describe: str
    train_clips: int | None = None  # None when streamed (not counted)
    begin_pass: object = None


def in_memory_data(args, config) -> TrainingData:
    """Every clip loaded, offsets undone, windows drawn afresh each pass (replayed exactly on resume)."""
    from talkhead.data.mouth_windows import MouthWindowDataset, silence_displacement, speech_opening_std
    from talkhead.training.loop import seeded_loader
    from talkhead.training.motion_clips import prepare_motion_clips

    train_clips, validation_clips, held_out = prepare_motion_clips(args, config)
    dataset = MouthWindowDataset(
        train_clips,
        args.window,
        seed=args.seed,
        time_stretch=args.time_stretch,
        band_warp=args.band_warp,
        mel_columns=config.mel_columns,
    )
    loader = seeded_loader(dataset, args.batch_size, args)

    def begin_pass(passes: int) -> None:  # a fresh draw of windows every pass, seeded by the step it began at
        dataset.epoch = passes * len(loader)

    opening_std = speech_opening_std([c.mean_shape + c.displacements for c in train_clips])
    return TrainingData(
        loader,
        validation_clips,
        held_out,
        silence_displacement(train_clips),
        opening_std,
        f"{len(train_clips)} training clips",
        len(train_clips),
        begin_pass,
    )


def streamed_data(args, config, trainer) -> TrainingData:
    """Clips streamed from the Parquet shards, this process's part (see talkhead.training.streamed_motion)."""
    from functools import partial

    from talkhead.data.mouth_windows import window_sample
    from talkhead.training.streamed_motion import streamed_motion_data

    if args.time_stretch or args.band_warp:
        raise SystemExit("error: --streaming draws plain windows; drop --time_stretch and --band_warp")
    from talkhead.training.streamed_data import stream_description

    data = streamed_motion_data(trainer, config, partial(window_sample, window=args.window))
    phones = "stored phones" if data.stored_phones else "phones decoded as clips arrive"
    trainer.print(
        f"streaming: audio-video offsets are not searched (undo them with `talkhead preprocess "
        f"--av-offset-model`); {phones}"
    )
    return TrainingData(
        data.windows.loader(args.batch_size),
        data.validation,
        data.held_out,
        data.rest_pose,
        data.opening_std,
        stream_description(trainer),
    )


def main(argv=None) -> None:
    from talkhead.errors import TalkheadInputError
    from talkhead.models.mouth_motion import MouthMotionModel
    from talkhead.training.accelerator_setup import build_scheduler
    from talkhead.training.checkpoints import parse_arguments
    from talkhead.training.loop import Trainer, Validation

    args = parse_arguments(MouthMotionTrainingArguments, argv)
    args.require_data_and_output()
    trainer = Trainer(args, "mouth-motion")
    config = build_config(args)
    try:
        data = streamed_data(args, config, trainer) if args.streaming else in_memory_data(args, config)
    except (TalkheadInputError, ValueError) as err:
        raise SystemExit(f"error: {err}") from err
    config.silence_displacement = data.rest_pose.reshape(-1).round(5).tolist()
    config.speech_opening_std = round(data.opening_std, 5)
    model = MouthMotionModel(config)
    expert, rest = load_expert(args, config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    if args.streaming:  # each process streams its own part: the loader is not handed to accelerate
        model, optimizer, scheduler = trainer.prepare(model, optimizer, build_scheduler(optimizer, args))
    else:
        model, optimizer, data.loader, scheduler = trainer.prepare(
            model, optimizer, data.loader, build_scheduler(optimizer, args)
        )
    validation_clips, held_out = data.validation, data.held_out
    trainer.start(
        model,
        f"{data.describe}, {len(validation_clips)} validation clips (held-out sources: "
        f"{', '.join(held_out) or 'none'}); inputs: {'phones ' if args.use_phones else ''}"
        f"{'mel' if args.use_mel else ''}; {sum(p.numel() for p in model.parameters())} parameters",
    )
    batches = trainer.stream_batches(data.loader) if args.streaming else trainer.batches(data.loader, data.begin_pass)

    def train_step(batch: dict) -> dict:
        output = model(**batch)
        loss = output.loss
        if expert is not None:
            loss = loss + args.sync_loss_weight * sync_loss(expert, output.displacements, batch, rest, args.sync_loss)
        trainer.optimizer_step(loss, optimizer, scheduler)
        return {"loss": loss}

    validation = Validation(
        lambda m: evaluate_clips(m, validation_clips),
        args.validation_steps,
        metric="lip_follow",
        plot=save_plots,
        describe=lambda r: (
            f"held-out lip-follow {r['lip_follow']:.3f}, std ratio {r['std_ratio']:.2f}, mse {r['mse']:.5f}"
        ),
    )
    trainer.fit(batches, train_step, [model], validation if validation_clips else None)
    if trainer.is_main_process:
        final = final_model(trainer, model, validation_clips)
        calibrated = evaluate_clips(final, validation_clips, final.config.output_gain) if validation_clips else None
        trainer.export(
            {
                "held_out_sources": held_out,
                "train_clips": data.train_clips,
                "validation_clips": len(validation_clips),
                "use_phones": args.use_phones,
                "use_mel": args.use_mel,
                "output_gain": final.config.output_gain,
                "validation_at_gain": calibrated,
            },
            final,
            best_dir=None,
        )
    trainer.end()


if __name__ == "__main__":
    main()
