"""Mouth motion from speech: per-frame phones and mel -> mouth shapes.

Not from a paper of the three this library implements: the MS-Sync generator (Airale et al.) rolls out
landmarks autoregressively from mel features, and on 11 minutes of data its mouth drifts open and
moves half as much as a real one on new speakers. This model keeps the task as small as it is: a
non-autoregressive, non-causal stack of dilated residual 1D convolutions maps the phones a speech
recogniser hears (:mod:`talkhead.processing.phones`, speaker-independent) and the mel of each video
frame to the mouth's displacement from the speaker's mean shape, in the head-fixed face frame of
:mod:`talkhead.processing.mouth`. No rollout, so no drift; the output gain is fitted on held-out
speakers so the mouth moves as much as a real one. :meth:`MouthMotionModel.predict_speech` closes the mouth
wherever the audio is silent in absolute terms, which the clip-normalised mel cannot tell. The features come from
:class:`~.feature_extraction_mouth_motion.MouthMotionFeatureExtractor`, beside this file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from ...processing import audio as audio_lib
from ...processing.mouth import CLOSED_PERCENTILE, keep_lips_apart, shape_inner_lip_opening, shape_lip_gap
from ...processing.phones import DEFAULT_LANGUAGE
from ..blocks import init_weights
from ..configuration_utils import ShippedModelMixin
from .configuration_mouth_motion import MouthMotionConfig
from .feature_extraction_mouth_motion import MouthMotionFeatureExtractor


def inner_lip_gap(displacements: torch.Tensor) -> torch.Tensor:
    """(..., 20, 2) -> (...,): mean vertical gap of the inner-lip pairs (61, 67), (62, 66), (63, 65); linear, so it
    works on displacements as on shapes."""
    top, bottom = [61 - 48, 62 - 48, 63 - 48], [67 - 48, 66 - 48, 65 - 48]
    return (displacements[..., bottom, 1] - displacements[..., top, 1]).mean(-1)


def opening_correlation(predicted: torch.Tensor, real: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(B, T) openings and frame weights -> (B,) their Pearson correlation per window: lip-follow, differentiable.
    Scale-free, so it rewards a mouth that opens when the real one does, however far."""
    total = weights.sum(-1, keepdim=True).clamp(min=1)
    centred = [x - (x * weights).sum(-1, keepdim=True) / total for x in (predicted, real)]
    covariance = (centred[0] * centred[1] * weights).sum(-1)
    spread = [((x * x) * weights).sum(-1).clamp(min=1e-8).sqrt() for x in centred]
    return covariance / (spread[0] * spread[1])


PHOTO_GAIN_RANGE = (0.5, 3.0)  # how far predict_photo may scale an utterance's motion towards a typical speaker's


@dataclass
class MouthMotionOutput(ModelOutput):
    """``displacements`` (B, T, 20, 2): mouth shape minus the speaker's mean shape, face-frame units,
    after ``output_gain``; ``loss`` when ``labels`` were given (before the gain)."""

    loss: torch.Tensor | None = None
    displacements: torch.Tensor | None = None


