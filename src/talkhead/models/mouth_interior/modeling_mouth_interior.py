"""The mouth-interior generator: fills the inside of the lips of a mouth crop with teeth, tongue and
throat, lit like the person.

The talking-face U-Net of "Audio-driven Talking Face Generation with Stabilized Synchronization Loss" (Yaman et
al., ECCV 2024; :mod:`talkhead.models.stable_sync`) edits a video's lower face from audio. A photo that talks needs
something narrower: the warp of the photo (:mod:`talkhead.pipelines.talking_head`) already puts lips, jaw and skin
where the landmarks say, and only what the photo never showed (the inside of a mouth opened wider than in the
photo) must be made up. So the same residual FE/FD blocks are laid out as an inpainter of mouth crops
(:mod:`talkhead.processing.mouth_crops`):

* input: the crop with the inner-lip region (the target landmarks' polygon, grown) blanked, the mask itself,
  and a reference mouth of the same person (the photo's own, in the pipeline);
* output: the crop, generated inside the mask and the input outside it (:attr:`MouthInteriorOutput.images`),
  so nothing outside the lips changes.

Where we differ from the paper: no audio tower and no sync loss (the landmarks fix the opening; the sync of
the motion is the mouth-motion model's job), a mask instead of a lower-half blank, four scales at 64 px of
mouth instead of six at 96 px of face, and the reference enters only at the two coarsest scales. Trained with
L1, an image-gradient L1 that keeps edges, and a patch discriminator (``examples/train_mouth_interior.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.utils import spectral_norm
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from ..blocks import init_weights
from ..configuration_utils import ShippedModelMixin
from ..stable_sync.modeling_stable_sync import ResidualUpDownBlock, conv_bn
from .configuration_mouth_interior import MouthInteriorConfig

REFERENCE_SCALES = 2  # the reference's coarsest maps that join the decoder


def crop_to_tensor(crop) -> torch.Tensor:
    """(S, S, 3) uint8 mouth crop -> (3, S, S) float32 in [0, 1], as the generator reads it (a copy: dataset crops
    are read-only views)."""
    return torch.from_numpy(np.array(crop)).permute(2, 0, 1).float() / 255.0


class CropEncoder(nn.Module):
    """Stem at full size, then stride-2 residual FE blocks: the maps of every scale, finest first."""

    def __init__(self, in_channels: int, widths: list[int]):
        super().__init__()
        self.stem = conv_bn(in_channels, widths[0], 5)
        self.blocks = nn.ModuleList(ResidualUpDownBlock(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps = [self.stem(x)]
        for block in self.blocks:
            maps.append(block(maps[-1]))
        return maps


@dataclass
class MouthInteriorOutput(ModelOutput):
    """Args: images: (B, 3, S, S) the crops with their masked region generated, in [0, 1]; generated: (B, 3, S, S)
    the network's whole output (what it would put everywhere)."""

    images: torch.Tensor | None = None
    generated: torch.Tensor | None = None


class MouthInteriorPreTrainedModel(ShippedModelMixin, PreTrainedModel):
    config_class = MouthInteriorConfig
    base_model_prefix = "mouth_interior"
    main_input_name = "crops"

    def _init_weights(self, module: nn.Module) -> None:
        init_weights(module, self.config.initializer_range, weighted=(nn.Linear,))


