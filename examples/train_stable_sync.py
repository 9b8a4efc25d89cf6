#!/usr/bin/env python
"""Train the stabilized-sync face generators (Yaman et al., stabilized sync, ECCV, §3.1-3.5).

    accelerate launch examples/train_stable_sync.py --stage silent-lip --dataset DATASET \
        --avsyncnet hub_configs/avsyncnet-small --output_dir runs/stable-sync-silent-lip
    accelerate launch examples/train_stable_sync.py --stage talking-face --dataset DATASET \
        --avsyncnet hub_configs/avsyncnet-small --silent_lip runs/stable-sync-silent-lip \
        --output_dir runs/stable-sync-face

Stage ``silent-lip`` trains G_S as a reconstruction GAN: L = L_GAN + 10 L_pixel + 1 L_per. Stage
``talking-face`` trains G_L with the frozen G_S making closed-lip identity references (G_S of the
reference frame with silent audio): L = L_GAN + 10 L_pixel + 1 L_per + 2 L_sync + 0.5 L_at, where
``--sync_loss stabilized`` is L_ss (the paper), ``lipsync`` the plain -log AVSIM baseline and ``none``
turns it off. Both use the frozen AVSyncNet audio tower as the generator's audio encoder.

``--sync_loss av_hubert --av_hubert DIR`` is the AV-HuBERT lip-sync loss of Yaman et al. (AV-HuBERT expert,
CVPRW, §3.4-3.5) with a converted lip-reading AV-HuBERT (``python -m talkhead.models.av_hubert.convert_av_hubert``),
weight 0.5 (their eq. 3) unless ``--sync_weight`` says otherwise, in the variant ``--av_hubert_variant``:
``unsupervised`` (generated lips against the window's audio; the paper's), ``visual_visual`` or ``multimodal`` (its
ablations). APPROXIMATION (our choice): the dataset holds 96x96 faces only, so the mouth crops come from a fixed box
of each face (``talkhead.losses.face_mouth_rois``) instead of the landmark-warped crops of the pasted-back full frame
(Yaman et al., AV-HuBERT expert, Fig. 3), and AV-HuBERT sees the 5-frame window alone instead of the whole clip
around it. Their recipe also drops L_at (``--triplet_weight 0``) and uses an L2 perceptual loss (ours stays L1).

``--init_generator`` starts from another checkpoint's weights (we start G_L from G_S to save CPU time;
the paper trains G_L from scratch).

Without ``--vgg19 FILE`` (a torchvision VGG-19 state dict) the perceptual weight is 0 and L_at uses the
frozen AVSyncNet image-tower embedding of the 5-frame window instead of VGG relu5_1 features.
Validation on held-out sources reports SSIM, PSNR and the AVSIM of generated windows; each checkpoint
saves a sample grid (rows: pose input, identity input, generated, ground truth).

``--streaming`` reads a dataset bigger than memory (``talkhead preprocess --faces --shard I/N`` Parquet shards) as
it goes, each of ``accelerate launch --num_processes N``'s processes its own part, and resumes mid-pass exactly
(:mod:`talkhead.training.streamed_data`); validation draws its windows from the first 200 held-out clips again at
each validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from talkhead.processing.audio import MEL_BANDS, MEL_SILENCE, MEL_WINDOW
from talkhead.training.arguments import TrainingRunArguments


@dataclass
class StableSyncTrainingArguments(TrainingRunArguments):
    dataset: str | None = field(default=None, metadata={"help": "folder written by `talkhead preprocess --faces`"})
    stage: str = field(default="talking-face", metadata={"help": "silent-lip (G_S) or talking-face (G_L)"})
    avsyncnet: str = field(default="avsyncnet-small", metadata={"help": "frozen AVSyncNet (audio encoder, sync loss)"})
    silent_lip: str | None = field(
        default="stable-sync-silent-lip", metadata={"help": "frozen G_S (talking-face stage)"}
    )
    generator_config: str = field(default="small", metadata={"help": "preset (paper, small, tiny) or config.json"})
    init_generator: str | None = field(
        default=None,
        metadata={"help": "start from this generator checkpoint's weights (e.g. G_S for G_L: a warm start, ours)"},
    )
    discriminator_config: str = field(default="small")
    sync_loss: str = field(
        default="stabilized",
        metadata={
            "help": "stabilized (L_ss), lipsync (plain), av_hubert (Yaman et al. CVPRW; needs --av_hubert) or none"
        },
    )
    av_hubert: str | None = field(
        default=None,
        metadata={
            "help": "converted AV-HuBERT folder for --sync_loss av_hubert "
            "(python -m talkhead.models.av_hubert.convert_av_hubert); "
            "its mouth crops are an approximation: a fixed box of the 96x96 face, not landmark-warped full frames"
        },
    )
    av_hubert_variant: str = field(
        default="unsupervised", metadata={"help": "unsupervised, visual_visual or multimodal"}
    )
    vgg19: str | None = field(default=None, metadata={"help": "torchvision VGG-19 state dict for L_per and L_at"})
    pixel_weight: float = field(default=10.0)
    perceptual_weight: float = field(default=1.0)
    sync_weight: float | None = field(
        default=None,
        metadata={
            "help": "weight of the sync term: 2 by default (L_ss, P-SS eq. 5), 0.5 with --sync_loss av_hubert "
            "(P-AVH eq. 3)"
        },
    )
    triplet_weight: float = field(default=0.5)
    gan_weight: float = field(default=1.0)
    validation_samples: int = field(default=64)
    batch_size: int = field(default=16, metadata={"help": "windows of 5 frames per step"})
    learning_rate: float = field(default=1e-4)
    max_steps: int = field(default=200_000)
    validation_steps: int = field(default=500)
    ema_decay: float = field(
        default=0.999, metadata={"help": "EMA of the generator's weights (0: none); kept where it validates better"}
    )


SYNC_LOSSES = ("stabilized", "lipsync", "av_hubert", "none")


class FaceLosses:
    """Everything frozen that the generator's losses look through: AVSyncNet, G_S, VGG-19, AV-HuBERT."""

    def __init__(self, args, avsyncnet, silent_lip, vgg, av_hubert=None):
        self.args, self.avsyncnet, self.silent_lip, self.vgg = args, avsyncnet, silent_lip, vgg
        self.av_hubert = av_hubert

    def identity_inputs(self, reference: torch.Tensor) -> torch.Tensor:
        """(B, 5, 3, 96, 96) reference frames -> the identity input: as is (G_S) or closed-lip by G_S (G_L)."""
        if self.silent_lip is None:
            return reference
        from talkhead.models.stable_sync import mask_lower_half

        flat = reference.flatten(0, 1)
        mel = torch.full((len(flat), 1, MEL_BANDS, MEL_WINDOW), MEL_SILENCE, device=flat.device)  # the mel of silence
        with torch.no_grad():
            return self.silent_lip(flat, mask_lower_half(flat), mel).images.view_as(reference)

    def generator_terms(self, generated, target, identity, mel, av_hubert_audio=None) -> dict[str, torch.Tensor]:
        """The weighted loss terms of Yaman et al. (stabilized sync, eq. 5) except the GAN term.

        Windows are (B, 5, 3, 96, 96), ``av_hubert_audio`` (B, 5, 104) for ``--sync_loss av_hubert``."""
        from talkhead.losses import (
            adaptive_triplet_loss,
            av_hubert_sync_loss,
            face_mouth_rois,
            lipsync_loss,
            perceptual_loss,
            stabilized_sync_loss,
        )

        args = self.args
        terms = {"pixel": args.pixel_weight * (generated - target).abs().mean()}
        if self.vgg is not None and args.perceptual_weight:
            terms["perceptual"] = args.perceptual_weight * perceptual_loss(
                self.vgg, generated.flatten(0, 1), target.flatten(0, 1)
            )
        if args.stage == "talking-face" and args.sync_loss == "av_hubert":
            # mouth crops (B, 5, 88, 88) from a fixed box of the 96x96 faces (our choice: the dataset has no frames)
            terms["sync"] = args.sync_weight * av_hubert_sync_loss(
                self.av_hubert,
                face_mouth_rois(generated),
                audio=av_hubert_audio,
                target=face_mouth_rois(target),
                variant=args.av_hubert_variant,
            )
        elif args.stage == "talking-face" and args.sync_loss != "none":
            audio = self.avsyncnet.embed_audio(mel)
            cosine = torch.nn.functional.cosine_similarity
            x = cosine(self.avsyncnet.embed_faces(generated), audio, dim=-1)
            if args.sync_loss == "lipsync":
                terms["sync"] = args.sync_weight * lipsync_loss(x)
            else:
                with torch.no_grad():
                    y = cosine(self.avsyncnet.embed_faces(target), audio, dim=-1)
                    d = cosine(self.avsyncnet.embed_faces(identity), audio, dim=-1)
                terms["sync"] = args.sync_weight * stabilized_sync_loss(x, y, d)
        if args.stage == "talking-face" and args.triplet_weight:
            features = self.triplet_features
            with torch.no_grad():
                t, r = features(target), features(identity)
            terms["triplet"] = args.triplet_weight * adaptive_triplet_loss(features(generated), t, r)
        return terms

    def triplet_features(self, windows: torch.Tensor) -> torch.Tensor:
        """φ of L_at: per-frame VGG-19 relu5_1 maps, or (without VGG) the AVSyncNet image embedding of each window."""
        if self.vgg is not None:
            return self.vgg(windows.flatten(0, 1))[-1]
        return self.avsyncnet.embed_faces(windows)


