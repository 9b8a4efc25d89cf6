"""MS-Sync multi-scale autoregressive generator (Airale et al., MS-Sync, §3.2).

Speech -> 68-landmark head and lip motion. At each step a temporal module (LSTM) summarises the
positions so far; a bottom-up audio feature pyramid gives one audio vector per level for the
*next* frame; one branch per level turns (state, position embedding, audio vector) into a velocity
and a per-landmark weight; a softmax over branches, tied for x and y of each landmark, merges the
velocities (eq. 8); the next position is the current one plus the velocity (eq. 7).

Where we differ:

* the four branches run as one stack of grouped kernel-1 ConvNeXt blocks (GroupNorm), as in the
  authors' code; each branch's dense trunk over concat(h, c, a^i) is split into a shared
  state part and a grouped audio part, which is the same linear map, so the audio part of every
  step is computed once for the whole sequence;
* landmark positions are standardised with training-set statistics stored as buffers (the
  syncers needed the same; positions vary by a few hundredths around 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from ..blocks import ConvNeXt1DBlock, LandmarkEmbedding, init_weights, pointwise_conv
from ..configuration_utils import ShippedModelMixin
from .configuration_ms_sync import MSSyncGeneratorConfig
from .fast_generation import FastRollout


@dataclass
class MSSyncGeneratorOutput(ModelOutput):
    """Generated landmark motion.

    Args:
        positions: (B, T, 68, 2) the full sequence x_{0:T}: the ground-truth warm-up frames, then every generated frame.
        velocities: (B, T - 1, 68, 2) v_{t+1} for t = 0..T-2 (including the warm-up reconstructions).
        branch_weights: (B, T - 1, num_branches, 68) merge weight of each branch per landmark and step.
        warmup_reconstructions: (B, n_obs - 1, 68, 2) predictions of warm-up frames 1..n_obs-1 from the frames before.
    """

    positions: torch.Tensor | None = None
    velocities: torch.Tensor | None = None
    branch_weights: torch.Tensor | None = None
    warmup_reconstructions: torch.Tensor | None = None


class AudioFeaturePyramid(nn.Module):
    """Bottom-up audio pyramid: (B, 4T, 26) -> (B, levels, D, T), coarser levels interpolated back to T (Airale et al.,
    MS-Sync, §3.2; MS-Sync code, ``FeaturePyramidNetwork``)."""

    def __init__(self, config: MSSyncGeneratorConfig):
        super().__init__()
        w1, w2, w3 = config.fpn_stem_widths
        e = config.expansion
        self.stem = nn.Sequential(
            ConvNeXt1DBlock(config.audio_dim, w1, 3, 1, e),
            ConvNeXt1DBlock(w1, w2, 3, 2, e),
            ConvNeXt1DBlock(w2, w3, 3, 1, e),
            ConvNeXt1DBlock(w3, config.fpn_dim, 3, 2, e),
        )
        self.down = nn.ModuleList(
            ConvNeXt1DBlock(config.fpn_dim, config.fpn_dim, config.fpn_kernel, 2, e)
            for _ in range(config.num_branches - 1)
        )

    def forward(self, audio: torch.Tensor, num_frames: int) -> torch.Tensor:
        level = self.stem(audio.transpose(1, 2))[..., :num_frames]  # (B, D, T): 25 Hz
        levels = [level]
        for block in self.down:
            level = block(level)
            levels.append(F.interpolate(level, size=num_frames, mode="linear", align_corners=True))
        return torch.stack(levels, dim=1)


class BranchStack(nn.Module):
    """All branches' velocity and mask heads as grouped kernel-1 ConvNeXt blocks (Airale et al., MS-Sync,
    §3.2 and eq. 8; grouped as in the MS-Sync code, ``deep_out_forward``)."""

    def __init__(self, config: MSSyncGeneratorConfig):
        super().__init__()
        b, width, e = config.num_branches, config.branch_dim, config.expansion
        points = 2 * config.num_landmarks

        def head(out_per_branch: int) -> nn.Sequential:
            blocks: list[nn.Module] = [
                ConvNeXt1DBlock(b * width, b * width, 1, 1, e, groups=b) for _ in range(config.branch_blocks)
            ]
            blocks += [
                ConvNeXt1DBlock(b * width, b * points, 1, 1, e, groups=b),
                nn.Conv1d(b * points, b * out_per_branch, 1, groups=b),
            ]
            return nn.Sequential(*blocks)

        self.velocity = head(points)
        self.mask = head(config.num_landmarks)
        self.num_branches, self.points, self.num_landmarks = b, points, config.num_landmarks

    def forward(self, trunk: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, b * width) trunk outputs -> velocities (B, b, 136) and mask logits (B, b, 68)."""
        x = F.gelu(trunk).unsqueeze(-1)
        batch = x.shape[0]
        velocities = self._head(self.velocity, x).view(batch, self.num_branches, self.points)
        return velocities, self._head(self.mask, x).view(batch, self.num_branches, self.num_landmarks)

    @staticmethod
    def _head(head: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
        *blocks, final = head
        for block in blocks:
            x = block(x)
        assert isinstance(final, nn.Conv1d)  # head() ends every head with a kernel-1 convolution
        return pointwise_conv(final, x)


class CausalTransformerState(nn.Module):
    """The authors' later temporal module: causal self-attention over the last ``context`` embeddings."""

    def __init__(self, config: MSSyncGeneratorConfig):
        super().__init__()
        self.input = nn.Linear(config.coordinate_dim, config.temporal_hidden_dim)
        layer = nn.TransformerEncoderLayer(
            config.temporal_hidden_dim,
            config.transformer_heads,
            4 * config.temporal_hidden_dim,
            dropout=0.0,
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, config.transformer_layers)
        self.position = nn.Parameter(torch.zeros(config.transformer_context, config.temporal_hidden_dim))
        self.context = config.transformer_context

    def forward(self, history: torch.Tensor) -> torch.Tensor:
        """(B, t, coordinate_dim) embeddings so far -> (B, hidden) state for the newest step."""
        history = history[:, -self.context :]
        x = self.input(history) + self.position[: history.shape[1]]
        mask = nn.Transformer.generate_square_subsequent_mask(history.shape[1], device=history.device)
        return self.encoder(x, mask=mask, is_causal=True)[:, -1]


class MSSyncGeneratorPreTrainedModel(ShippedModelMixin, PreTrainedModel):
    config_class = MSSyncGeneratorConfig
    base_model_prefix = "ms_sync_generator"
    main_input_name = "warmup_landmarks"

    def _init_weights(self, module: nn.Module) -> None:
        init_weights(module, self.config.initializer_range)


class MSSyncGenerator(MSSyncGeneratorPreTrainedModel):
    """G: warm-up landmarks + audio features -> landmark motion of any length, autoregressively."""

    landmark_mean: torch.Tensor
    landmark_std: torch.Tensor
    audio_mean: torch.Tensor
    audio_std: torch.Tensor

    def __init__(self, config: MSSyncGeneratorConfig):
        super().__init__(config)
        points = 2 * config.num_landmarks
        self.embedding = LandmarkEmbedding(
            points, config.landmark_hidden_dim, config.landmark_expand_dim, config.coordinate_dim
        )
        self.temporal: nn.LSTMCell | CausalTransformerState
        if config.temporal_module == "lstm":
            self.temporal = nn.LSTMCell(config.coordinate_dim, config.temporal_hidden_dim)
        else:
            self.temporal = CausalTransformerState(config)
        self.audio_pyramid = AudioFeaturePyramid(config)
        b = config.num_branches
        self.trunk_state = nn.Linear(config.temporal_hidden_dim + config.coordinate_dim, b * config.branch_dim)
        self.trunk_audio = nn.Conv1d(b * config.fpn_dim, b * config.branch_dim, 1, groups=b, bias=False)
        self.branches = BranchStack(config)
        self.compiled_rollout = True  # generate() with the numba rollout (fast_generation.py) where it applies
        # the numba rollout runs streams one after the other; past a few streams the batched PyTorch loop is faster
        # (benchmarks/RESULTS.md: 3.9k vs 4.4k frames/s at 32 streams)
        self.compiled_rollout_max_batch = 4
        self.register_buffer("landmark_mean", torch.full((points,), 0.5))
        self.register_buffer("landmark_std", torch.ones(points))
        self.register_buffer("audio_mean", torch.zeros(config.audio_dim))
        self.register_buffer("audio_std", torch.ones(config.audio_dim))
        self.post_init()

    @torch.no_grad()
    def set_input_statistics(self, landmark_mean, landmark_std, audio_mean, audio_std, min_std: float = 1e-3) -> None:
        """Training-set mean / std of landmark coordinates (136) and audio channels (26)."""
        self.landmark_mean.copy_(torch.as_tensor(landmark_mean, dtype=torch.float32).flatten())
        self.landmark_std.copy_(torch.as_tensor(landmark_std, dtype=torch.float32).flatten().clamp_min(min_std))
        self.audio_mean.copy_(torch.as_tensor(audio_mean, dtype=torch.float32).flatten())
        self.audio_std.copy_(torch.as_tensor(audio_std, dtype=torch.float32).flatten().clamp_min(min_std))

    def audio_trunk(self, audio: torch.Tensor, num_frames: int) -> torch.Tensor:
        """The audio part of every branch trunk for every frame: (B, 4T, 26) -> (B, T, b * branch_dim)."""
        audio = fit_audio(audio, self.config.audio_frames_per_frame * num_frames)
        levels = self.audio_pyramid((audio - self.audio_mean) / self.audio_std, num_frames)  # (B, b, D, T)
        return self.trunk_audio(levels.flatten(1, 2)).transpose(1, 2)

    def _initial_state(self, batch: int, device, dtype, noise_generator: torch.Generator | None = None):
        if self.config.temporal_module != "lstm":
            return None
        zeros = torch.zeros(batch, self.config.temporal_hidden_dim, device=device, dtype=dtype)
        hidden, cell = zeros, zeros.clone()
        if self.config.initial_state_noise > 0:
            noise = torch.randn(hidden.shape, generator=noise_generator, device=device, dtype=dtype)
            hidden = hidden + self.config.initial_state_noise * noise
        return hidden, cell

    def step(self, position: torch.Tensor, state, audio_trunk: torch.Tensor):
        """One step: x_t (B, 136), temporal state, audio trunk of frame t+1 -> v_{t+1}, branch weights, new state."""
        coordinates = self.embedding((position - self.landmark_mean) / self.landmark_std)
        if self.config.temporal_module == "lstm":
            state = self.temporal(coordinates, state)
            summary = state[0]
        else:
            state = coordinates[:, None] if state is None else torch.cat([state, coordinates[:, None]], dim=1)
            state = state[:, -self.config.transformer_context :]
            summary = self.temporal(state)
        trunk = self.trunk_state(torch.cat([summary, coordinates], dim=-1)) + audio_trunk
        velocities, logits = self.branches(trunk)  # (B, b, 136), (B, b, 68)
        weights = torch.softmax(logits, dim=1) if self.config.merge == "softmax" else torch.sigmoid(logits)
        velocity = (weights.repeat_interleave(2, dim=-1) * velocities).sum(dim=1)  # x and y share a weight
        return velocity * self.landmark_std, weights, state

    def forward(
        self,
        warmup_landmarks: torch.Tensor,
        audio: torch.Tensor,
        num_frames: int | None = None,
        return_dict: bool | None = None,
        noise_generator: torch.Generator | None = None,
    ):
        """Teacher-forced warm-up, then autoregressive generation (MS-Sync code,
        ``DynamicalModel.forward``).

        Args:
            warmup_landmarks: (B, n_obs, 68, 2) ground-truth positions of the first frames.
            audio: (B, 4T, 26) audio features of the whole sequence (warm-up included).
            num_frames: T, the length of the output sequence (default: the audio's length / 4).
            noise_generator: draws the initial-state noise (``config.initial_state_noise``); torch's global
                generator when None. Inference passes its own, seeded, so that two threads cannot draw each
                other's numbers.
        """
        batch, n_obs = warmup_landmarks.shape[:2]
        num_frames = num_frames or audio.shape[1] // self.config.audio_frames_per_frame
        if num_frames <= n_obs:
            raise ValueError(f"num_frames={num_frames} must exceed the {n_obs} warm-up frames")
        audio_trunk = self.audio_trunk(audio, num_frames)  # (B, T, b * width)
        warmup = warmup_landmarks.flatten(2)
        state = self._initial_state(batch, warmup.device, warmup.dtype, noise_generator)
        positions, velocities, weights = [warmup[:, 0]], [], []
        current = warmup[:, 0]
        for t in range(num_frames - 1):
            velocity, branch_weights, state = self.step(current, state, audio_trunk[:, t + 1])
            predicted = current + velocity
            velocities.append(velocity)
            weights.append(branch_weights)
            positions.append(predicted)
            current = warmup[:, t + 1] if t + 1 < n_obs else predicted
        predicted = torch.stack(positions, dim=1)  # (B, T, 136)
        sequence = torch.cat([warmup, predicted[:, n_obs:]], dim=1)
        shape = (batch, -1, self.config.num_landmarks, 2)
        output = MSSyncGeneratorOutput(
            positions=sequence.view(shape),
            velocities=torch.stack(velocities, dim=1).view(shape),
            branch_weights=torch.stack(weights, dim=1),
            warmup_reconstructions=predicted[:, 1:n_obs].reshape(shape),
        )
        return output if return_dict is not False else output.to_tuple()

    @torch.no_grad()
    def generate(
        self,
        initial_landmarks: torch.Tensor,
        audio: torch.Tensor,
        num_frames: int | None = None,
        history: torch.Tensor | None = None,
        noise_generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Landmark motion for ``audio`` from one still frame (MS-Sync code, ``execute_model``).

        ``initial_landmarks`` (B, 68, 2) is repeated as a static warm-up (or ``history``, (B, n_obs, 68, 2),
        is used); the audio is prefixed with a mirror of its first frames so the warm-up steps hear
        plausible sound. Returns (B, T, 68, 2); frame 0 is the last warm-up reconstruction. Memory grows
        with T only (one step at a time, no graph). ``noise_generator``: see :meth:`forward`.
        """
        n_obs = self.config.num_warmup_frames
        per_frame = self.config.audio_frames_per_frame
        num_frames = num_frames or audio.shape[1] // per_frame
        if history is None:
            history = initial_landmarks[:, None].expand(-1, n_obs, -1, -1)
        lead = per_frame * (n_obs - 1)
        if lead:
            mirror = audio[:, 1 : lead + 1].flip(1) if audio.shape[1] > lead else audio[:, :1].expand(-1, lead, -1)
            audio = torch.cat([mirror, audio], dim=1)
        total = num_frames + n_obs - 1
        if self._use_compiled_rollout(history):
            return self._compiled_generate(history, audio, total)[:, n_obs - 1 :]
        output = self.forward(history, audio, total, noise_generator=noise_generator)
        if n_obs == 1:
            return output.positions
        return torch.cat([output.warmup_reconstructions[:, -1:], output.positions[:, n_obs:]], dim=1)

    def _use_compiled_rollout(self, history: torch.Tensor) -> bool:
        return (
            self.compiled_rollout
            and self.config.temporal_module == "lstm"
            and self.config.initial_state_noise == 0
            and history.device.type == "cpu"
            and history.shape[0] <= self.compiled_rollout_max_batch
        )

    def _compiled_generate(self, history: torch.Tensor, audio: torch.Tensor, num_frames: int) -> torch.Tensor:
        """Every prediction x̂_0..x̂_{T-1} of :meth:`forward`, from the numba rollout: (B, T, 68, 2)."""

        rollout = FastRollout(self)  # laid out per call (milliseconds), so it never lags behind training
        trunks = self.audio_trunk(audio, num_frames).float().numpy()
        warmups = history.flatten(2).float().numpy()
        sequences = [rollout.run(warmup, trunk, num_frames) for warmup, trunk in zip(warmups, trunks, strict=False)]
        return torch.from_numpy(np.stack(sequences).astype(np.float32)).view(
            len(sequences), num_frames, self.config.num_landmarks, 2
        )


def fit_audio(audio: torch.Tensor, length: int) -> torch.Tensor:
    """(B, A, C) -> (B, length, C): edge-padded at the end or truncated."""
    if audio.shape[1] >= length:
        return audio[:, :length]
    return torch.cat([audio, audio[:, -1:].expand(-1, length - audio.shape[1], -1)], dim=1)