class DilatedResidualBlock(nn.Module):
    """x + dropout(conv_d(GELU(norm(x)))): one dilated temporal convolution with a pre-norm residual, reading
    ``right`` future frames (``None``: centred, ``dilation * (kernel_size // 2)``)."""

    def __init__(
        self,
        channels: int,
        kernel_size: int,
        dilation: int,
        dropout: float,
        right: int | None = None,
    ):
        super().__init__()
        right = dilation * (kernel_size // 2) if right is None else right
        self.norm = nn.GroupNorm(1, channels)
        self.padding = (dilation * (kernel_size - 1) - right, right)
        self.conv = nn.Conv1d(channels, channels, kernel_size, dilation=dilation)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = nn.functional.pad(nn.functional.gelu(self.norm(x)), self.padding)
        return x + self.dropout(self.conv(y))


class MouthMotionStack(nn.Module):
    """One member of the model: input projection, dilated residual blocks, output projection -> (B, T, 20, 2)."""

    def __init__(self, config: MouthMotionConfig):
        super().__init__()
        self.input_dropout = nn.Dropout(config.input_dropout)
        self.input_projection = nn.Conv1d(config.input_size, config.hidden_size, 1)
        self.blocks = nn.ModuleList(
            DilatedResidualBlock(config.hidden_size, config.kernel_size, d, config.dropout, right)
            for d, right in zip(config.dilations, config.right_padding(), strict=True)
        )
        self.output_norm = nn.GroupNorm(1, config.hidden_size)
        self.output_projection = nn.Conv1d(config.hidden_size, 2 * config.mouth_points, 1)

    def forward(self, audio_features: torch.Tensor) -> torch.Tensor:
        x = self.input_projection(self.input_dropout(audio_features).transpose(1, 2))
        for block in self.blocks:
            x = block(x)
        raw = self.output_projection(nn.functional.gelu(self.output_norm(x))).transpose(1, 2)
        return raw.reshape(*raw.shape[:2], -1, 2)


class MouthMotionModel(ShippedModelMixin, PreTrainedModel):
    """Audio features (B, T, input_size) -> mouth displacements (B, T, 20, 2); see the module docstring.

    With ``config.ensemble_size`` > 1 the model is that many independently initialised stacks whose
    predictions are averaged; each is trained on its own loss (the mean of the members' losses, not the
    loss of their mean, so they stay different). On held-out speakers four members followed the mouth
    better than the best single one (benchmarks/RESULTS.md).
    """

    config_class = MouthMotionConfig
    config: MouthMotionConfig
    base_model_prefix = "mouth_motion"
    main_input_name = "audio_features"

    def __init__(self, config: MouthMotionConfig):
        super().__init__(config)
        self.members = nn.ModuleList(MouthMotionStack(config) for _ in range(config.ensemble_size))
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        init_weights(module, self.config.initializer_range)

    def _member_loss(self, raw: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        error = (raw - labels).pow(2).sum((-1, -2))
        if self.config.opening_loss_weight:
            error = error + self.config.opening_loss_weight * (inner_lip_gap(raw) - inner_lip_gap(labels)).pow(2)
        weights = torch.ones_like(error) if mask is None else mask.to(error.dtype)
        loss = (error * weights).sum() / weights.sum().clamp(min=1)
        if self.config.correlation_loss_weight:
            loss = (
                loss
                + self.config.correlation_loss_weight
                * (1 - opening_correlation(inner_lip_gap(raw), inner_lip_gap(labels), weights)).mean()
            )
        return loss

    def forward(
        self, audio_features: torch.Tensor, labels: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> MouthMotionOutput:
        """``labels`` (B, T, 20, 2) true displacements; ``mask`` (B, T) marks the frames that count (padding)."""
        outputs = [member(audio_features) for member in self.members]
        raw = torch.stack(outputs).mean(0)
        loss = None
        if labels is not None:
            loss = torch.stack([self._member_loss(out, labels, mask) for out in outputs]).mean()
        displacements = raw if self.training else raw * self.config.output_gain
        return MouthMotionOutput(loss=loss, displacements=displacements)

    @torch.no_grad()
    def predict(self, audio_features: np.ndarray, from_rest: bool = False) -> np.ndarray:
        """(T, input_size) features of one clip -> (T, 20, 2) displacements (numpy, eval mode).

        ``from_rest``: displacements from the rest (silent) pose instead of the speaker's mean shape, for a
        still photo whose mouth is at rest.
        """
        was_training = self.training
        self.eval()
        tensor = torch.from_numpy(np.asarray(audio_features, np.float32)).to(self.device)
        if self.config.look_ahead is None:
            displacements = self(tensor[None]).displacements[0]
        else:  # each frame from its own window, as a stream makes it
            displacements = self._windowed(tensor)
        displacements = displacements.cpu().numpy().astype(np.float64)
        self.train(was_training)
        if from_rest:
            displacements -= self.rest_displacement()
        return displacements

    def _windowed(self, features: torch.Tensor) -> torch.Tensor:
        """(T, 20, 2) of a streamable model: frame t from the frames t - frames_before to t + look_ahead alone (fewer
        at the clip's ends), the window a stream holds, so a normalisation over the window sees what it would."""
        before, after = self.config.frames_before, self.config.frames_after
        count, width = len(features), before + after + 1
        outputs = torch.zeros(count, self.config.mouth_points, 2, device=features.device)
        inside = range(before, count - after)
        if len(inside):
            windows = features.unfold(0, width, 1).transpose(1, 2)  # window i is frames i .. i + width - 1
            for batch in range(0, len(windows), 256):
                made = self(windows[batch : batch + 256]).displacements[:, before]
                outputs[before + batch : before + batch + len(made)] = made
        for t in [t for t in range(count) if t not in inside]:
            start, stop = max(t - before, 0), min(t + after + 1, count)
            outputs[t] = self(features[None, start:stop]).displacements[0, t - start]
        return outputs

    @torch.no_grad()
    def predict_frame(self, window_features: np.ndarray, index: int) -> np.ndarray:
        """(20, 2): a streamable model's displacement for frame ``index`` of ``window_features`` (W, input_size), the
        frames a stream holds around it: what :meth:`predict` gives for that frame, one frame at a time."""
        was_training = self.training
        self.eval()
        start = max(index - self.config.frames_before, 0)
        window = np.asarray(window_features[start : index + self.config.frames_after + 1], np.float32)
        output = self(torch.from_numpy(window)[None].to(self.device)).displacements[0, index - start]
        self.train(was_training)
        return output.cpu().numpy().astype(np.float64)

    def rest_displacement(self) -> np.ndarray:
        """(20, 2): the silent mouth as a displacement from the mean shape, at the output gain (what ``from_rest``
        subtracts)."""
        return np.asarray(self.config.silence_displacement, np.float64).reshape(-1, 2) * self.config.output_gain

    def predict_speech(
        self,
        wave: np.ndarray,
        num_frames: int,
        fps: float,
        from_rest: bool = False,
        phones: np.ndarray | None = None,
        language: str = DEFAULT_LANGUAGE,
    ) -> np.ndarray:
        """(num_frames, 20, 2) displacements for 16 kHz mono ``wave`` at ``fps`` (see :meth:`predict`), with the mouth
        pulled to rest wherever the audio is silent. ``language``: the speech's, as in
        :func:`~talkhead.processing.phones.decode_phones` (``auto`` lets the recogniser's confidence choose).

        The mel is normalised over the clip, so 10 s of digital silence would read as average speech and the model
        would hold the mouth open; :func:`~talkhead.processing.audio.silence_closing_weights` measures silence
        on the absolute level instead, whether the whole input is silent or a part.
        """
        features = MouthMotionFeatureExtractor.from_config(self.config)(wave, num_frames, fps, phones, language)
        displacements = self.predict(features, from_rest)
        rest = np.zeros_like(displacements[0]) if from_rest else self.rest_displacement()
        closing = audio_lib.silence_closing_weights(wave, num_frames, fps)[:, None, None]
        return (1 - closing) * displacements + closing * rest

    def predict_photo(
        self,
        wave: np.ndarray,
        num_frames: int,
        fps: float,
        rest_shape: np.ndarray,
        phones: np.ndarray | None = None,
        language: str = DEFAULT_LANGUAGE,
    ) -> np.ndarray:
        """(num_frames, 20, 2) displacements that animate a photo whose mouth, shut, is ``rest_shape`` (20, 2, face
        frame): ``rest_shape`` plus them is each frame's mouth.

        :meth:`predict_speech` with ``from_rest`` measures from the silent training frames' mean, whose lips are
        often parted: from a shut photo, the quarter of the frames the model closes more than that crossed the lips
        and were clipped, and the mouth moved about half as much as a real one. Here the anchor is the utterance's
        own most closed predicted mouths (``CLOSED_PERCENTILE``, as :func:`~talkhead.processing.mouth.closed_shape`
        finds a video's), silence shuts the mouth, and with ``config.speech_opening_std`` the motion is scaled so
        that the opening varies as much as a typical training speaker's (within ``PHOTO_GAIN_RANGE``).
        """
        features = MouthMotionFeatureExtractor.from_config(self.config)(wave, num_frames, fps, phones, language)
        raw = self.predict(features)
        gaps = shape_lip_gap(rest_shape + raw)
        displacements = raw - raw[gaps <= np.percentile(gaps, CLOSED_PERCENTILE)].mean(0)
        closing = audio_lib.silence_closing_weights(wave, num_frames, fps)[:, None, None]
        displacements = (1 - closing) * displacements
        target = getattr(self.config, "speech_opening_std", None)
        spread = float(np.std(shape_inner_lip_opening(keep_lips_apart(rest_shape + displacements))))
        if target and spread > 1e-6:
            displacements = displacements * float(np.clip(target / spread, *PHOTO_GAIN_RANGE))
        return displacements
