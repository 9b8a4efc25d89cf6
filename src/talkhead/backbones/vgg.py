"""VGG-19 features for the perceptual loss (Yaman et al., stabilized sync, eq. 1;
:func:`talkhead.losses.perceptual_loss`), with weights the user supplies.

ImageNet VGG-19 weights cannot be downloaded here, so :func:`load_vgg19` reads a torchvision-format
state dict (``torchvision.models.vgg19(weights="IMAGENET1K_V1").state_dict()`` saved with
``torch.save`` or safetensors; keys ``features.N.weight``) that the user points to. Training scripts
run without it: the perceptual weight is then 0 and the adaptive triplet loss uses another feature
space (their model cards say which).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ..errors import TalkheadInputError

# torchvision's vgg19 "features" up to relu5_1; numbers are output channels, "M" a 2x2 max-pool
_VGG19 = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512]
RELU_INDICES = {"relu1_1": 1, "relu2_1": 6, "relu3_1": 11, "relu4_1": 20, "relu5_1": 29}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG19Features(nn.Module):
    """torchvision's VGG-19 ``features`` (same indices) up to relu5_1; returns the five relu*_1 maps."""

    def __init__(self):
        super().__init__()
        layers, channels = [], 3
        for item in _VGG19:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU()]
                channels = item
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False).eval()

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, H, W) in [0, 1] -> [relu1_1, relu2_1, relu3_1, relu4_1, relu5_1]."""
        x = (images - self.mean) / self.std
        wanted = set(RELU_INDICES.values())
        outputs = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in wanted:
                outputs.append(x)
        return outputs


def load_vgg19(path: str | os.PathLike) -> VGG19Features:
    """VGG-19 features from a torchvision-format state dict file (.pth/.pt or .safetensors)."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise TalkheadInputError(
            f"VGG-19 weights not found: {path}; save torchvision's vgg19 ImageNet state dict there "
            "(keys features.N.weight / features.N.bias)"
        )
    if path.suffix == ".safetensors":
        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    model = VGG19Features()
    wanted = {k: v for k, v in state.items() if k.startswith("features.") and k in model.state_dict()}
    missing = sorted(set(model.state_dict()) - set(wanted))
    if missing:
        raise TalkheadInputError(
            f"{path} is not a torchvision VGG-19 state dict: missing {', '.join(missing[:4])}"
            f"{' ...' if len(missing) > 4 else ''}"
        )
    model.load_state_dict(wanted)
    return model.requires_grad_(False).eval()
