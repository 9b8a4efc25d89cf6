#!/usr/bin/env python
"""Train AVSyncNet (Yaman et al., stabilized sync, §3.4) or the Wav2Lip-style SyncNet expert on face windows.

    accelerate launch examples/train_avsyncnet.py --dataset DATASET --output_dir runs/avsyncnet-small
    accelerate launch examples/train_avsyncnet.py --architecture syncnet --output_dir runs/syncnet-eval ...
    accelerate launch examples/train_avsyncnet.py --output_dir runs/avsyncnet-small --resume_from_checkpoint latest

``--objective offset`` (default; our deviation from the papers' BCE): a sample is M windows of one clip
(``--offset_windows``, 5 faces' lower halves and a 16-frame mel window each) ``--offset_stride``
frames apart; each face window must pick its own audio out of the M (cross-entropy,
losses.offset_classification_loss). With it, ``--mouth_shape_weight`` (default 1) adds an auxiliary
target, also ours: two linear heads, dropped after training, regress the dlib mouth shape of the 5
frames (processing.landmarks.mouth_shape) from the face embedding and from the audio embedding, so
both towers learn what the mouth does before they learn to agree. ``--objective bce`` is the
papers' recipe: the aligned window (label 1) or one at least 5 frames away (label 0). On our
11 minutes, BCE learnt nothing that held out (held-out accuracy 0.5 after 2000 steps). Faces are
jittered (shift, flip, brightness/contrast) unless ``--augment False``. Adam (0.5, 0.999), lr 1e-4.
Validation on held-out sources measures offset accuracy (the aligned audio scores highest of the
M; chance 1/M) and keeps the best weights by it. ``--imagenet_resnet50 FILE`` initialises AVSyncNet's
paper-size image tower from a torchvision ResNet-50 state dict (our choice: ImageNet weights, the first conv
replicated over the 5 frames); without it the towers start from random weights.

``--streaming`` reads a dataset bigger than memory (``talkhead preprocess --faces --shard I/N`` Parquet shards) as
it goes, each of ``accelerate launch --num_processes N``'s processes its own part, and resumes mid-pass exactly
(:mod:`talkhead.training.streamed_data`); validation draws its groups from the first 200 held-out clips again at
each validation, and the mouth-shape target is standardised on the first 64 training clips.
"""

from __future__ import annotations

import json
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
    imagenet_resnet50: str | None = field(
        default=None, metadata={"help": "torchvision ResNet-50 state dict (paper config)"}
    )
    objective: str = field(default="offset", metadata={"help": "offset (multi-way, ours) or bce (the papers')"})
    align_offsets: bool = field(
        default=False,
        metadata={
            "help": "undo each training clip's audio-video offset first (found with the phone table, "
            "talkhead.data.av_offsets; validation clips stay as they are)"
        },
    )
    offset_windows: int = field(default=8, metadata={"help": "M: windows per offset sample (objective and validation)"})
    offset_stride: int = field(default=2, metadata={"help": "frames between an offset sample's windows"})
    temperature: float = field(default=0.1, metadata={"help": "cosine temperature of the offset objective"})
    mouth_shape_weight: float = field(
        default=1.0, metadata={"help": "auxiliary mouth-shape regression (offset objective)"}
    )
    augment: bool = field(default=True, metadata={"help": "jitter training faces (shift, flip, brightness, contrast)"})
    validation_samples: int = field(default=512)
    batch_size: int = field(
        default=64, metadata={"help": "samples per step (offset objective: groups of M windows each)"}
    )
    learning_rate: float = field(default=1e-4)
    max_steps: int = field(default=300_000)
    validation_steps: int = field(default=500)


def build_model(args):
    from talkhead.models.avsyncnet import AVSyncNet, AVSyncNetConfig
    from talkhead.models.syncnet_expert import SyncNetExpert, SyncNetExpertConfig

    model_class, config_class = {
        "avsyncnet": (AVSyncNet, AVSyncNetConfig),
        "syncnet": (SyncNetExpert, SyncNetExpertConfig),
    }[args.architecture]
    return model_class(config_class.from_preset_or_file(args.model_config))


