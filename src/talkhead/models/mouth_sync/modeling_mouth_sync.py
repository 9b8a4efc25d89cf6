"""Mouth-sync expert: mouth-shape windows against speech windows.

Not from the three papers. Their experts (SyncNet, AVSyncNet) read 5 lower-half face crops against
0.2 s of mel; on our 11 minutes of video they reach 0.15-0.25 offset accuracy on new speakers. Two
measurements moved the design (benchmarks/RESULTS.md, "Sync experts"): with *perfect* mouth tracking and
the best audio model we have, 0.2 s windows cannot pick the aligned one of 8 offsets more than a third
of the time, while 1 s windows can; and pixels carry the speaker's identity, which a network learns
before synchrony, while mouth shapes in the head-fixed face frame minus the clip's mean shape carry
little of it. So this expert reads dlib's mouth points (tracking is what every pipeline already does)
and the phones a speech recogniser hears, over 1 s, and is trained on groups of windows of one clip
(hard negatives: the same speaker a few frames off) with the multi-way offset objective of
:func:`talkhead.losses.offset_classification_loss`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from ..blocks import init_weights
from ..configuration_utils import ShippedModelMixin
from ..mouth_motion.modeling_mouth_motion import DilatedResidualBlock
from .configuration_mouth_sync import MouthSyncConfig


@dataclass
class MouthSyncOutput(ModelOutput):
    """``mouth_embeddings`` and ``audio_embeddings`` (..., embed_dim), L2-normalised; ``scores`` their cosine."""

    mouth_embeddings: torch.Tensor | None = None
    audio_embeddings: torch.Tensor | None = None
    scores: torch.Tensor | None = None


class WindowTower(nn.Module):
    """(N, window, channels) -> (N, embed_dim): dilated residual convolutions, then a linear map of the whole
    window (not a temporal mean: which event comes first is the point)."""

    def __init__(self, in_channels: int, config: MouthSyncConfig):
        super().__init__()
        self.input_dropout = nn.Dropout(config.input_dropout)
        self.input_projection = nn.Conv1d(in_channels, config.hidden_size, 1)
        self.blocks = nn.ModuleList(
            DilatedResidualBlock(config.hidden_size, config.kernel_size, d, config.dropout) for d in config.dilations
        )
        self.output_norm = nn.GroupNorm(1, config.hidden_size)
        self.embedding = nn.Linear(config.hidden_size * config.window, config.embed_dim)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        x = self.input_projection(self.input_dropout(windows).transpose(1, 2))
        for block in self.blocks:
            x = block(x)
        x = nn.functional.gelu(self.output_norm(x))
        return nn.functional.normalize(self.embedding(x.flatten(1)), dim=-1)


class MouthSyncModel(ShippedModelMixin, PreTrainedModel):
    """Mouth windows (..., window, 20, 2) and audio windows (..., window, input_size) -> embeddings and cosine."""

    config_class = MouthSyncConfig
    base_model_prefix = "mouth_sync"
    main_input_name = "mouth_windows"

    def __init__(self, config: MouthSyncConfig):
        super().__init__(config)
        self.mouth_tower = WindowTower(2 * config.mouth_points, config)
        self.audio_tower = WindowTower(config.input_size, config)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        init_weights(module, self.config.initializer_range)

    def _check_window(self, name: str, windows: torch.Tensor, tail: int) -> None:
        if windows.shape[-1 - tail] != self.config.window:
            raise ValueError(
                f"{name} windows have {windows.shape[-1 - tail]} frames; this expert reads "
                f"{self.config.window} (config.window)"
            )

    def embed_mouth(self, mouth_windows: torch.Tensor) -> torch.Tensor:
        """(..., window, mouth_points, 2) displacements from the clip's mean shape -> (..., embed_dim)."""
        self._check_window("mouth", mouth_windows, 2)
        lead = mouth_windows.shape[:-3]
        flat = mouth_windows.reshape(-1, self.config.window, 2 * self.config.mouth_points)
        return self.mouth_tower(flat).reshape(*lead, -1)

    def embed_audio(self, audio_windows: torch.Tensor) -> torch.Tensor:
        """(..., window, input_size) audio features (``mouth_audio_features``) -> (..., embed_dim)."""
        self._check_window("audio", audio_windows, 1)
        lead = audio_windows.shape[:-2]
        return self.audio_tower(audio_windows.reshape(-1, self.config.window, audio_windows.shape[-1])).reshape(
            *lead, -1
        )

    def forward(self, mouth_windows: torch.Tensor, audio_windows: torch.Tensor) -> MouthSyncOutput:
        mouth, audio = self.embed_mouth(mouth_windows), self.embed_audio(audio_windows)
        return MouthSyncOutput(mouth_embeddings=mouth, audio_embeddings=audio, scores=(mouth * audio).sum(-1))