class MouthInteriorGenerator(MouthInteriorPreTrainedModel):
    """(mouth crops, inner-lip masks, reference mouths) -> the crops with the inside of the lips generated."""

    def __init__(self, config: MouthInteriorConfig):
        super().__init__(config)
        widths = config.widths
        self.crop_encoder = CropEncoder(4, widths)
        self.reference_encoder = CropEncoder(3, widths) if config.use_reference else None
        extra = [0] * len(widths)
        if config.use_reference:
            for level in range(len(widths) - REFERENCE_SCALES, len(widths)):
                extra[level] = widths[level]
        self.bottleneck = conv_bn(widths[-1] + extra[-1], widths[-1], 3)
        self.up_blocks = nn.ModuleList()
        channels = widths[-1]
        for level in range(len(widths) - 2, -1, -1):  # from the second-coarsest scale up to full size
            self.up_blocks.append(ResidualUpDownBlock(channels, widths[level], up=True))
            channels = widths[level] * 2 + extra[level]
        self.fuse = conv_bn(channels, widths[0], 3)
        self.to_rgb = nn.Conv2d(widths[0], 3, 3, padding=1)
        self.post_init()

    def encode_reference(self, references: torch.Tensor) -> list[torch.Tensor | None]:
        """The reference maps :meth:`forward` reads (computed once for a video whose reference does not change);
        None at the scales that read no reference."""
        if self.reference_encoder is None:
            raise ValueError(
                "this mouth-interior generator reads no reference mouth (its config has use_reference=False): "
                "do not call encode_reference on it"
            )
        maps = self.reference_encoder(references)
        return [None] * (len(maps) - REFERENCE_SCALES) + maps[-REFERENCE_SCALES:]

    def forward(
        self,
        crops: torch.Tensor,
        masks: torch.Tensor,
        references: torch.Tensor | None = None,
        reference_maps: list[torch.Tensor | None] | None = None,
    ) -> MouthInteriorOutput:
        """``crops`` (B, 3, S, S) and ``references`` (B, 3, S, S) in [0, 1]; ``masks`` (B, 1, S, S) in [0, 1], 1 where
        the mouth's inside is to be generated. ``reference_maps`` (from :meth:`encode_reference`, batch 1 or B)
        replace ``references``."""
        masks = masks.to(crops.dtype)
        blanked = crops * (1 - masks)
        maps = self.crop_encoder(torch.cat([blanked, masks], 1))
        if self.reference_encoder is None:
            reference_maps = None
        elif reference_maps is None:
            if references is None:
                raise ValueError("this mouth-interior generator reads a reference mouth: pass references=")
            reference_maps = self.encode_reference(references)
        if reference_maps is not None:
            reference_maps = [None if m is None else m.expand(len(crops), -1, -1, -1) for m in reference_maps]

        def with_reference(level: int, x: torch.Tensor) -> torch.Tensor:
            if reference_maps is None or level < len(maps) - REFERENCE_SCALES:
                return x
            reference = reference_maps[level]
            assert reference is not None  # encode_reference leaves None only at the scales returned above
            return torch.cat([x, reference], 1)

        x = self.bottleneck(with_reference(len(maps) - 1, maps[-1]))
        for index, block in enumerate(self.up_blocks):
            level = len(maps) - 2 - index
            x = with_reference(level, torch.cat([block(x), maps[level]], 1))
        generated = torch.sigmoid(self.to_rgb(self.fuse(x)))
        return MouthInteriorOutput(images=blanked + generated * masks, generated=generated)


class MouthPatchDiscriminator(nn.Module):
    """Real/fake logits per patch of a mouth crop (spectral-normalised strided convolutions; training only).

    With ``with_mask`` the inner-lip mask is a fourth input channel: the critic knows which pixels were generated
    and judges them against the real lips around them. :meth:`features` gives every layer's activations, for a
    feature-matching loss (a perceptual loss learnt on our own mouths, where no ImageNet network can be had).
    """

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 128), with_mask: bool = False):
        super().__init__()
        self.with_mask = with_mask
        layers, channels = [], 4 if with_mask else 3
        for width in widths:
            layers.append(nn.Sequential(spectral_norm(nn.Conv2d(channels, width, 4, 2, 1)), nn.LeakyReLU(0.2)))
            channels = width
        self.layers = nn.ModuleList(layers)
        self.head = spectral_norm(nn.Conv2d(channels, 1, 3, 1, 1))

    def features(self, images: torch.Tensor, masks: torch.Tensor | None = None) -> list[torch.Tensor]:
        """The activations of every layer, the logits last."""
        x = images * 2 - 1
        if self.with_mask:
            if masks is None:
                raise ValueError("this discriminator reads the inner-lip mask: pass masks=")
            x = torch.cat([x, masks.to(x.dtype)], 1)
        maps = []
        for layer in self.layers:
            x = layer(x)
            maps.append(x)
        return [*maps, self.head(x)]

    def forward(self, images: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        return self.features(images, masks)[-1]