def embed_groups(model, faces: torch.Tensor, mels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(G, M, D) face and audio embeddings of (G, M, ...) face and mel windows, through the model's ``forward`` (what
    DDP and mixed precision wrap)."""
    output = model(faces.flatten(0, 1), mels.flatten(0, 1))
    return output.face_embeddings.unflatten(0, faces.shape[:2]), output.audio_embeddings.unflatten(0, mels.shape[:2])


def offset_scores(
    model, faces: torch.Tensor, mels: torch.Tensor, temperature: float = 0.1
) -> tuple[torch.Tensor, torch.Tensor]:
    """The offset objective and the (G, M, M) cosines of (G, M, ...) face and mel windows."""
    from talkhead.losses import offset_classification_loss

    return offset_classification_loss(*embed_groups(model, faces, mels), temperature)


class MouthShapeHeads(torch.nn.Module):
    """Linear heads from each tower's embedding to the standardised (5 frames x 3) mouth shape of the window."""

    def __init__(self, embed_dim: int, mean: np.ndarray, std: np.ndarray, frames: int = 5):
        super().__init__()
        self.face = torch.nn.Linear(embed_dim, frames * len(mean))
        self.audio = torch.nn.Linear(embed_dim, frames * len(mean))
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

    def forward(
        self, face_embeddings: torch.Tensor, audio_embeddings: torch.Tensor, mouth: torch.Tensor
    ) -> torch.Tensor:
        target = ((mouth - self.mean) / self.std).flatten(-2)
        mse = torch.nn.functional.mse_loss
        return mse(self.face(face_embeddings), target) + mse(self.audio(audio_embeddings), target)


def mouth_shape_heads(model, clips) -> MouthShapeHeads:
    from talkhead.processing.landmarks import mouth_shape

    shapes = mouth_shape(np.concatenate([clip.landmarks for clip in clips]))
    model.eval()  # a probe of the embedding size must not touch BatchNorm statistics
    with torch.no_grad():
        embed_dim = model.embed_audio(torch.zeros(1, 1, 80, 16)).shape[-1]
    model.train()
    return MouthShapeHeads(embed_dim, shapes.mean(axis=0), shapes.std(axis=0) + 1e-6)


@torch.no_grad()
def validate(model, batches) -> dict:
    from talkhead.metrics.sync import group_offset_scores

    model.eval()
    cosines = torch.cat([offset_scores(model, batch["faces"], batch["mels"])[1] for batch in batches])
    model.train()
    return group_offset_scores(cosines)


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
        {"validation": [(step, r["offset_accuracy"]) for step, r in history["validation"]]},
        "held-out offset accuracy (aligned window ranked first)",
        "accuracy",
        chance=chance,
    )


def align_training_clips(clips, output_dir: Path):
    """The clips with their audio-video offsets undone; the offsets are written to OUTPUT_DIR/av_offsets.json."""
    from talkhead.data.av_offsets import clip_offsets, shift_clip

    output_dir.mkdir(parents=True, exist_ok=True)
    lags, details = clip_offsets(clips, output_dir / "phones_cache.npz")
    report = {c.clip_id: {"source": c.source, **d} for c, d in zip(clips, details, strict=True)}
    (output_dir / "av_offsets.json").write_text(json.dumps(report, indent=1))
    print(f"audio-video offsets undone in {sum(lag != 0 for lag in lags)} of {len(clips)} training clips")
    return [shift_clip(clip, lag) for clip, lag in zip(clips, lags, strict=True)]


@dataclass
class TrainingData:
    loader: torch.utils.data.DataLoader
    validation: object  # an OffsetWindowDataset, None, or streamed batches drawn again at each validation
    validation_clips: int
    held_out: list[str]
    mouth_clips: object  # clips whose mouth shapes standardise the auxiliary target
    describe: str
    train_clips: int | None = None  # None when streamed (not counted)
    begin_pass: object = None


