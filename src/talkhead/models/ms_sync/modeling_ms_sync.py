"""MS-Sync syncer pyramid (Airale et al., "A Comprehensive Multi-scale Approach for Speech and
Dynamics Synchrony in Talking Head Generation", §3.1).

One syncer per pyramid level scores how well a 5-frame landmark window matches a 20-frame audio
window at that level's rate: 200 ms windows at level 1 up to 1600 ms at level 4. Both encoders are
ConvNeXt-1D (MS-Sync code, LouisBearing/HMo-audio, ``resnet.py``); the score is the cosine of the two
embeddings. The same class holds the InfoNCE *loss* syncers (normalised embeddings) and the *evaluation*
syncers trained with SyncNet's contrastive margin loss (unnormalised, compared by Euclidean distance in the
offset search).

Where we differ from the authors' code:

* inputs are standardised per coordinate / channel with training-set statistics stored as buffers
  in the checkpoint (:meth:`MSSyncSyncerModel.set_input_statistics`). On our 11 minutes of video
  the encoders collapse to a constant embedding without it: raw landmark windows differ by about
  0.06 around a mean of 0.5, and the log filterbanks sit around -10;
* optionally (``center_windows``, on in our checkpoints) each window is centred on its own temporal
  mean first. With 45 training clips, mixed InfoNCE groups otherwise teach the syncers to match a
  voice to a face shape; that does not carry over to new speakers, while centred windows do
  (held-out retrieval measured in benchmarks/RESULTS.md);
* windows are cut from the whole sequence with ``unfold`` (start-aligned, as the authors' syncer training pairs
  x[t : t+5] with a[4t : 4t+20]); audio shorter
  than four frames per landmark frame at a level is reflect-padded, as in the generator's loss
  (MS-Sync code, ``lip_sync_pyramid_loss``);
* the paper-size configuration is the default, while the checkpoints we ship use a smaller one
  (their model cards say which, and with which training recipe).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from ...errors import TalkheadInputError
from ..blocks import ConvNeXt1DEncoder, init_weights
from ..configuration_utils import ShippedModelMixin
from .configuration_ms_sync import MSSyncSyncerConfig
from .feature_extraction_ms_sync import build_pyramid, level_length, min_frames_for_level


@dataclass
class MSSyncSyncerOutput(ModelOutput):
    """Per-level embeddings of every stride-1 window of a sequence.

    Args:
        landmark_embeddings: one (B, N_i, D) tensor per requested level; N_i = T_i - 4 windows.
        audio_embeddings: the matching audio-window embeddings, (B, N_i, D) each.
        scores: cosine similarity of each aligned window pair, (B, N_i) per level.
        levels: the pyramid levels (1-based) the tuples above refer to.
    """

    landmark_embeddings: tuple[torch.Tensor, ...] | None = None
    audio_embeddings: tuple[torch.Tensor, ...] | None = None
    scores: tuple[torch.Tensor, ...] | None = None
    levels: tuple[int, ...] | None = None


class MSSyncSyncerLevel(nn.Module):
    """The syncer of one pyramid level: a landmark encoder and an audio encoder."""

    def __init__(self, config: MSSyncSyncerConfig):
        super().__init__()
        self.landmark_projection = nn.Linear(2 * config.num_landmarks, config.landmark_embed_dim)
        encoder = partial(
            ConvNeXt1DEncoder,
            widths=config.encoder_widths,
            blocks=config.encoder_blocks,
            embed_dim=config.embed_dim,
            kernel_size=config.kernel_size,
            expansion=config.expansion,
        )
        self.landmark_encoder = encoder(config.landmark_embed_dim)
        self.audio_encoder = encoder(config.audio_dim)

    def embed_landmarks(self, windows: torch.Tensor) -> torch.Tensor:
        """(N, 5, 68, 2) or (N, 5, 136) landmark windows -> (N, D)."""
        frames = self.landmark_projection(windows.flatten(2))  # (N, 5, 272)
        return self.landmark_encoder(frames.transpose(1, 2))

    def embed_audio(self, windows: torch.Tensor) -> torch.Tensor:
        """(N, 20, 26) audio windows -> (N, D)."""
        return self.audio_encoder(windows.transpose(1, 2))


class MSSyncSyncerPreTrainedModel(ShippedModelMixin, PreTrainedModel):
    config_class = MSSyncSyncerConfig
    base_model_prefix = "ms_sync_syncer"
    main_input_name = "landmarks"

    def _init_weights(self, module: nn.Module) -> None:
        init_weights(module, self.config.initializer_range)


class MSSyncSyncerModel(MSSyncSyncerPreTrainedModel):
    """The pyramid of syncers S^1..S^L, one :class:`MSSyncSyncerLevel` per level.

    ``forward`` takes whole sequences, builds their pyramids and embeds every stride-1 window;
    :meth:`embed_windows` takes windows that are already cut (what training uses).
    """

    landmark_mean: torch.Tensor
    landmark_std: torch.Tensor
    audio_mean: torch.Tensor
    audio_std: torch.Tensor

    def __init__(self, config: MSSyncSyncerConfig):
        super().__init__(config)
        self.levels = nn.ModuleList([MSSyncSyncerLevel(config) for _ in range(config.num_levels)])
        # inputs are standardised with training-set statistics (identity until set_input_statistics)
        self.register_buffer("landmark_mean", torch.zeros(2 * config.num_landmarks))
        self.register_buffer("landmark_std", torch.ones(2 * config.num_landmarks))
        self.register_buffer("audio_mean", torch.zeros(config.audio_dim))
        self.register_buffer("audio_std", torch.ones(config.audio_dim))
        self.post_init()

    @torch.no_grad()
    def set_input_statistics(self, landmark_mean, landmark_std, audio_mean, audio_std, min_std: float = 1e-3) -> None:
        """Store the per-coordinate and per-channel mean and std of the training data (level 1)."""
        for name, value in (("landmark_mean", landmark_mean), ("audio_mean", audio_mean)):
            getattr(self, name).copy_(torch.as_tensor(value, dtype=torch.float32).flatten())
        for name, value in (("landmark_std", landmark_std), ("audio_std", audio_std)):
            getattr(self, name).copy_(torch.as_tensor(value, dtype=torch.float32).flatten().clamp_min(min_std))

    def standardize(
        self, landmark_windows: torch.Tensor, audio_windows: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, W, 68, 2) or (N, W, 136), (N, W, 26) -> standardised (N, W, 136), (N, W, 26)."""
        return self._standardize_landmarks(landmark_windows), self._standardize_audio(audio_windows)

    def _standardize_landmarks(self, windows: torch.Tensor) -> torch.Tensor:
        windows = windows.flatten(2)
        if self.config.center_windows:
            windows = windows - windows.mean(dim=1, keepdim=True)
        return (windows - self.landmark_mean) / self.landmark_std

    def _standardize_audio(self, windows: torch.Tensor) -> torch.Tensor:
        if self.config.center_windows:
            windows = windows - windows.mean(dim=1, keepdim=True)
        return (windows - self.audio_mean) / self.audio_std

    def _level(self, level: int) -> MSSyncSyncerLevel:
        if not 1 <= level <= self.config.num_levels:
            raise ValueError(f"level must be 1..{self.config.num_levels}, got {level}")
        syncer = self.levels[level - 1]
        assert isinstance(syncer, MSSyncSyncerLevel)  # self.levels holds nothing else
        return syncer

    def _finish(self, embeddings: torch.Tensor) -> torch.Tensor:
        return F.normalize(embeddings, dim=-1) if self.config.normalize_embeddings else embeddings

    def embed_windows(
        self, landmark_windows: torch.Tensor, audio_windows: torch.Tensor, level: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Embeddings of already-cut windows at ``level``: (N, 5, 68, 2), (N, 20, 26) -> (N, D), (N, D)."""
        syncer = self._level(level)
        landmark_windows, audio_windows = self.standardize(landmark_windows, audio_windows)
        return self._finish(syncer.embed_landmarks(landmark_windows)), self._finish(syncer.embed_audio(audio_windows))

    def min_frames(self, level: int | None = None) -> int:
        """Fewest video frames a sequence needs for one window at ``level`` (the top level by default)."""
        return min_frames_for_level(level or self.config.num_levels, self.config.landmark_window)

    def check_length(self, num_frames: int, levels) -> None:
        """Raise a clear error when a sequence is too short for the windows of ``levels``."""
        for level in levels:
            needed = self.min_frames(level)
            if num_frames < needed:
                window_ms = self.config.level_durations_ms[level - 1]
                raise TalkheadInputError(
                    f"a sequence of {num_frames} frames ({num_frames / 25:.2f} s) is shorter than the level-{level} "
                    f"syncer's {window_ms} ms window: it needs at least {needed} frames ({needed / 25:.2f} s)"
                )

    def forward(
        self,
        landmarks: torch.Tensor,
        audio: torch.Tensor,
        levels: list[int] | None = None,
        return_dict: bool | None = None,
    ):
        """Embed every window of every requested level.

        Args:
            landmarks: (B, T, 68, 2) positions in crop units.
            audio: (B, 4T, 26) log filterbank features aligned with the frames.
            levels: 1-based levels to compute (all by default).
        """
        levels = list(levels or range(1, self.config.num_levels + 1))
        if landmarks.dim() != 4 or audio.dim() != 3:
            raise ValueError(
                f"expected landmarks (B, T, 68, 2) and audio (B, 4T, 26), got {tuple(landmarks.shape)} and "
                f"{tuple(audio.shape)}"
            )
        self.check_length(landmarks.shape[1], levels)
        top = max(levels)
        landmark_levels = build_pyramid(landmarks.flatten(2), top)
        audio_levels = build_pyramid(audio, top)
        outputs: tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]] = ([], [], [])
        for level in levels:
            x_windows, a_windows = self._cut_windows(landmark_levels[level - 1], audio_levels[level - 1])
            batch, count = x_windows.shape[:2]
            e_x, e_a = self.embed_windows(x_windows.flatten(0, 1), a_windows.flatten(0, 1), level)
            e_x, e_a = e_x.view(batch, count, -1), e_a.view(batch, count, -1)
            outputs[0].append(e_x)
            outputs[1].append(e_a)
            outputs[2].append(F.cosine_similarity(e_x, e_a, dim=-1))
        result = MSSyncSyncerOutput(tuple(outputs[0]), tuple(outputs[1]), tuple(outputs[2]), tuple(levels))
        return result if return_dict is not False else result.to_tuple()

    def landmark_features(self, landmarks: torch.Tensor, levels: list[int] | None = None) -> tuple[torch.Tensor, ...]:
        """Landmark-encoder embeddings of every stride-1 window, per level, without audio: (B, N_i, D) each.

        The feature extractor of the landmark Fréchet distance (metrics/landmarks.py).
        """
        levels = list(levels or range(1, self.config.num_levels + 1))
        self.check_length(landmarks.shape[1], levels)
        pyramid = build_pyramid(landmarks.flatten(2), max(levels))
        features = []
        for level in levels:
            windows = pyramid[level - 1].unfold(1, self.config.landmark_window, 1).transpose(2, 3)  # (B, N, 5, 136)
            batch, count = windows.shape[:2]
            flat = self._standardize_landmarks(windows.flatten(0, 1))
            features.append(self._finish(self._level(level).embed_landmarks(flat)).view(batch, count, -1))
        return tuple(features)

    def audio_features(self, audio: torch.Tensor, level: int, count: int) -> torch.Tensor:
        """Audio-encoder embeddings of the first ``count`` stride-1 windows at ``level``, (B, count, D), from
        (B, 4T, 26) features: the audio half of :meth:`forward` for one level (the offset search's audio side)."""
        config = self.config
        frames = count + config.landmark_window - 1  # the level's length that holds ``count`` windows
        level_audio = fit_audio_length(build_pyramid(audio, level)[level - 1], config.audio_frames_per_frame * frames)
        windows = level_audio.unfold(1, config.audio_window, config.audio_frames_per_frame).transpose(2, 3)
        batch = windows.shape[0]
        flat = self._standardize_audio(windows.flatten(0, 1))
        return self._finish(self._level(level).embed_audio(flat)).view(batch, count, -1)

    def _cut_windows(self, landmarks: torch.Tensor, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Stride-1 start-aligned windows of one level: (B, N, 5, 136) and (B, N, 20, 26)."""
        config = self.config
        frames = landmarks.shape[1]
        audio = fit_audio_length(audio, config.audio_frames_per_frame * frames)
        x_windows = landmarks.unfold(1, config.landmark_window, 1).transpose(2, 3)
        a_windows = audio.unfold(1, config.audio_window, config.audio_frames_per_frame).transpose(2, 3)
        return x_windows, a_windows


def fit_audio_length(audio: torch.Tensor, length: int) -> torch.Tensor:
    """(B, A, C) -> (B, length, C): reflect-pad the end when short (MS-Sync code), truncate when long."""
    missing = length - audio.shape[1]
    if missing <= 0:
        return audio[:, :length]
    while missing > 0:
        step = min(missing, audio.shape[1] - 1) if audio.shape[1] > 1 else missing
        mode = "reflect" if audio.shape[1] > 1 else "replicate"
        audio = F.pad(audio.transpose(1, 2), (0, step), mode=mode).transpose(1, 2)
        missing -= step
    return audio


def windows_per_level(num_frames: int, level: int, window: int = 5) -> int:
    """Number of stride-1 windows a ``num_frames`` sequence has at ``level``."""
    return max(0, level_length(num_frames, level) - window + 1)
