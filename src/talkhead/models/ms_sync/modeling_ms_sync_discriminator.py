"""Landmark-sequence discriminators of MS-Sync, from SUHMo (Airale et al., MS-Sync, §3.3).

* D_f scores single frames (positions) with a kernel-1 ConvNeXt MLP on a frame embedding.
* D_s, a multi-window projection discriminator: an LSTM reads chunks of 5, 10, 20 and 40 frames of
  (warm-up + continuation); each chunk's final state is scored against the conditioning vector (the
  LSTM state after the warm-up frames) through a projection head whose projection term decays with
  the chunk's distance from the conditioning frames.
* D_s^j, the same on pairs of sequences (PacGAN-2): the two chunk states are max-pooled.

All linear layers of the projection heads are spectrally normalised. Where we differ: the
conditioning LSTM reads all warm-up frames (the code skips the first), so one warm-up frame works;
D_s^j has its own frame embedding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from ..blocks import ConvNeXt1DBlock, LandmarkEmbedding, init_weights
from ..configuration_utils import ShippedModelMixin
from .configuration_ms_sync import MSSyncDiscriminatorConfig


@dataclass
class MSSyncDiscriminatorOutput(ModelOutput):
    """Critic scores.

    Args:
        frame_scores: (B, T_gen) D_f on each continuation frame.
        sequence_scores: (B,) D_s per sequence.
        pair_scores: (B // 2,) D_s^j per consecutive pair (None without the pair discriminator).
    """

    frame_scores: torch.Tensor | None = None
    sequence_scores: torch.Tensor | None = None
    pair_scores: torch.Tensor | None = None


class ProjectionHead(nn.Module):
    """s(z, y, d) = A(c(d) · <y, V(φ)> + ψ(φ)), φ = ReLU(W z), c(d) = max(d, 1)^(-1/β) (SUHMo code,
    ``ProjectionDisc``)."""

    def __init__(self, hidden: int, beta_init: float):
        super().__init__()
        self.phi = spectral_norm(nn.Linear(hidden, 2 * hidden))
        self.project = spectral_norm(nn.Linear(2 * hidden, hidden))
        self.psi = spectral_norm(nn.Linear(2 * hidden, 2 * hidden))
        self.out = spectral_norm(nn.Linear(2 * hidden, 1))
        self.beta = nn.Parameter(torch.tensor(float(beta_init)))

    def forward(self, z: torch.Tensor, y: torch.Tensor, distance: torch.Tensor) -> torch.Tensor:
        """z: (N, H) chunk states, y: (N, H) conditioning, distance: (N,) -> (N,) scores."""
        phi = torch.relu(self.phi(z))
        decay = distance.clamp_min(1.0) ** (-1.0 / self.beta)
        projection = decay * (y * self.project(phi)).sum(-1)
        return self.out(torch.relu(self.psi(phi)) + projection[:, None]).squeeze(-1)


class ChunkCritic(nn.Module):
    """The LSTM + projection head shared by D_s and D_s^j."""

    def __init__(self, config: MSSyncDiscriminatorConfig):
        super().__init__()
        self.lstm = nn.LSTM(config.frame_embed_dim, config.lstm_hidden_dim, batch_first=True)
        self.head = ProjectionHead(config.lstm_hidden_dim, config.beta_init)
        self.windows = config.windows

    def final_state(self, sequences: torch.Tensor) -> torch.Tensor:
        """(N, L, E) -> (N, H) last hidden state."""
        return self.lstm(sequences)[1][0][-1]

    def chunks(self, embedded: torch.Tensor, num_conditioning: int):
        """For each window size: chunk start offsets d and the chunk states (N, chunks, H)."""
        length = embedded.shape[1] - num_conditioning
        for window in self.windows:
            stride = max(window // 2, 1)
            starts = list(range(max(-num_conditioning, stride - window), length - window + 1, stride))
            if not starts:
                continue
            pieces = torch.stack([embedded[:, num_conditioning + d : num_conditioning + d + window] for d in starts], 1)
            batch, count = pieces.shape[:2]
            states = self.final_state(pieces.flatten(0, 1)).view(batch, count, -1)
            yield torch.tensor(starts, dtype=embedded.dtype, device=embedded.device), states

    def score(self, states: torch.Tensor, conditioning: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
        """(N, C, H) chunk states -> (N,) mean score over the chunks."""
        count = states.shape[1]
        scores = self.head(states.flatten(0, 1), conditioning.repeat_interleave(count, 0), starts.repeat(len(states)))
        return scores.view(len(states), count).mean(1)


class MSSyncDiscriminatorsPreTrainedModel(ShippedModelMixin, PreTrainedModel):
    config_class = MSSyncDiscriminatorConfig
    base_model_prefix = "ms_sync_discriminators"
    main_input_name = "warmup"

    def _init_weights(self, module: nn.Module) -> None:
        init_weights(module, self.config.initializer_range, weighted=(nn.Conv1d,))


class MSSyncDiscriminators(MSSyncDiscriminatorsPreTrainedModel):
    """D_f, D_s and (optionally) D_s^j in one module, scoring (warm-up, continuation) landmark sequences."""

    landmark_mean: torch.Tensor
    landmark_std: torch.Tensor

    def __init__(self, config: MSSyncDiscriminatorConfig):
        super().__init__(config)
        points = 2 * config.num_landmarks
        e = config.expansion

        def embedding() -> LandmarkEmbedding:
            return LandmarkEmbedding(points, config.frame_hidden_dim, config.frame_expand_dim, config.frame_embed_dim)

        self.embedding = embedding()  # shared by D_f and D_s
        blocks = [
            ConvNeXt1DBlock(config.frame_embed_dim, config.frame_embed_dim, 1, 1, e) for _ in range(config.frame_blocks)
        ]
        blocks.append(ConvNeXt1DBlock(config.frame_embed_dim, config.frame_classifier_dim, 1, 1, e))
        self.frame_classifier = nn.Sequential(*blocks)
        self.frame_out = nn.Linear(config.frame_classifier_dim, 1)
        self.sequence_critic = ChunkCritic(config)
        if config.use_pair_discriminator:
            self.pair_embedding = embedding()
            self.pair_critic = ChunkCritic(config)
        self.register_buffer("landmark_mean", torch.full((points,), 0.5))
        self.register_buffer("landmark_std", torch.ones(points))
        self.post_init()

    @torch.no_grad()
    def set_input_statistics(self, landmark_mean, landmark_std, min_std: float = 1e-3) -> None:
        self.landmark_mean.copy_(torch.as_tensor(landmark_mean, dtype=torch.float32).flatten())
        self.landmark_std.copy_(torch.as_tensor(landmark_std, dtype=torch.float32).flatten().clamp_min(min_std))

    def _standardize(self, landmarks: torch.Tensor) -> torch.Tensor:
        return (landmarks.flatten(2) - self.landmark_mean) / self.landmark_std

    def forward(self, warmup: torch.Tensor, continuation: torch.Tensor, return_dict: bool | None = None):
        """Score sequences.

        Args:
            warmup: (B, n_obs, 68, 2) ground-truth conditioning frames.
            continuation: (B, T_gen, 68, 2) generated (fake) or ground-truth (real) frames that follow.
        """
        conditioning_frames = warmup.shape[1]
        frames = self._standardize(torch.cat([warmup, continuation], dim=1))  # (B, n_obs + T_gen, 136)
        embedded = self.embedding(frames)
        hidden = self.frame_classifier(embedded[:, conditioning_frames:].transpose(1, 2)).transpose(1, 2)
        frame_scores = self.frame_out(hidden).squeeze(-1)
        sequence_scores = self._sequence_scores(self.sequence_critic, embedded, conditioning_frames, pairs=False)
        pair_scores = None
        if self.config.use_pair_discriminator:
            if len(warmup) % 2:
                raise ValueError(f"the pair discriminator needs an even batch, got {len(warmup)}")
            pair_scores = self._sequence_scores(
                self.pair_critic, self.pair_embedding(frames), conditioning_frames, pairs=True
            )
        output = MSSyncDiscriminatorOutput(frame_scores, sequence_scores, pair_scores)
        return output if return_dict is not False else output.to_tuple()

    @staticmethod
    def _sequence_scores(
        critic: ChunkCritic, embedded: torch.Tensor, conditioning_frames: int, pairs: bool
    ) -> torch.Tensor:
        conditioning = critic.final_state(embedded[:, :conditioning_frames])
        if pairs:  # PacGAN-2: element-wise max of consecutive samples' states
            conditioning = _pair_max(conditioning)
        per_window = []
        for starts, states in critic.chunks(embedded, conditioning_frames):
            if pairs:
                states = _pair_max(states)
            per_window.append(critic.score(states, conditioning, starts))
        return torch.stack(per_window, 0).mean(0)


def _pair_max(states: torch.Tensor) -> torch.Tensor:
    """(2N, ...) -> (N, ...): element-wise max of samples (0, 1), (2, 3), ..."""
    return torch.maximum(states[0::2], states[1::2])
