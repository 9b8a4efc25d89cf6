"""SyncNet v2: Chung & Zisserman, "Out of time: automated lip sync in the wild" (ACCV workshops 2016),
as released in ``joonson/syncnet_python`` (``SyncNetModel.S``, weights ``syncnet_v2.model``).

Two towers map 200 ms of audio and video to 1024-d embeddings whose Euclidean distance is small when
the two are in sync; LSE-D and LSE-C (``talkhead.metrics.lse``) are SyncNet's offset search over them.

* audio: a 2D CNN (``netcnnaud``) on a (1, 13, 20) window of 13-d MFCCs at 100 Hz
  (:func:`talkhead.processing.audio.mfcc13`), then a two-layer head (``netfcaud``);
* video: a 3D CNN (``netcnnlip``) on a (3, 5, 224, 224) window of five colour face crops, then a
  two-layer head (``netfclip``). The first convolution spans the five frames at once.

The layers, their order and so their state-dict names are the released network's, so its weights load
by name (``convert_syncnet_v2.py``). Inputs are what ``SyncNetInstance.evaluate`` feeds: BGR pixels as
floats on [0, 255] (OpenCV's channel order, no mean or scale), and MFCCs of 16-bit PCM samples.

Where we differ: only the configuration's widths and face size are free, for small test models; the
paper configuration is the released network unchanged. The face crops that feed it come from our dlib
tracker instead of S3FD (see ``talkhead.metrics.lse``).
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
from .configuration_syncnet_v2 import SyncNetV2Config

VIDEO_WINDOW = 5  # face frames per window (200 ms at 25 fps)
AUDIO_WINDOW = 20  # MFCC rows per window (200 ms at 100 Hz)
MFCC_DIM = 13
MFCC_PER_FRAME = 4  # the audio window of video frame t starts at MFCC row 4t


def _stage(conv: nn.Module, norm: type[nn.Module], pool: nn.Module | None = None) -> list[nn.Module]:
    """conv -> batch norm -> ReLU (-> pool): the unit both towers are made of, in the released order."""
    return [conv, norm(conv.out_channels), nn.ReLU()] + ([pool] if pool is not None else [])


def audio_tower(widths: list[int]) -> nn.Sequential:
    """``netcnnaud``: (B, 1, 13, 20) MFCC window -> (B, widths[-1], 1, 1)."""
    w = widths
    return nn.Sequential(
        # the 1x1 max-pool does nothing; it stays so that later layers keep their released indices
        *_stage(nn.Conv2d(1, w[0], 3, padding=1), nn.BatchNorm2d, nn.MaxPool2d(1, 1)),  # (13, 20)
        *_stage(nn.Conv2d(w[0], w[1], 3, padding=1), nn.BatchNorm2d, nn.MaxPool2d(3, (1, 2))),  # (11, 9)
        *_stage(nn.Conv2d(w[1], w[2], 3, padding=1), nn.BatchNorm2d),
        *_stage(nn.Conv2d(w[2], w[3], 3, padding=1), nn.BatchNorm2d),
        *_stage(nn.Conv2d(w[3], w[4], 3, padding=1), nn.BatchNorm2d, nn.MaxPool2d(3, 2)),  # (5, 4)
        *_stage(nn.Conv2d(w[4], w[5], (5, 4)), nn.BatchNorm2d),  # (1, 1)
    )


def lip_tower(widths: list[int], last_kernel: int) -> nn.Sequential:
    """``netcnnlip``: (B, 3, 5, S, S) face window -> (B, widths[-1], 1, 1, 1). Sizes below are for S = 224."""
    w = widths

    def same(in_channels: int, out_channels: int) -> nn.Conv3d:
        """A 1x3x3 convolution that keeps the spatial size."""
        return nn.Conv3d(in_channels, out_channels, kernel_size=(1, 3, 3), padding=(0, 1, 1))

    return nn.Sequential(
        *_stage(
            nn.Conv3d(3, w[0], (5, 7, 7), (1, 2, 2)), nn.BatchNorm3d, nn.MaxPool3d((1, 3, 3), (1, 2, 2))
        ),  # (1, 54, 54)
        *_stage(
            nn.Conv3d(w[0], w[1], (1, 5, 5), (1, 2, 2), (0, 1, 1)),
            nn.BatchNorm3d,
            nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
        ),  # (1, 13, 13)
        *_stage(same(w[1], w[2]), nn.BatchNorm3d),
        *_stage(same(w[2], w[3]), nn.BatchNorm3d),
        *_stage(same(w[3], w[4]), nn.BatchNorm3d, nn.MaxPool3d((1, 3, 3), (1, 2, 2))),  # (1, 6, 6)
        *_stage(nn.Conv3d(w[4], w[5], (1, last_kernel, last_kernel)), nn.BatchNorm3d),  # (1, 1, 1)
    )


def embedding_head(in_dim: int, hidden_dim: int, embed_dim: int) -> nn.Sequential:
    """``netfcaud`` / ``netfclip``: linear -> batch norm -> ReLU -> linear."""
    return nn.Sequential(
        nn.Linear(in_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, embed_dim)
    )


@dataclass
class SyncNetV2Output(ModelOutput):
    """Embeddings of both towers and their distance.

    Args:
        video_embeddings: (B, D) embeddings of the face windows.
        audio_embeddings: (B, D) embeddings of the MFCC windows.
        distances: (B,) Euclidean distance of each pair (small in sync).
    """

    video_embeddings: torch.Tensor | None = None
    audio_embeddings: torch.Tensor | None = None
    distances: torch.Tensor | None = None


class SyncNetV2PreTrainedModel(ShippedModelMixin, PreTrainedModel):
    config_class = SyncNetV2Config
    base_model_prefix = "syncnet_v2"
    main_input_name = "video"

    def _init_weights(self, module: nn.Module) -> None:
        init_weights(module, self.config.initializer_range, weighted=(nn.Linear,))


class SyncNetV2Model(SyncNetV2PreTrainedModel):
    """SyncNet v2: ``embed_video`` and ``embed_audio`` map 5-frame face windows and 20-row MFCC windows
    to ``embed_dim`` embeddings compared by Euclidean distance. Use in eval mode (batch norm)."""

    def __init__(self, config: SyncNetV2Config):
        super().__init__(config)
        # attribute names are the released state dict's prefixes
        self.netcnnaud = audio_tower(config.audio_widths)
        self.netfcaud = embedding_head(config.audio_widths[-1], config.hidden_dim, config.embed_dim)
        self.netfclip = embedding_head(config.image_widths[-1], config.hidden_dim, config.embed_dim)
        self.netcnnlip = lip_tower(config.image_widths, config.lip_kernel)
        self.post_init()

    def embed_video(self, windows: torch.Tensor) -> torch.Tensor:
        """(B, 3, 5, S, S) face windows, BGR floats on [0, 255], S = ``config.image_size`` -> (B, D)."""
        size = self.config.image_size
        if windows.dim() != 5 or tuple(windows.shape[1:]) != (3, VIDEO_WINDOW, size, size):
            raise ValueError(
                f"expected face windows of shape (B, 3, {VIDEO_WINDOW}, {size}, {size}), got {tuple(windows.shape)}"
            )
        return self.netfclip(self.netcnnlip(windows).flatten(1))

    def embed_audio(self, windows: torch.Tensor) -> torch.Tensor:
        """(B, 1, 13, 20) or (B, 13, 20) MFCC windows (coefficients by time) -> (B, D)."""
        if windows.dim() == 3:
            windows = windows[:, None]
        if windows.dim() != 4 or tuple(windows.shape[1:]) != (1, MFCC_DIM, AUDIO_WINDOW):
            raise ValueError(
                f"expected MFCC windows of shape (B, 1, {MFCC_DIM}, {AUDIO_WINDOW}), got {tuple(windows.shape)}"
            )
        return self.netfcaud(self.netcnnaud(windows).flatten(1))

    def forward(self, video: torch.Tensor, audio: torch.Tensor, return_dict: bool | None = None):
        video_embeddings, audio_embeddings = self.embed_video(video), self.embed_audio(audio)
        output = SyncNetV2Output(
            video_embeddings=video_embeddings,
            audio_embeddings=audio_embeddings,
            distances=F.pairwise_distance(video_embeddings, audio_embeddings),
        )
        return output if return_dict is not False else output.to_tuple()