def generate(generator, losses: FaceLosses, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(generated, target, identity input) windows, each (B, 5, 3, 96, 96)."""
    from talkhead.models.stable_sync import mask_lower_half

    target = batch["target"]
    identity = losses.identity_inputs(batch["reference"])
    out = generator(identity.flatten(0, 1), mask_lower_half(target.flatten(0, 1)), batch["frame_mels"].flatten(0, 1))
    return out.images.view_as(target), target, identity


@torch.no_grad()
def validate(generator, losses: FaceLosses, batches) -> dict:
    from talkhead.metrics.image import psnr, ssim

    generator.eval()
    rows = {"ssim": [], "psnr": [], "avsim": []}
    for batch in batches:
        generated, target, _ = generate(generator, losses, batch)
        fake, real = generated.flatten(0, 1), target.flatten(0, 1)
        rows["ssim"].append(ssim(fake, real))
        rows["psnr"].append(psnr(fake, real))
        rows["avsim"].append(float(losses.avsyncnet(generated, batch["mel"]).scores.mean()))
    generator.train()
    return {key: float(np.mean(values)) for key, values in rows.items()}


def save_sample_grid(generator, losses: FaceLosses, batch: dict, path: Path) -> Path:
    """Rows: masked pose input, identity input, generated, ground truth (5 frames of up to 2 windows)."""
    import cv2

    from talkhead.models.stable_sync import mask_lower_half

    with torch.no_grad():
        generated, target, identity = generate(generator.eval(), losses, {k: v[:2] for k, v in batch.items()})
    generator.train()
    rows = [mask_lower_half(target), identity, generated, target]
    grid = torch.cat([torch.cat(list(r.flatten(0, 1)), dim=-1) for r in rows], dim=-2)  # (3, 4 * 96, 10 * 96)
    image = (grid.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


def load_frozen(args, accelerator):
    from talkhead.backbones.vgg import load_vgg19
    from talkhead.hub import load_pretrained
    from talkhead.models.avsyncnet import AVSyncNet
    from talkhead.models.stable_sync import StableSyncFaceGenerator

    avsyncnet = load_pretrained(AVSyncNet, args.avsyncnet).eval().requires_grad_(False).to(accelerator.device)
    silent_lip = None
    if args.stage == "talking-face":
        if not args.silent_lip:
            raise SystemExit("error: the talking-face stage needs --silent_lip (a G_S checkpoint)")
        silent_lip = (
            load_pretrained(StableSyncFaceGenerator, args.silent_lip)
            .eval()
            .requires_grad_(False)
            .to(accelerator.device)
        )
    vgg = load_vgg19(args.vgg19).to(accelerator.device) if args.vgg19 else None
    av_hubert = None
    if args.sync_loss == "av_hubert" and args.stage == "talking-face":
        from talkhead.models.av_hubert import AVHubertModel

        av_hubert = load_pretrained(AVHubertModel, args.av_hubert).eval().requires_grad_(False).to(accelerator.device)
    return FaceLosses(args, avsyncnet, silent_lip, vgg, av_hubert)


def build_generator(args, losses):
    """G_S or G_L with the frozen AVSyncNet audio tower, from ``--init_generator``'s weights when given."""
    from talkhead.models.stable_sync import StableSyncFaceGenerator, StableSyncFaceGeneratorConfig

    generator_config = StableSyncFaceGeneratorConfig.from_preset_or_file(
        args.generator_config, audio_encoder=losses.avsyncnet.config.to_diff_dict()
    )
    generator = StableSyncFaceGenerator(generator_config)
    if args.init_generator:
        from talkhead.hub import load_pretrained

        start = load_pretrained(StableSyncFaceGenerator, args.init_generator)
        if start.config.width_multiplier != generator_config.width_multiplier:
            raise SystemExit(
                f"error: --init_generator {args.init_generator} has width {start.config.width_multiplier}, "
                f"--generator_config {args.generator_config} {generator_config.width_multiplier}"
            )
        generator.load_state_dict(start.state_dict())
    generator.load_audio_encoder(losses.avsyncnet)
    return generator


def check_arguments(args) -> None:
    if args.stage not in ("silent-lip", "talking-face") or args.sync_loss not in SYNC_LOSSES:
        raise SystemExit(
            f"error: --stage silent-lip|talking-face and --sync_loss {'|'.join(SYNC_LOSSES)} "
            f"(got {args.stage!r}, {args.sync_loss!r})"
        )
    if args.sync_loss == "av_hubert" and args.stage == "talking-face":
        from talkhead.losses import AV_HUBERT_VARIANTS

        if not args.av_hubert or args.av_hubert_variant not in AV_HUBERT_VARIANTS:
            raise SystemExit(
                f"error: --sync_loss av_hubert needs --av_hubert (a converted AV-HuBERT folder) and "
                f"--av_hubert_variant {'|'.join(AV_HUBERT_VARIANTS)} "
                f"(got {args.av_hubert!r}, {args.av_hubert_variant!r})"
            )
    if args.sync_weight is None:
        args.sync_weight = 0.5 if args.sync_loss == "av_hubert" else 2.0


def main(argv=None) -> None:
    from talkhead.errors import TalkheadInputError
    from talkhead.losses import nonsaturating_discriminator_loss, nonsaturating_generator_loss
    from talkhead.models.stable_sync import FaceDiscriminator, FaceDiscriminatorConfig
    from talkhead.training.accelerator_setup import build_scheduler
    from talkhead.training.checkpoints import parse_arguments
    from talkhead.training.loop import Trainer, Validation, gradients_kept
    from talkhead.training.stable_sync_data import load_datasets

    args = parse_arguments(StableSyncTrainingArguments, argv)
    args.require_data_and_output()
    check_arguments(args)
    trainer = Trainer(args, args.stage)
    dataset, validation, validation_clips, held_out = load_datasets(args, trainer)
    try:
        losses = load_frozen(args, trainer.accelerator)
    except (TalkheadInputError, ValueError) as err:
        raise SystemExit(f"error: {err}") from err
    generator = build_generator(args, losses)
    discriminator = FaceDiscriminator(FaceDiscriminatorConfig.from_preset_or_file(args.discriminator_config))
    betas = (0.5, 0.999)
    trainable = [p for p in generator.parameters() if p.requires_grad]
    optimizer_g = torch.optim.Adam(trainable, lr=args.learning_rate, betas=betas)
    optimizer_d = torch.optim.Adam(discriminator.parameters(), lr=args.learning_rate, betas=betas)
    schedulers = build_scheduler(optimizer_g, args), build_scheduler(optimizer_d, args)
    if args.streaming:  # each process streams its own part: the loader is not handed to accelerate
        from talkhead.data.face_windows import collate_stored

        validation_batches = validation
        generator, discriminator, optimizer_g, optimizer_d, scheduler_g, scheduler_d = trainer.prepare(
            generator, discriminator, optimizer_g, optimizer_d, *schedulers
        )
        batches = trainer.stream_batches(dataset.loader(args.batch_size, collate_stored))
    else:
        # the shuffle of pass p is drawn from its own generator seeded with (seed, p), not from the global one
        # dropout uses: a resumed run finds the order of its pass again and the dropout stream of an uninterrupted run
        order = torch.Generator()
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_size=args.batch_size,
            shuffle=True,
            drop_last=True,
            num_workers=args.num_workers,
            generator=order,
        )
        # after the models: iterating a loader draws from the global generator their initial weights come from
        validation_batches = (
            list(torch.utils.data.DataLoader(validation, batch_size=args.batch_size)) if validation else []
        )
        generator, discriminator, optimizer_g, optimizer_d, loader, scheduler_g, scheduler_d = trainer.prepare(
            generator, discriminator, optimizer_g, optimizer_d, loader, *schedulers
        )

        def begin_pass(passes: int) -> None:
            dataset.epoch = passes + 1
            order.manual_seed(args.seed * 1_000_003 + passes)

        batches = trainer.batches(loader, begin_pass)
    train_clips = None if args.streaming else len(dataset.clips)
    trainer.start(
        generator,
        f"{args.stage}: {train_clips or 'streamed'} training clips, {validation_clips} validation clips "
        f"(held-out: {', '.join(held_out) or 'none'}); perceptual loss "
        f"{'on' if losses.vgg is not None else 'off (no --vgg19)'}",
    )

    def train_step(batch: dict) -> dict:
        generated, target, identity = generate(generator, losses, batch)
        real_logits = discriminator(target.flatten(0, 1)).logits
        fake_logits = discriminator(generated.detach().flatten(0, 1)).logits
        loss_d = nonsaturating_discriminator_loss(real_logits, fake_logits)
        trainer.optimizer_step(loss_d, optimizer_d, scheduler_d)
        terms = losses.generator_terms(generated, target, identity, batch["mel"], batch.get("av_hubert_audio"))
        terms["gan"] = args.gan_weight * nonsaturating_generator_loss(discriminator(generated.flatten(0, 1)).logits)
        with gradients_kept(discriminator):
            trainer.optimizer_step(sum(terms.values()), optimizer_g, scheduler_g)
        return {**terms, "discriminator": loss_d}

    def sample(step: int) -> None:
        if trainer.is_main_process and validation_batches:
            save_sample_grid(
                trainer.accelerator.unwrap_model(generator),
                losses,
                next(iter(validation_batches)),
                trainer.output_dir / "samples" / f"step-{step:07d}.png",
            )

    validation = Validation(
        lambda g: validate(g, losses, validation_batches),
        args.validation_steps,
        metric="ssim",
        best_dir="best_generator",
        plot=save_plots,
        describe=lambda r: f"SSIM {r['ssim']:.3f}, PSNR {r['psnr']:.2f} dB, AVSIM {r['avsim']:.3f}",
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
                "stage": args.stage,
                "sync_loss": args.sync_loss,
                "perceptual": losses.vgg is not None,
                "held_out_sources": held_out,
                **(
                    {"av_hubert": args.av_hubert, "av_hubert_variant": args.av_hubert_variant}
                    if losses.av_hubert is not None
                    else {}
                ),
                "train_clips": train_clips,
                "validation_clips": validation_clips,
            },
            best_dir="best_generator",
        )
    trainer.end()


def save_plots(output_dir: Path, history: dict) -> None:
    from talkhead.training.plots import plot_curves

    plot_curves(output_dir / "plots" / "losses.png", history["train"], "weighted loss terms", "loss", smooth=10)
    plot_curves(
        output_dir / "plots" / "validation.png",
        {k: [(step, r[k]) for step, r in history["validation"]] for k in ("ssim", "avsim")},
        "validation on held-out sources",
        "value",
    )


if __name__ == "__main__":
    main()
