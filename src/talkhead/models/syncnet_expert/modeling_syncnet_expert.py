"""The Wav2Lip SyncNet expert (Prajwal et al. 2020; Wav2Lip, models/syncnet.py): our evaluation expert
(``hub_configs/syncnet-eval``) and the plain lip-sync loss.

It scores a window of 5 faces (their lower halves stacked on channels) against a 16-frame log-mel window
(200 ms) as AVSyncNet does (:mod:`talkhead.models.avsyncnet`, whose input stacking and output it shares), with
Wav2Lip's conv-BN-ReLU towers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel

from ..avsyncnet.modeling_avsyncnet import SyncOutput, lower_half_stack
from ..blocks import init_weights
from ..configuration_utils import ShippedModelMixin
from .configuration_syncnet_expert import SyncNetExpertConfig


class Conv2dBlock(nn.Module):
    """Conv -> BN (-> + input) -> ReLU: Wav2Lip's conv block."""

    def __init__(self, in_channels: int, out_channels: int, kernel, stride, padding, residual: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding)
        self.norm = nn.BatchNorm2d(out_channels)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.conv(x))
        return F.relu(y + x if self.residual else y)


def _conv_stack(width, layers: list[tuple]) -> nn.Sequential:
    """Blocks from (in, out, kernel, stride, padding, residual repeats) with widths scaled by ``width``."""
    modules = []
    for c_in, c_out, kernel, stride, padding, repeats in layers:
        c_in = c_in if c_in in (1, 15) else width(c_in)
        modules.append(Conv2dBlock(c_in, width(c_out), kernel, stride, padding))
        modules += [Conv2dBlock(width(c_out), width(c_out), 3, 1, 1, residual=True) for _ in range(repeats)]
    return nn.Sequential(*modules)


class SyncNetExpertPreTrainedModel(ShippedModelMixin, PreTrainedModel):
    config_class = SyncNetExpertConfig
    base_model_prefix = "syncnet_expert"
    main_input_name = "faces"

    def _init_weights(self, module: nn.Module) -> None:
        init_weights(module, self.config.initializer_range, weighted=(nn.Linear,))


class SyncNetExpert(SyncNetExpertPreTrainedModel):
    """Wav2Lip's SyncNet: 15x48x96 lower halves of 5 faces and a 1x80x16 mel -> cosine in [0, 1]."""

    def __init__(self, config: SyncNetExpertConfig):
        super().__init__(config)
        w = config.width
        frames = 3 * config.num_frames
        self.face_encoder = _conv_stack(
            w,
            [
                (frames, 32, 7, 1, 3, 0),
                (32, 64, 5, (1, 2), 1, 2),
                (64, 128, 3, 2, 1, 3),
                (128, 256, 3, 2, 1, 2),
                (256, 512, 3, 2, 1, 2),
                (512, 512, 3, 2, 1, 0),
                (512, 512, 3, 1, 0, 0),
                (512, 512, 1, 1, 0, 0),
            ],
        )
        self.audio_encoder = _conv_stack(
            w,
            [
                (1, 32, 3, 1, 1, 2),
                (32, 64, 3, (3, 1), 1, 2),
                (64, 128, 3, 3, 1, 2),
                (128, 256, 3, (3, 2), 1, 2),
                (256, 512, 3, 1, 0, 0),
                (512, 512, 1, 1, 0, 0),
            ],
        )
        self.post_init()

    def embed_faces(self, faces: torch.Tensor) -> torch.Tensor:
        """(B, 5, 3, 96, 96) faces in [0, 1] -> (B, D), L2-normalised."""
        return F.normalize(self.face_encoder(lower_half_stack(faces, 96)).flatten(1), dim=-1)

    def embed_audio(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 1, 80, 16) or (B, 80, 16) -> (B, D), L2-normalised."""
        return F.normalize(self.audio_encoder(mel if mel.dim() == 4 else mel[:, None]).flatten(1), dim=-1)

    def forward(self, faces: torch.Tensor, mel: torch.Tensor, return_dict: bool | None = None):
        face, audio = self.embed_faces(faces), self.embed_audio(mel)
        output = SyncOutput(face_embeddings=face, audio_embeddings=audio, scores=(face * audio).sum(-1))
        return output if return_dict is not False else output.to_tuple()