def in_memory_data(args, output_dir: Path) -> TrainingData:
    """The training windows (offset groups or BCE pairs) of every clip loaded, the fixed validation groups."""
    from talkhead.data.clips import load_training_clips
    from talkhead.data.face_windows import OffsetWindowDataset, SyncWindowDataset

    train_clips, validation_clips, held_out = load_training_clips(
        args.dataset, args.split, args.validation_sources, args.validation_fraction, args.seed
    )
    if args.align_offsets:
        train_clips = align_training_clips(train_clips, output_dir)
    if args.objective == "offset":
        dataset = OffsetWindowDataset(
            train_clips, args.offset_windows, args.offset_stride, seed=args.seed, augment=args.augment
        )
    else:
        dataset = SyncWindowDataset(train_clips, seed=args.seed)
    validation = (
        OffsetWindowDataset(
            validation_clips,
            args.offset_windows,
            args.offset_stride,
            samples_per_epoch=args.validation_samples,
            seed=1234,
        )
        if validation_clips
        else None
    )
    # the shuffle of pass p is drawn from its own generator seeded with (seed, p), not from the global one dropout
    # uses: a resumed run finds the order of its pass again and the dropout stream of an uninterrupted run
    order = torch.Generator()
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=args.batch_size, shuffle=True, drop_last=True, num_workers=args.num_workers, generator=order
    )

    def begin_pass(passes: int) -> None:
        dataset.epoch = passes + 1
        order.manual_seed(args.seed * 1_000_003 + passes)

    return TrainingData(
        loader,
        validation,
        len(validation_clips),
        held_out,
        dataset.clips,
        f"{len(dataset.clips)} training clips",
        len(dataset.clips),
        begin_pass,
    )


def streamed_data(args, trainer) -> TrainingData:
    """Clips streamed from the Parquet shards, this process's part (see talkhead.training.streamed_data)."""
    from functools import partial

    from talkhead.data.face_windows import (
        WINDOW,
        collate_stored,
        offset_sample,
        offset_span,
        stored_faces,
        sync_pair_sample,
        usable_clip,
    )
    from talkhead.data.streaming import FACE_COLUMNS, clip_draws
    from talkhead.training.streamed_data import StreamedBatches, stream_description, streamed_split, streamed_windows

    if args.align_offsets:
        raise SystemExit(
            "error: --align_offsets searches every clip at once; with --streaming undo the offsets at preprocessing "
            "(talkhead preprocess --av-offset-model) and drop --align_offsets"
        )
    split = streamed_split(args, FACE_COLUMNS)
    offset_frames = offset_span(args.offset_windows, args.offset_stride)
    if args.objective == "offset":
        sample = partial(offset_sample, windows=args.offset_windows, stride=args.offset_stride, augment=args.augment)
        span = offset_frames
    else:
        sample, span = sync_pair_sample, 2 * WINDOW

    def stored(clip, rng):  # the shuffle buffer holds uint8 faces; loader() batches them as float
        return stored_faces(sample(clip, rng))

    training = clip_draws(partial(usable_clip, min_frames=span), stored, span, args.stream_draws)
    windows = streamed_windows(trainer, split, training)
    held_sample = partial(offset_sample, windows=args.offset_windows, stride=args.offset_stride)
    validation = StreamedBatches(
        split.validation_clips(prepare=lambda clip: clip),
        clip_draws(partial(usable_clip, min_frames=offset_frames), held_sample, offset_frames, args.stream_draws),
        args.validation_samples,
        args.batch_size,
    )
    return TrainingData(
        windows.loader(args.batch_size, collate_stored),
        validation,
        len(validation.clips),
        split.held_out,
        list(split.first_training_clips(64)),
        stream_description(trainer),
    )


