"""AVSyncNet (Yaman et al., "Audio-driven Talking Face Generation with Stabilized Synchronization Loss", ECCV 2024,
§3.4).

It scores a window of 5 faces (their lower halves stacked on channels) against a 16-frame log-mel window (200 ms)
by the cosine of ReLU'd embeddings, in [0, 1], trained with BCE. The Wav2Lip SyncNet expert
(:mod:`talkhead.models.syncnet_expert`) reads the same inputs and shares :func:`lower_half_stack` and
:class:`SyncOutput`.

Where we differ: the ResNet-50 image tower is written here (torchvision has no CPU build), so the
ImageNet initialisation (our choice; the paper does not say how its ResNet-50 starts) needs a user-supplied
torchvision ResNet-50 state dict (:func:`load_imagenet_resnet50`); without it the tower starts from random
weights. The `small` preset takes the 96-px lower halves as they are instead of upsampling to 224.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from ..blocks import init_weights
from ..configuration_utils import ShippedModelMixin
from .configuration_avsyncnet import AVSyncNetConfig


def lower_half_stack(faces: torch.Tensor, size: int) -> torch.Tensor:
    """(B, F, 3, H, W) faces in [0, 1] -> (B, 3F, size / 2, size): resized to ``size``, lower halves stacked."""
    batch, frames = faces.shape[:2]
    flat = faces.flatten(0, 1)
    if flat.shape[-1] != size or flat.shape[-2] != size:
        flat = F.interpolate(flat, size=(size, size), mode="bilinear", align_corners=False)
    return flat[..., size // 2 :, :].reshape(batch, frames * 3, size // 2, size)


@dataclass
class SyncOutput(ModelOutput):
    """Embeddings of both towers and their cosine.

    Args:
        face_embeddings: (B, D) non-negative embeddings of the face windows.
        audio_embeddings: (B, D) non-negative embeddings of the mel windows.
        scores: (B,) cosine similarity in [0, 1].
    """

    face_embeddings: torch.Tensor | None = None
    audio_embeddings: torch.Tensor | None = None
    scores: torch.Tensor | None = None


def cosine_scores(face: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    return F.cosine_similarity(face, audio, dim=-1, eps=1e-8)


# ---- ResNet image tower -------------------------------------------------------------------------


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels: int, width: int, stride: int = 1):
        super().__init__()
        out = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.downsample = _projection(in_channels, out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1):
        super().__init__()
        out = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)  # stride on the 3x3, as torchvision
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = _projection(in_channels, out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


def _projection(in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels))


class ResNetImageTower(nn.Module):
    """torchvision's ResNet topology (module names included) with a 3F-channel stem; -> (B, embed_dim), ReLU'd."""

    def __init__(self, config: AVSyncNetConfig):
        super().__init__()
        block = Bottleneck if config.image_block == "bottleneck" else BasicBlock
        self.conv1 = nn.Conv2d(3 * config.num_frames, config.image_stem_width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(config.image_stem_width)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages, current = [], config.image_stem_width
        for index, (width, count) in enumerate(zip(config.image_widths, config.image_layers, strict=False)):
            blocks = []
            for b in range(count):
                blocks.append(block(current, width, 2 if (b == 0 and index > 0) else 1))
                current = width * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layers = nn.ModuleList(stages)
        self.fc = nn.Linear(current, config.embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        for stage in self.layers:
            x = stage(x)
        return F.relu(self.fc(x.mean(dim=(2, 3))))


# ---- ResNetSE audio tower ------------------------------------------------------------------------


class SEBasicBlock(nn.Module):
    """Basic residual block with squeeze-and-excitation (the VoxCeleb trainer's ResNetSE)."""

    def __init__(self, in_channels: int, width: int, stride: int, reduction: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        hidden = max(1, width // reduction)
        self.se = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(width, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, width, 1), nn.Sigmoid()
        )
        self.downsample = _projection(in_channels, width, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        y = y * self.se(y)
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class AudioTower(nn.Module):
    """ResNetSE-34 on a (B, 1, 80, 16) mel window -> (B, embed_dim) (Yaman et al., stabilized sync, §3.4; the
    ResNetSE-34 V2 topology of clovaai/voxceleb_trainer).

    ``forward(..., relu=False)`` returns the embedding before its ReLU: what the face generator's
    frozen audio encoder uses (Yaman et al., stabilized sync, §3.1; our choice to take it before the
    ReLU, which would zero the negative half of the code).
    """

    def __init__(self, config: AVSyncNetConfig):
        super().__init__()
        first = config.audio_widths[0]
        self.stem = nn.Sequential(nn.Conv2d(1, first, 3, 1, 1), nn.ReLU(), nn.BatchNorm2d(first))
        stages, current = [], first
        for index, (width, count) in enumerate(zip(config.audio_widths, config.audio_layers, strict=False)):
            blocks = []
            for b in range(count):
                blocks.append(SEBasicBlock(current, width, 2 if (b == 0 and index > 0) else 1, config.se_reduction))
                current = width
            stages.append(nn.Sequential(*blocks))
        self.layers = nn.ModuleList(stages)
        channels = current * config.audio_frequency_bins
        self.attention = nn.Sequential(
            nn.Conv1d(channels, config.attention_dim, 1),
            nn.ReLU(),
            nn.BatchNorm1d(config.attention_dim),
            nn.Conv1d(config.attention_dim, channels, 1),
        )
        self.fc = nn.Linear(channels, config.embed_dim)

    def forward(self, mel: torch.Tensor, relu: bool = True) -> torch.Tensor:
        x = self.stem(mel)
        for stage in self.layers:
            x = stage(x)
        x = x.flatten(1, 2)  # (B, C * F', T'): frequency merged into channels
        weights = torch.softmax(self.attention(x), dim=-1)  # self-attentive pooling over time
        pooled = (x * weights).sum(-1)
        out = self.fc(pooled)
        return F.relu(out) if relu else out


class AVSyncNetPreTrainedModel(ShippedModelMixin, PreTrainedModel):
    config_class = AVSyncNetConfig
    base_model_prefix = "avsyncnet"
    main_input_name = "faces"

    def _init_weights(self, module: nn.Module) -> None:
        init_weights(module, self.config.initializer_range, weighted=(nn.Linear,))


class AVSyncNet(AVSyncNetPreTrainedModel):
    """AVSIM(faces, mel) = cos(φ_V(lower halves of 5 faces), φ_A(mel window)) ∈ [0, 1]."""

    def __init__(self, config: AVSyncNetConfig):
        super().__init__(config)
        self.image_tower = ResNetImageTower(config)
        self.audio_tower = AudioTower(config)
        self.post_init()

    def embed_faces(self, faces: torch.Tensor) -> torch.Tensor:
        """(B, 5, 3, H, W) faces in [0, 1] -> (B, D)."""
        return self.image_tower(lower_half_stack(faces, self.config.face_size))

    def embed_audio(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 1, 80, 16) or (B, 80, 16) mel windows -> (B, D)."""
        return self.audio_tower(mel if mel.dim() == 4 else mel[:, None])

    def forward(self, faces: torch.Tensor, mel: torch.Tensor, return_dict: bool | None = None):
        face, audio = self.embed_faces(faces), self.embed_audio(mel)
        output = SyncOutput(face_embeddings=face, audio_embeddings=audio, scores=cosine_scores(face, audio))
        return output if return_dict is not False else output.to_tuple()


def load_imagenet_resnet50(model: AVSyncNet, state_dict: dict[str, torch.Tensor]) -> list[str]:
    """Initialise the image tower from a torchvision ResNet-50 ImageNet state dict (our choice: the paper
    does not say how its ResNet-50 starts, and ImageNet weights are the usual start for a ResNet-50 face encoder).

    conv1 (64, 3, 7, 7) is replicated over the 5 frames and divided by 5; ``layerN`` maps to
    ``layers[N - 1]``; the classifier is dropped. Returns the tower's keys that were not initialised.
    """
    if model.config.image_block != "bottleneck" or model.config.image_layers != [3, 4, 6, 3]:
        raise ValueError("ImageNet ResNet-50 weights fit the paper configuration only (bottleneck, [3, 4, 6, 3])")
    tower = model.image_tower.state_dict()
    mapped = {}
    for key, value in state_dict.items():
        if key.startswith("fc."):
            continue
        if key.startswith("layer"):
            stage, rest = key.split(".", 1)
            key = f"layers.{int(stage[5:]) - 1}.{rest}"
        if key == "conv1.weight":
            value = value.repeat(1, model.config.num_frames, 1, 1) / model.config.num_frames
        if key in tower and tower[key].shape == value.shape:
            mapped[key] = value
    missing = sorted(set(tower) - set(mapped))
    model.image_tower.load_state_dict({**tower, **mapped})
    return missing
