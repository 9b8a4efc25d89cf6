#!/usr/bin/env python
"""Train the mouth-interior generator: teeth, tongue and throat inside the lips of a talking photo.

    talkhead preprocess RAW -o DATASET --mouths --test-sources ...      # the 64x64 mouth crops it trains on
    accelerate launch examples/train_mouth_interior.py --dataset DATASET --output_dir runs/mouth-interior \
        --validation_sources OpenTalker__video-retalking,smeetrs__deep_avsr
    accelerate launch examples/train_mouth_interior.py --output_dir runs/mouth-interior --resume_from_checkpoint latest

A sample is a mouth crop with its inner lips (the target landmarks' polygon, grown) blanked, and a reference
mouth of the same person from another moment (:mod:`talkhead.data.mouth_interior_samples`). The loss is L1 inside
the mask, the L1 of its image gradients (``--gradient_weight``: edges stay where the teeth are) and, from
``--gan_start_step`` on, a hinge patch discriminator (``--gan_weight``) that punishes the grey average L1 alone
settles on. Validation on held-out sources measures the L1 inside the mask, the sharpness (variance of the
Laplacian inside the mask, generated over real) and the teeth share (:func:`talkhead.metrics.mouth_quality.teeth_share`
on the crop), and keeps the weights with the lowest ``interior_error`` = L1 x (1 + |ln sharpness ratio| + |ln teeth
ratio|): an L1 bought with a smear, or a mouth without teeth, does not win. ``--init_from`` continues from trained
weights; ``--feature_matching_weight`` adds pix2pixHD's feature matching on the discriminator's activations (a
perceptual loss learnt on mouths: no ImageNet network can be had here) and ``--discriminator_mask`` shows the
discriminator which pixels were generated.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from talkhead.training.arguments import TrainingRunArguments


@dataclass
class MouthInteriorTrainingArguments(TrainingRunArguments):
    model_config: str = field(default="small", metadata={"help": "preset (small, tiny) or config.json"})
    batch_size: int = field(default=16)
    learning_rate: float = field(default=2e-4)
    discriminator_learning_rate: float = field(default=2e-4)
    weight_decay: float = field(default=0.0)
    max_steps: int = field(default=8000)
    samples_per_pass: int = field(default=16000, metadata={"help": "samples drawn per pass over the data"})
    init_from: str | None = field(
        default=None,
        metadata={"help": "start the generator from these weights (a model folder or name, e.g. mouth-interior)"},
    )
    l1_weight: float = field(default=1.0, metadata={"help": "weight of the L1 inside the mask"})
    gradient_weight: float = field(default=1.0, metadata={"help": "weight of the image-gradient L1"})
    gan_weight: float = field(default=0.05, metadata={"help": "weight of the patch discriminator's loss (0: none)"})
    feature_matching_weight: float = field(
        default=0.0,
        metadata={"help": "weight of the L1 between the discriminator's activations on real and generated crops"},
    )
    discriminator_mask: bool = field(
        default=False,
        metadata={
            "help": "give the discriminator the inner-lip mask as a fourth channel (it knows what was generated), and "
            "count only its patches that hold generated pixels"
        },
    )
    discriminator_layers: int = field(
        default=4,
        metadata={"help": "strided layers of the patch discriminator (3: 8x8 patches of a 64 px crop, 4: 4x4)"},
    )
    gan_start_step: int = field(default=1000, metadata={"help": "steps of L1 alone before the discriminator joins"})
    open_share: float = field(default=0.8, metadata={"help": "share of targets drawn from open-mouth frames"})
    closed_reference_share: float = field(default=0.6, metadata={"help": "share of references from closed frames"})
    validation_steps: int = field(default=250)
    validation_samples: int = field(default=256, metadata={"help": "held-out samples (fixed seed) per validation"})


def validate(model, batches: list[dict]) -> dict:
    """Held-out L1 inside the mask, sharpness and teeth share (generated over real) of the crops."""
    import cv2

    from talkhead.losses import masked_l1_loss
    from talkhead.metrics.mouth_quality import teeth_fraction

    model.eval()
    errors, sharp_generated, sharp_real, teeth_generated, teeth_real = [], [], [], [], []
    with torch.no_grad():
        for batch in batches:
            images = model(batch["crops"], batch["masks"], batch["references"]).images
            errors.append(float(masked_l1_loss(images, batch["crops"], batch["masks"])))
            for image, real, mask in zip(images, batch["crops"], batch["masks"], strict=True):
                inside = mask[0].numpy() > 0.5
                if inside.sum() < 12:
                    continue
                for crop, sharpness, teeth in (
                    (image, sharp_generated, teeth_generated),
                    (real, sharp_real, teeth_real),
                ):
                    rgb = (crop.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
                    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
                    sharpness.append(float(cv2.Laplacian(grey, cv2.CV_64F)[inside].var()))
                    teeth.append(teeth_fraction(rgb[inside]))
    model.train()
    l1 = float(np.mean(errors))
    sharpness_ratio = float(np.sum(sharp_generated) / max(np.sum(sharp_real), 1e-9))
    teeth_ratio = float(np.mean(teeth_generated) / max(np.mean(teeth_real), 1e-9))
    misses = abs(np.log(max(sharpness_ratio, 1e-6))) + abs(np.log(max(teeth_ratio, 1e-6)))
    return {
        "l1": l1,
        "sharpness_ratio": sharpness_ratio,
        "teeth_ratio": teeth_ratio,
        "interior_error": float(l1 * (1 + misses)),
    }


def save_sample_grid(model, batch: dict, path: Path, columns: int = 8) -> Path:
    """Rows: blanked input, reference, generated, real (``columns`` held-out samples)."""
    import cv2

    model.eval()
    with torch.no_grad():
        images = model(batch["crops"][:columns], batch["masks"][:columns], batch["references"][:columns]).images
    model.train()
    crops = batch["crops"][:columns]
    rows = [crops * (1 - batch["masks"][:columns]), batch["references"][:columns], images, crops]
    grid = torch.cat([torch.cat(list(row), dim=-1) for row in rows], dim=-2)
    image = (grid.clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


def save_plots(output_dir: Path, history: dict) -> None:
    from talkhead.training.plots import plot_curves

    plot_curves(
        output_dir / "plots" / "loss.png",
        {k: v for k, v in history["train"].items()},
        "training losses",
        "loss",
        smooth=5,
    )
    for key, label in (
        ("interior_error", "held-out interior error (lower is better)"),
        ("sharpness_ratio", "held-out sharpness, generated / real"),
        ("teeth_ratio", "held-out teeth share, generated / real"),
    ):
        plot_curves(
            output_dir / "plots" / f"validation_{key}.png",
            {"validation": [(s, r[key]) for s, r in history["validation"]]},
            label,
            key,
        )


@dataclass
class TrainingData:
    loader: torch.utils.data.DataLoader
    validation: object  # batches: a list, or streamed ones drawn again at each validation
    validation_clips: int
    held_out: list[str]
    mouth_size: int
    describe: str
    train_clips: int | None = None  # None when streamed (not counted)
    begin_pass: object = None


def in_memory_data(args, config) -> TrainingData:
    from talkhead.data.clips import load_training_clips
    from talkhead.data.mouth_interior_samples import MouthInteriorSamples
    from talkhead.training.loop import seeded_loader

    train_clips, validation_clips, held_out = load_training_clips(
        args.dataset, args.split, args.validation_sources, args.validation_fraction, args.seed
    )
    dataset = MouthInteriorSamples(
        train_clips,
        args.samples_per_pass,
        args.seed,
        args.open_share,
        args.closed_reference_share,
        grow=config.mask_grow,
    )
    held = (
        MouthInteriorSamples(
            validation_clips,
            args.validation_samples,
            args.seed + 1,
            args.open_share,
            args.closed_reference_share,
            augment=False,
            grow=config.mask_grow,
        )
        if validation_clips
        else None
    )
    validation_batches = list(torch.utils.data.DataLoader(held, batch_size=32)) if held is not None else []
    loader = seeded_loader(dataset, args.batch_size, args)

    def begin_pass(passes: int) -> None:
        dataset.epoch = passes

    return TrainingData(
        loader,
        validation_batches,
        len(validation_clips),
        held_out,
        dataset.clips[0].mouths.shape[1],
        f"{len(dataset.clips)} training clips",
        len(dataset.clips),
        begin_pass,
    )


def streamed_data(args, config, trainer) -> TrainingData:
    """Clips streamed from the Parquet shards, this process's part (see talkhead.training.streamed_data)."""
    from functools import partial

    from talkhead.data.mouth_interior_samples import SAMPLE_SPAN, interior_clip, interior_sample
    from talkhead.data.streaming import MOUTH_CROP_COLUMNS, clip_draws
    from talkhead.training.streamed_data import StreamedBatches, stream_description, streamed_split, streamed_windows

    split = streamed_split(args, MOUTH_CROP_COLUMNS)
    shares = {"open_share": args.open_share, "closed_reference_share": args.closed_reference_share}
    sample = partial(interior_sample, **shares, grow=config.mask_grow)
    windows = streamed_windows(trainer, split, clip_draws(interior_clip, sample, SAMPLE_SPAN, args.stream_draws))
    held_sample = partial(interior_sample, **shares, augment=False, grow=config.mask_grow)
    validation = StreamedBatches(
        split.validation_clips(prepare=lambda clip: clip),
        clip_draws(interior_clip, held_sample, SAMPLE_SPAN, args.stream_draws),
        args.validation_samples,
        batch_size=32,
        seed=args.seed + 1,
    )
    first = next(iter(split.first_training_clips(16, prepare=interior_clip)), None)
    if first is None:
        raise ValueError("none of the first 16 training clips has enough frames with a face")
    return TrainingData(
        windows.loader(args.batch_size),
        validation,
        len(validation.clips),
        split.held_out,
        first.mouths.shape[1],
        stream_description(trainer),
    )