def main(argv=None) -> None:
    from talkhead.errors import TalkheadInputError
    from talkhead.losses import offset_classification_loss, sync_bce_loss
    from talkhead.training.accelerator_setup import build_scheduler
    from talkhead.training.checkpoints import parse_arguments
    from talkhead.training.loop import Trainer, Validation

    args = parse_arguments(SyncExpertTrainingArguments, argv)
    args.require_data_and_output()
    args.require_choice("architecture", ("avsyncnet", "syncnet"))
    args.require_choice("objective", ("offset", "bce"))
    trainer = Trainer(args, args.architecture)
    try:
        data = streamed_data(args, trainer) if args.streaming else in_memory_data(args, trainer.output_dir)
    except (TalkheadInputError, ValueError) as err:
        raise SystemExit(f"error: {err}") from err
    model = build_model(args)
    if args.imagenet_resnet50:
        from talkhead.models.avsyncnet import load_imagenet_resnet50

        missing = load_imagenet_resnet50(
            model, torch.load(args.imagenet_resnet50, map_location="cpu", weights_only=True)
        )
        trainer.print(f"image tower initialised from {args.imagenet_resnet50} (not from it: {', '.join(missing)})")
    if args.streaming:
        validation_batches = data.validation
    else:  # after the model: iterating a loader draws from the global generator its initial weights come from
        validation = data.validation
        validation_batches = (
            list(torch.utils.data.DataLoader(validation, batch_size=args.batch_size)) if validation else []
        )
    heads = (
        mouth_shape_heads(model, data.mouth_clips) if args.objective == "offset" and args.mouth_shape_weight else None
    )
    parameters = list(model.parameters()) + (list(heads.parameters()) if heads is not None else [])
    optimizer = torch.optim.Adam(parameters, lr=args.learning_rate, betas=(0.5, 0.999))
    trained = [model] if heads is None else [model, heads]
    if args.streaming:  # each process streams its own part: the loader is not handed to accelerate
        *trained, optimizer, scheduler = trainer.prepare(*trained, optimizer, build_scheduler(optimizer, args))
        batches = trainer.stream_batches(data.loader)
    else:
        *trained, optimizer, data.loader, scheduler = trainer.prepare(
            *trained, optimizer, data.loader, build_scheduler(optimizer, args)
        )
        batches = trainer.batches(data.loader, data.begin_pass)
    model, heads = trained[0], (trained[1] if heads is not None else None)
    trainer.start(
        model,
        f"{data.describe}, {data.validation_clips} validation clips "
        f"(held-out sources: {', '.join(data.held_out) or 'none'}); {args.architecture} {args.model_config}",
    )
    chance = 1 / args.offset_windows

    def train_step(batch: dict) -> dict:
        if args.objective == "offset":
            faces_embedded, audio_embedded = embed_groups(model, batch["faces"], batch["mels"])
            loss = offset_classification_loss(faces_embedded, audio_embedded, args.temperature)[0]
            if heads is not None:
                loss = loss + args.mouth_shape_weight * heads(faces_embedded, audio_embedded, batch["mouth"])
        else:
            loss = sync_bce_loss(model(batch["faces"], batch["mel"]).scores, batch["label"])
        trainer.optimizer_step(loss, optimizer, scheduler)
        return {"loss": loss}

    validation = Validation(
        lambda m: validate(m, validation_batches),
        args.validation_steps,
        metric="offset_accuracy",
        plot=lambda out, history: save_plots(out, history, chance),
        describe=lambda r: (
            f"held-out offset accuracy {r['offset_accuracy']:.3f} (chance {chance:.3f}), cosine aligned "
            f"{r['aligned_cosine']:.3f} shifted {r['shifted_cosine']:.3f}"
        ),
    )
    trainer.fit(batches, train_step, trained, validation if validation_batches else None)
    if trainer.is_main_process:
        trainer.export(
            {
                "architecture": args.architecture,
                "objective": args.objective,
                "offset_windows": args.offset_windows,
                "offset_stride": args.offset_stride,
                "held_out_sources": data.held_out,
                "train_clips": data.train_clips,
                "validation_clips": data.validation_clips,
            }
        )
    trainer.end()


if __name__ == "__main__":
    main()
