#!/usr/bin/env python
"""Train the mouth-motion model (issue #14): phones + mel per video frame -> mouth shapes.

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
class MouthMotionTrainingArguments(TrainingRunArguments):
    model_config: str = field(default="small", metadata={"help": "preset (small, tiny) or config.json"})
    use_phones: bool = field(default=True, metadata={"help": "read the pocketsphinx phone features"})
    use_mel: bool = field(default=True, metadata={"help": "read the per-frame mel"})
    opening_loss_weight: float = field(default=0.0, metadata={"help": "extra weight on the inner-lip gap"})
    correlation_loss_weight: float = field(default=0.0, metadata={
        "help": "weight of 1 - correlation of predicted and real inner-lip gap per window (lip-follow as a loss)"})
    time_stretch: float = field(default=0.0, metadata={"help": "play windows at a random rate in [1-s, 1+s]"})
    band_warp: float = field(default=0.0, metadata={"help": "warp the mel bands by a random factor in [1-w, 1+w]"})
    mel_normalization: str = field(default="mean", metadata={"help": "per-clip mel normalisation: mean or mean_std"})
    hidden_size: int | None = field(default=None, metadata={"help": "overrides the preset's channels"})
    dropout: float | None = field(default=None, metadata={"help": "overrides the preset's dropout"})
    input_dropout: float | None = field(default=None, metadata={"help": "overrides the preset's input dropout"})
    ensemble_size: int | None = field(default=None, metadata={"help": "overrides the preset's ensemble size"})
    align_offsets: bool = field(default=True, metadata={"help": "undo the training clips' audio-video offsets "
                                                                  "(found with the phone table; validation clips stay as they are)"})
    max_offset: int = field(default=8, metadata={"help": "largest offset searched, in frames"})
    output_gain: float | None = field(default=None, metadata={
        "help": "set the output gain instead of fitting it on the validation clips (for a final run on every "
                "clip, with --validation_fraction 0: the gain a validation run fitted)"})
    sync_expert: str | None = field(default=None, metadata={
        "help": "a mouth-sync expert (folder) whose judgement is added to the loss (frozen); train it on the same "
                "training sources, never on the validation ones"})
    sync_loss: str = field(default="stabilized", metadata={
        "help": "stabilized (Yaman et al.'s L_ss: be as in sync as the real mouth) or plain (-log cosine, Wav2Lip's)"})
    sync_loss_weight: float = field(default=0.0, metadata={"help": "weight of the sync loss (0: off)"})
    window: int = field(default=100, metadata={"help": "frames per training sample"})
    batch_size: int = field(default=32)
    learning_rate: float = field(default=1e-3)
    weight_decay: float = field(default=1e-2)
    max_steps: int = field(default=6000)
    validation_steps: int = field(default=250)
    checkpointing_steps: int = field(default=1000)


@torch.no_grad()
def evaluate_clips(model, clips, gain: float = 1.0) -> dict:
    """Lip-follow, std ratio and displacement MSE of the model on whole clips (eval mode, given gain)."""
    from talkhead.metrics.lip_follow import lip_follow, std_ratio
    from talkhead.processing.mouth import shape_inner_lip_opening

    follows, ratios, errors = [], [], []
    for clip in clips:
        predicted = model.predict(clip.features) / model.config.output_gain * gain
        errors.append(float(((predicted - clip.displacements) ** 2).sum((-1, -2)).mean()))
        generated = shape_inner_lip_opening(clip.mean_shape + predicted)
        real = shape_inner_lip_opening(clip.mean_shape + clip.displacements)
        follows.append(lip_follow(generated, real))
        ratios.append(std_ratio(generated, real))
    return {"lip_follow": float(np.nanmean(follows)), "std_ratio": float(np.nanmean(ratios)), "mse": float(np.mean(errors)),
            "per_clip_lip_follow": {c.clip_id: round(f, 4) for c, f in zip(clips, follows)}}


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

    plot_curves(output_dir / "plots" / "loss.png", {"training loss": history["train"]}, "training loss", "loss", smooth=5)
    plot_curves(output_dir / "plots" / "validation_lip_follow.png",
                {"validation": [(s, r["lip_follow"]) for s, r in history["validation"]]},
                "held-out lip-follow (predicted vs real inner-lip opening)", "Pearson r")


def prepare_clips(args, config):
    from talkhead.data.av_offsets import clip_offsets
    from talkhead.data.clips import load_training_clips
    from talkhead.data.mouth_windows import clip_phones, motion_clip

    train, validation, held_out = load_training_clips(args.dataset, args.split, args.validation_sources,
                                                      args.validation_fraction, args.seed)
    cache_path = Path(args.output_dir) / "phones_cache.npz"  # decoding is the slow part of a (re)start
    lags = [0] * len(train)
    if args.align_offsets:
        lags, details = clip_offsets(train, cache_path, args.max_offset)
        report = {c.clip_id: {"source": c.source, **d} for c, d in zip(train, details)}
        (Path(args.output_dir) / "av_offsets.json").write_text(json.dumps(report, indent=1))
        print(f"audio-video offsets undone in {sum(lag != 0 for lag in lags)} of {len(train)} training clips "
              f"(frames: {sorted(lag for lag in lags if lag)})")
    cache = dict(np.load(cache_path)) if cache_path.exists() else {}
    for clip in validation + ([] if args.align_offsets else train):
        if clip.clip_id not in cache:
            cache[clip.clip_id] = clip_phones(clip)
    np.savez_compressed(cache_path, **cache)
    train_clips = [motion_clip(c, config, cache[c.clip_id], lag) for c, lag in zip(train, lags)]
    validation_clips = [motion_clip(c, config, cache[c.clip_id]) for c in validation]
    return train_clips, validation_clips, held_out


def main(argv=None) -> None:
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm

    from talkhead.data.mouth_windows import MouthWindowDataset, silence_displacement
    from talkhead.errors import TalkheadInputError
    from talkhead.models.mouth_motion import MouthMotionConfig, MouthMotionModel
    from talkhead.models.mouth_motion.configuration_mouth_motion import MEL_BANDS
    from talkhead.training.checkpoints import (
        load_checkpoint,
        parse_arguments,
        push_to_hub,
        resolve_checkpoint,
        save_arguments,
        save_checkpoint,
        save_final,
    )

    args = parse_arguments(MouthMotionTrainingArguments, argv)
    args.require_data_and_output()
    accelerator = Accelerator()
    set_seed(args.seed + accelerator.process_index)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    overrides = {k: v for k, v in (("hidden_size", args.hidden_size), ("dropout", args.dropout),
                                   ("input_dropout", args.input_dropout),
                                   ("ensemble_size", args.ensemble_size)) if v is not None}
    config = MouthMotionConfig.from_preset_or_file(args.model_config, use_phones=args.use_phones, use_mel=args.use_mel,
                                                   opening_loss_weight=args.opening_loss_weight,
                                                   correlation_loss_weight=args.correlation_loss_weight,
                                                   mel_normalization=args.mel_normalization, **overrides)
    try:
        train_clips, validation_clips, held_out = prepare_clips(args, config)
        mel_columns = slice(config.input_size - MEL_BANDS, config.input_size) if config.use_mel else None
        dataset = MouthWindowDataset(train_clips, args.window, seed=args.seed, time_stretch=args.time_stretch,
                                     band_warp=args.band_warp, mel_columns=mel_columns)
    except (TalkheadInputError, ValueError) as err:
        raise SystemExit(f"error: {err}") from err
    config.silence_displacement = silence_displacement(train_clips).reshape(-1).round(5).tolist()
    model = MouthMotionModel(config)
    expert, rest = None, None
    if args.sync_loss_weight:
        from talkhead.models.mouth_sync import MouthSyncModel

        if args.sync_loss not in ("stabilized", "plain"):
            raise SystemExit(f"error: --sync_loss must be stabilized or plain, got {args.sync_loss!r}")
        if not args.sync_expert:
            raise SystemExit("error: --sync_loss_weight needs --sync_expert (a mouth-sync expert folder)")
        expert = MouthSyncModel.from_pretrained(args.sync_expert).eval().requires_grad_(False)
        inputs = ("use_phones", "use_mel", "mel_normalization")
        if any(getattr(expert.config, k) != getattr(config, k) for k in inputs):
            raise SystemExit(f"error: the sync expert {args.sync_expert} reads other audio features ("
                             + ", ".join(f"{k}={getattr(expert.config, k)}" for k in inputs) + ") than this model")
        # the rest pose as a displacement from the mean: what a mouth that does not move would show
        rest = torch.as_tensor(np.asarray(config.silence_displacement, np.float32).reshape(-1, 2))
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
        accelerator.print(f"{len(train_clips)} training clips, {len(validation_clips)} validation clips (held-out sources: "
                          f"{', '.join(held_out) or 'none'}); inputs: {'phones ' if args.use_phones else ''}"
                          f"{'mel' if args.use_mel else ''}; {sum(p.numel() for p in model.parameters())} parameters")
    step = 0
    history = {"train": [], "validation": [], "best": None, "wall_seconds": 0.0}
    checkpoint = resolve_checkpoint(output_dir, args.resume_from_checkpoint)
    if checkpoint is not None:
        state = load_checkpoint(accelerator, checkpoint)
        step, history = state["step"], state["history"]
        accelerator.print(f"resumed from {checkpoint} at step {step}")
    started = time.perf_counter() - history["wall_seconds"]
    running = []
    progress = tqdm(total=args.max_steps, initial=step, desc="mouth-motion", disable=not accelerator.is_local_main_process,
                    dynamic_ncols=True)
    while step < args.max_steps:
        # a fresh draw of windows on every pass, seeded by the step the pass began at; a resumed run skips the
        # batches its pass had already given, so it sees the windows an uninterrupted run would
        done = step % len(loader)
        dataset.epoch = step - done
        for batch in accelerator.skip_first_batches(loader, done) if done else loader:
            output = model(**batch)
            loss = output.loss
            if expert is not None:
                loss = loss + args.sync_loss_weight * sync_loss(expert, output.displacements, batch, rest, args.sync_loss)
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            progress.update(1)
            running.append(float(loss))
            if step % args.logging_steps == 0:
                history["train"].append((step, float(np.mean(running))))
                progress.set_postfix(loss=f"{np.mean(running):.4f}", refresh=False)
                running = []
            if validation_clips and step % args.validation_steps == 0 and accelerator.is_main_process:
                result = evaluate_clips(accelerator.unwrap_model(model), validation_clips)
                history["validation"].append((step, {k: v for k, v in result.items() if k != "per_clip_lip_follow"}))
                if history["best"] is None or result["lip_follow"] > history["best"]["lip_follow"]:
                    history["best"] = {"step": step, **result}
                    accelerator.unwrap_model(model).save_pretrained(output_dir / "best_model")
                save_plots(output_dir, history)
                accelerator.print(f"step {step}: held-out lip-follow {result['lip_follow']:.3f}, std ratio "
                                  f"{result['std_ratio']:.2f}, mse {result['mse']:.5f}")
            if step % args.checkpointing_steps == 0 or step >= args.max_steps:
                history["wall_seconds"] = time.perf_counter() - started
                save_checkpoint(accelerator, output_dir, step, {"history": history}, args.checkpoints_total_limit)
            if step >= args.max_steps:
                break
    progress.close()
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        model = accelerator.unwrap_model(model)
        if (output_dir / "best_model").exists():
            model = MouthMotionModel.from_pretrained(output_dir / "best_model")
        if args.output_gain is not None:
            model.config.output_gain = args.output_gain
        elif validation_clips:
            model.config.output_gain = round(fit_gain(model, validation_clips), 4)
        if validation_clips:
            calibrated = evaluate_clips(model, validation_clips, model.config.output_gain)
        summary = {"steps": step, "wall_seconds": round(time.perf_counter() - started, 1), "held_out_sources": held_out,
                   "train_clips": len(train_clips), "validation_clips": len(validation_clips),
                   "use_phones": args.use_phones, "use_mel": args.use_mel, "best": history["best"],
                   "output_gain": model.config.output_gain,
                   "validation_at_gain": calibrated if validation_clips else None}
        final = save_final(model, output_dir, summary)
        if history["validation"]:
            save_plots(output_dir, history)
        accelerator.print(json.dumps({k: v for k, v in summary.items() if k != "best"}, indent=1))
        if args.push_to_hub:
            push_to_hub(final, args.hub_model_id, output_dir)
    accelerator.end_training()


if __name__ == "__main__":
    main()
