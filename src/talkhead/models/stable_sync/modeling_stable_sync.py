"""The stabilized-sync talking-face U-Net and its face discriminator (Yaman et al., "Audio-driven Talking Face
Generation with Stabilized Synchronization Loss", ECCV 2024, §3.1-3.3).

`StableSyncFaceGenerator` is both G_S (the silent-lip generator, trained first as a reconstruction GAN)
and G_L (the talking-face generator trained with the stabilized sync loss): two checkpoints of one
class. Faces are 96x96 RGB in [0, 1], one frame per batch item (windows are folded into the batch).

Where we differ: layer sizes are our own where the paper is silent (widths 32 to 512, the residual placement
in the FE/FD blocks, skips that concatenate both encoders' maps), and ``width_multiplier`` scales them so a CPU
can train the `small` preset. The audio encoder is the AVSyncNet audio tower, frozen and kept in eval mode; its
512-d (or preset-sized) output is taken before the ReLU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import spectral_norm
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from ..avsyncnet.modeling_avsyncnet import AudioTower
from ..blocks import init_weights
from ..configuration_utils import ShippedModelMixin
from .configuration_stable_sync import FaceDiscriminatorConfig, StableSyncFaceGeneratorConfig


def mask_lower_half(faces: torch.Tensor) -> torch.Tensor:
    """The pose reference: faces (..., 3, H, W) with rows H/2..H-1 set to 0 (Yaman et al., stabilized sync, §3.1)."""
    masked = faces.clone()
    masked[..., faces.shape[-2] // 2 :, :] = 0
    return masked


def conv_bn(
    in_channels: int,
    out_channels: int,
    kernel: int,
    stride: int = 1,
    padding: int | None = None,
    relu: bool = True,
    transposed: bool = False,
    output_padding: int = 0,
) -> nn.Sequential:
    padding = kernel // 2 if padding is None else padding
    conv = (
        nn.ConvTranspose2d(in_channels, out_channels, kernel, stride, padding, output_padding, bias=False)
        if transposed
        else nn.Conv2d(in_channels, out_channels, kernel, stride, padding, bias=False)
    )
    layers = [conv, nn.BatchNorm2d(out_channels)]
    return nn.Sequential(*layers, nn.ReLU()) if relu else nn.Sequential(*layers)


class ResidualUpDownBlock(nn.Module):
    """FE (strided conv) or FD (transposed conv) block: resample -> conv-BN-ReLU -> conv-BN -> + resampled -> ReLU."""

    def __init__(self, in_channels: int, out_channels: int, up: bool = False, first_up: bool = False):
        super().__init__()
        if up:
            stride, padding, output_padding = (1, 0, 0) if first_up else (2, 1, 1)
            self.resample = conv_bn(
                in_channels, out_channels, 3, stride, padding, transposed=True, output_padding=output_padding
            )
        else:
            self.resample = conv_bn(in_channels, out_channels, 3, 2)
        self.body = nn.Sequential(
            conv_bn(out_channels, out_channels, 3), conv_bn(out_channels, out_channels, 3, relu=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.resample(x)
        return torch.relu(self.body(f) + f)


class FaceEncoder(nn.Module):
    """E_I / E_P: 3x96x96 -> maps e0 (96) .. e5 (3) and the 1x1 code e6 (Yaman et al., stabilized sync, §3.3;
    sizes our choice, as the paper gives none)."""

    def __init__(self, config: StableSyncFaceGeneratorConfig):
        super().__init__()
        widths = [config.width(c) for c in config.encoder_widths]
        self.stem = conv_bn(3, widths[0], 7)
        self.blocks = nn.ModuleList(ResidualUpDownBlock(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
        self.code = conv_bn(widths[-1], widths[-1], 3, padding=0)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        maps = [self.stem(x)]
        for block in self.blocks:
            maps.append(block(maps[-1]))
        return maps, self.code(maps[-1])


@dataclass
class FaceGeneratorOutput(ModelOutput):
    """Args: images: (B, 3, 96, 96) generated faces in [0, 1]; audio_embeddings: (B, A) frozen audio codes."""

    images: torch.Tensor | None = None
    audio_embeddings: torch.Tensor | None = None


class StableSyncFaceGeneratorPreTrainedModel(ShippedModelMixin, PreTrainedModel):
    config_class = StableSyncFaceGeneratorConfig
    base_model_prefix = "stable_sync_face_generator"
    main_input_name = "identity"

    def _init_weights(self, module: nn.Module) -> None:
        init_weights(module, self.config.initializer_range, weighted=(nn.Linear,))


class StableSyncFaceGenerator(StableSyncFaceGeneratorPreTrainedModel):
    """(identity face, lower-half-masked pose face, 16-frame mel window) -> face with the mouth for the audio."""

    def __init__(self, config: StableSyncFaceGeneratorConfig):
        super().__init__(config)
        w = config.width
        self.identity_encoder = FaceEncoder(config)
        self.pose_encoder = FaceEncoder(config)
        self.audio_encoder = AudioTower(config.audio_config).requires_grad_(False)
        code = w(512)
        self.fusion = conv_bn(2 * code, code, 1)
        audio_dim = config.audio_config.embed_dim
        skips = [w(c) for c in config.encoder_widths]  # e0 .. e5
        outs = [w(512), w(512), w(256), w(128), w(64), w(32)]  # d6 .. d1
        blocks = [ResidualUpDownBlock(code + audio_dim, outs[0], up=True, first_up=True)]
        for index in range(1, 6):
            blocks.append(ResidualUpDownBlock(outs[index - 1] + 2 * skips[6 - index], outs[index], up=True))
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Sequential(conv_bn(outs[-1] + 2 * skips[0], w(32), 3), nn.Conv2d(w(32), 3, 1), nn.Sigmoid())
        self.post_init()
        # a new module trains: without this the frozen tower's batch norm moved until .train()
        self.audio_encoder.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        self.audio_encoder.eval()  # frozen: its batch-norm statistics never move
        return self

    def load_audio_encoder(self, avsyncnet) -> None:
        """Copy the trained AVSyncNet audio tower in (it stays frozen)."""
        self.audio_encoder.load_state_dict(avsyncnet.audio_tower.state_dict())

    def forward(self, identity: torch.Tensor, pose: torch.Tensor, mel: torch.Tensor, return_dict: bool | None = None):
        """identity, pose: (B, 3, 96, 96) in [0, 1] (pose with its lower half masked); mel: (B, 1, 80, 16)."""
        identity_maps, identity_code = self.identity_encoder(identity)
        pose_maps, pose_code = self.pose_encoder(pose)
        with torch.no_grad():
            audio = self.audio_encoder(mel if mel.dim() == 4 else mel[:, None], relu=False)
        x = torch.cat([self.fusion(torch.cat([identity_code, pose_code], 1)), audio[..., None, None]], 1)
        x = self.decoder[0](x)
        for index, block in enumerate(self.decoder[1:], start=1):
            x = block(torch.cat([x, pose_maps[6 - index], identity_maps[6 - index]], 1))
        images = self.head(torch.cat([x, pose_maps[0], identity_maps[0]], 1))
        output = FaceGeneratorOutput(images=images, audio_embeddings=audio)
        return output if return_dict is not False else output.to_tuple()


@dataclass
class FaceDiscriminatorOutput(ModelOutput):
    """Args: logits: (B,) real/fake logit per face."""

    logits: torch.Tensor | None = None


class FaceDiscriminatorPreTrainedModel(ShippedModelMixin, PreTrainedModel):
    config_class = FaceDiscriminatorConfig
    base_model_prefix = "stable_sync_face_discriminator"
    main_input_name = "faces"

    def _init_weights(self, module: nn.Module) -> None:
        init_weights(module, self.config.initializer_range, weighted=(nn.Linear,))


class FaceDiscriminator(FaceDiscriminatorPreTrainedModel):
    """Seven spectral-normalised strided convs 96 -> 1 with LeakyReLU(0.2), then a 1x1 SN-conv to one logit
    (Yaman et al., AV-HuBERT expert, §3.6; widths and kernels our choice, as the paper gives none)."""

    def __init__(self, config: FaceDiscriminatorConfig):
        super().__init__(config)
        w = config.width
        widths = [3] + [w(c) for c in (64, 128, 256, 512, 512, 512, 512)]
        shapes = [(4, 2, 1)] * 5 + [(3, 2, 1), (2, 2, 0)]
        layers = []
        pairs = zip(widths[:-1], widths[1:], strict=True)
        for (c_in, c_out), (kernel, stride, padding) in zip(pairs, shapes, strict=True):
            layers += [spectral_norm(nn.Conv2d(c_in, c_out, kernel, stride, padding)), nn.LeakyReLU(0.2)]
        layers.append(spectral_norm(nn.Conv2d(widths[-1], 1, 1)))
        self.layers = nn.Sequential(*layers)
        self.post_init()

    def forward(self, faces: torch.Tensor, return_dict: bool | None = None):
        output = FaceDiscriminatorOutput(logits=self.layers(faces).flatten())
        return output if return_dict is not False else output.to_tuple()
