"""Small building blocks shared by several models. Each is written once here and imported.

* :class:`ConvNeXt1DBlock`: the "InvRes1D" block of the MS-Sync code (``resnet.py``), a 1D ConvNeXt
  block with GELU after the residual addition. With kernel 1 it is a per-time-step residual MLP
  (the paper's "dense layers"); with ``groups > 1`` it runs that many independent branches side by
  side (the generator's four branches).
* :class:`ConvNeXt1DEncoder`: stem + four stages of two blocks + average pool + linear (MS-Sync code,
  ``resnet.py``).
* :class:`LandmarkEmbedding`: the per-frame MLP of the MS-Sync generator and discriminators (MS-Sync
  code, ``encoder_x``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of a (B, C, L) tensor, at every time step."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


def channel_norm(channels: int, groups: int = 1) -> nn.Module:
    """Per-time-step LayerNorm, or GroupNorm when the channels hold ``groups`` independent branches."""
    return ChannelLayerNorm(channels) if groups == 1 else nn.GroupNorm(groups, channels)


class ConvNeXt1DBlock(nn.Module):
    """Depthwise conv -> norm -> pointwise expand -> GELU -> pointwise -> + shortcut -> GELU.

    Args:
        in_channels, out_channels: widths (B, C_in, L) -> (B, C_out, L / stride).
        kernel_size: of the depthwise conv (odd); 1 makes the block a per-step MLP.
        stride: temporal stride of the depthwise conv (and of the projected shortcut).
        expansion: width multiplier of the hidden pointwise layer.
        groups: independent branches packed along the channels (pointwise convs grouped, GroupNorm).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        expansion: int = 4,
        groups: int = 1,
    ):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        hidden = expansion * in_channels
        self.depthwise = nn.Conv1d(
            in_channels, in_channels, kernel_size, stride=stride, padding=(kernel_size - 1) // 2, groups=in_channels
        )
        self.norm = channel_norm(in_channels, groups)
        self.expand = nn.Conv1d(in_channels, hidden, 1, groups=groups)
        self.activation = nn.GELU()
        self.project = nn.Conv1d(hidden, out_channels, 1, groups=groups)
        self.shortcut: nn.Sequential | nn.Identity
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv1d(in_channels, out_channels, 1, stride=stride, groups=groups),
                channel_norm(out_channels, groups),
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.depthwise.kernel_size[0] == 1:  # a per-step scale and shift
            stride = self.depthwise.stride[0]
            assert self.depthwise.bias is not None  # built with a bias in __init__
            hidden = x[..., ::stride] * self.depthwise.weight[:, 0] + self.depthwise.bias[:, None]
        else:
            hidden = self.depthwise(x)
        residual = pointwise_conv(self.project, self.activation(pointwise_conv(self.expand, self.norm(hidden))))
        if isinstance(self.shortcut, nn.Sequential):
            conv, norm = self.shortcut
            assert isinstance(conv, nn.Conv1d)  # the projection built in __init__
            shortcut = norm(pointwise_conv(conv, x))
        else:
            shortcut = x
        return self.activation(residual + shortcut)


def pointwise_conv(conv: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    """A kernel-1 (grouped, strided) Conv1d as a batched matrix product.

    Same parameters and result as ``conv(x)``; oneDNN's grouped convolution costs about half a
    millisecond per call on short sequences, which made the generator's per-frame heads 20x slower.
    """
    stride, groups = conv.stride[0], conv.groups
    x = x[..., ::stride]
    batch, channels, length = x.shape
    weight = conv.weight.view(groups, conv.out_channels // groups, channels // groups)
    # one (out, in) @ (in, batch * length) product per group
    columns = (
        x.reshape(batch, groups, channels // groups, length).permute(1, 2, 0, 3).reshape(groups, channels // groups, -1)
    )
    out = (
        torch.bmm(weight, columns)
        .view(groups, -1, batch, length)
        .permute(2, 0, 1, 3)
        .reshape(batch, conv.out_channels, length)
    )
    return out if conv.bias is None else out + conv.bias[:, None]


def stage_widths(in_channels: int, targets: Sequence[int]) -> list[int]:
    """Actual stage widths: each stage but the last is at least as wide as what it receives (MS-Sync
    code, ``resnet.py``)."""
    widths, current = [], in_channels
    for index, target in enumerate(targets):
        current = target if index == len(targets) - 1 else max(target, current)
        widths.append(current)
    return widths


class ConvNeXt1DEncoder(nn.Module):
    """Sequence encoder: (B, C_in, L) -> (B, embed_dim).

    Stem block (width max(C_in, 32)), then one stage per entry of ``widths``: a stride-2 block that
    changes the width followed by ``blocks - 1`` blocks that keep it; average pool over time; linear.
    """

    def __init__(
        self,
        in_channels: int,
        widths: Sequence[int] = (64, 128, 256, 512),
        blocks: Sequence[int] = (2, 2, 2, 2),
        embed_dim: int = 512,
        kernel_size: int = 3,
        expansion: int = 4,
        min_stem_width: int = 32,
    ):
        super().__init__()
        if len(widths) != len(blocks):
            raise ValueError(f"widths {tuple(widths)} and blocks {tuple(blocks)} must have the same length")
        stem_width = max(in_channels, min_stem_width)
        layers: list[nn.Module] = [ConvNeXt1DBlock(in_channels, stem_width, kernel_size, 1, expansion)]
        current = stem_width
        for width, count in zip(stage_widths(stem_width, widths), blocks, strict=False):
            layers.append(ConvNeXt1DBlock(current, width, kernel_size, 2, expansion))
            layers += [ConvNeXt1DBlock(width, width, kernel_size, 1, expansion) for _ in range(count - 1)]
            current = width
        self.blocks = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.head = nn.Linear(current, embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.blocks(x)).squeeze(-1))


class LandmarkEmbedding(nn.Module):
    """136 -> hidden -> LayerNorm -> expand -> GELU -> out (MS-Sync code, ``encoder_x``)."""

    def __init__(self, in_dim: int, hidden: int, expand: int, out_dim: int):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_dim, hidden),
            nn.LayerNorm(hidden),
            nn.Linear(hidden, expand),
            nn.GELU(),
            nn.Linear(expand, out_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def init_weights(module: nn.Module, std: float, weighted=(nn.Linear, nn.Conv1d)) -> None:
    """The ``_init_weights`` of our PreTrainedModels: truncated normal weights, zero biases, unit norms."""
    if isinstance(module, weighted):
        nn.init.trunc_normal_(module.weight, std=std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.LayerNorm, nn.GroupNorm)):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