def main(argv=None) -> None:
    from talkhead.errors import TalkheadInputError
    from talkhead.losses import (
        feature_matching_loss,
        hinge_discriminator_loss,
        hinge_generator_loss,
        image_gradient_loss,
        masked_l1_loss,
        patch_weights,
    )
    from talkhead.models.mouth_interior import MouthInteriorConfig, MouthInteriorGenerator, MouthPatchDiscriminator
    from talkhead.training.accelerator_setup import build_scheduler
    from talkhead.training.checkpoints import parse_arguments
    from talkhead.training.loop import Trainer, Validation, gradients_kept

    args = parse_arguments(MouthInteriorTrainingArguments, argv)
    args.require_data_and_output()
    trainer = Trainer(args, "mouth-interior")
    config = MouthInteriorConfig.from_preset_or_file(args.model_config)
    try:
        data = streamed_data(args, config, trainer) if args.streaming else in_memory_data(args, config)
    except (TalkheadInputError, ValueError) as err:
        raise SystemExit(f"error: {err}") from err
    if data.mouth_size != config.mouth_size:
        raise SystemExit(
            f"error: the dataset's mouth crops are {data.mouth_size} px, the model reads {config.mouth_size}"
        )
    validation_batches = data.validation
    generator = MouthInteriorGenerator(config)
    if args.init_from:
        from talkhead.hub import load_pretrained

        generator = load_pretrained(MouthInteriorGenerator, args.init_from, dtype=torch.float32)
        if generator.config.mouth_size != config.mouth_size or generator.config.widths != config.widths:
            raise SystemExit(f"error: --init_from {args.init_from} is not a '{args.model_config}' model")
    widths = (32, 64, 128, 128, 128)[: args.discriminator_layers]
    discriminator = MouthPatchDiscriminator(widths=widths, with_mask=args.discriminator_mask)
    optimizer_g = torch.optim.AdamW(
        generator.parameters(), lr=args.learning_rate, betas=(0.5, 0.999), weight_decay=args.weight_decay
    )
    optimizer_d = torch.optim.AdamW(discriminator.parameters(), lr=args.discriminator_learning_rate, betas=(0.5, 0.999))
    if args.streaming:  # each process streams its own part: the loader is not handed to accelerate
        generator, discriminator, optimizer_g, optimizer_d, scheduler = trainer.prepare(
            generator, discriminator, optimizer_g, optimizer_d, build_scheduler(optimizer_g, args)
        )
        batches = trainer.stream_batches(data.loader)
    else:
        generator, discriminator, optimizer_g, optimizer_d, data.loader, scheduler = trainer.prepare(
            generator, discriminator, optimizer_g, optimizer_d, data.loader, build_scheduler(optimizer_g, args)
        )
        batches = trainer.batches(data.loader, data.begin_pass)
    trainer.start(
        generator,
        f"{data.describe}, {data.validation_clips} validation clips (held-out sources: "
        f"{', '.join(data.held_out) or 'none'}); {sum(p.numel() for p in generator.parameters())} parameters",
    )

    def train_step(batch: dict) -> dict:
        crops, masks = batch["crops"], batch["masks"]
        images = generator(crops, masks, batch["references"]).images
        terms = {"l1": args.l1_weight * masked_l1_loss(images, crops, masks)}
        if args.gradient_weight:
            terms["gradient"] = args.gradient_weight * image_gradient_loss(images, crops, masks)
        logged = {}
        if args.gan_weight and trainer.state.step >= args.gan_start_step:
            critic = trainer.accelerator.unwrap_model(discriminator)
            real_scores, fake_scores = discriminator(crops, masks), discriminator(images.detach(), masks)
            weights = patch_weights(masks, real_scores) if args.discriminator_mask else None
            loss_d = hinge_discriminator_loss(real_scores, fake_scores, weights)
            trainer.optimizer_step(loss_d, optimizer_d)
            fake = critic.features(images, masks)
            terms["gan"] = args.gan_weight * hinge_generator_loss(fake[-1], weights)
            if args.feature_matching_weight:
                with torch.no_grad():
                    real = critic.features(crops, masks)
                terms["feature_matching"] = args.feature_matching_weight * feature_matching_loss(real[:-1], fake[:-1])
            logged["discriminator"] = loss_d
        with gradients_kept(discriminator):
            trainer.optimizer_step(sum(terms.values()), optimizer_g, scheduler)
        return {**terms, **logged}

    def sample(step: int) -> None:
        if trainer.is_main_process and validation_batches:
            save_sample_grid(
                trainer.accelerator.unwrap_model(generator),
                next(iter(validation_batches)),
                trainer.output_dir / "samples" / f"step-{step:07d}.png",
            )

    validation = Validation(
        lambda g: validate(g, validation_batches),
        args.validation_steps,
        metric="interior_error",
        higher_is_better=False,
        plot=save_plots,
        describe=lambda r: (
            f"held-out L1 {r['l1']:.4f}, sharpness {r['sharpness_ratio']:.2f}, teeth "
            f"{r['teeth_ratio']:.2f} (generated / real), interior error {r['interior_error']:.4f}"
        ),
    )
    trainer.fit(
        batches,
        train_step,
        [generator, discriminator],
        validation if validation_batches else None,
        on_checkpoint=sample,
    )
    if trainer.is_main_process:
        trainer.export(
            {
                "held_out_sources": data.held_out,
                "train_clips": data.train_clips,
                "validation_clips": data.validation_clips,
            }
        )
    trainer.end()


if __name__ == "__main__":
    sys.exit(main())
