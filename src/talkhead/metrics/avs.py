"""AV-HuBERT synchrony metrics AVS_u, AVS_m, AVS_v (Yaman et al., "Audio-Visual Speech Representation Expert
for Enhanced Talking Face Video Generation and Evaluation", CVPRW 2024, eq. 4-6).

With TE the last transformer layer of a lip-reading AV-HuBERT (:class:`talkhead.models.av_hubert.AVHubertModel`)
and a zero placeholder for a missing modality:

* AVS_u = CS(TE(V^G, 0), TE(0, A)): generated lips against the audio; needs no ground truth;
* AVS_m = CS(TE(V^G, A), TE(V^GT, A)): generated and ground-truth videos, each with the audio;
* AVS_v = CS(TE(V^G, 0), TE(V^GT, 0)): generated against ground-truth lips, no audio.

CS is the cosine of the two feature sequences at each frame, averaged over the frames [O: the paper does not
say how the sequence is reduced], then over videos. Higher is better; 1 means identical features.
Inputs are the standard (non-differentiable) ones: mouth crops from the full frames and their landmarks,
:func:`talkhead.models.av_hubert.feature_extraction_av_hubert.av_hubert_inputs`.

Where we differ: nothing in the formulas; the numbers depend on the checkpoint and on our mean face
(see :mod:`talkhead.processing.mouth_crops`), so compare AVS values only across runs of this code.
"""

from __future__ import annotations

from typing import overload

import numpy as np
import torch
import torch.nn.functional as F

NEEDS_REFERENCE = "needs the ground-truth video's mouth crops (reference_rois)"
NEEDS_AUDIO = "needs the audio features (audio_features)"


def frame_cosine(features: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(B, T, D), (B, T, D) -> (B,): the cosine at each frame, averaged over the frames."""
    return F.cosine_similarity(features, targets, dim=-1, eps=1e-8).mean(dim=1)


def _encode(model, video=None, audio=None) -> torch.Tensor:
    return model(video=video, audio=audio).last_hidden_state


class AVHubertExpert:
    """AV-HuBERT as a :class:`~talkhead.metrics.sync.SyncExpert`: TE(V, 0) of (T, 88, 88) normalised mouth crops against
    TE(0, A) of (T, 104) stacked log filterbanks, one frame a window, compared by cosine (what AVS_u averages)."""

    window = 1
    metric = "cosine"
    padding = "valid"

    def __init__(self, model):
        self.model = model.eval()

    def num_windows(self, rois, audio_features) -> int:
        return min(len(rois), len(audio_features))

    @torch.no_grad()
    def embed_visual(self, rois, count: int) -> np.ndarray:
        return self._encode(video=rois[:count])

    @torch.no_grad()
    def embed_audio(self, audio_features, count: int) -> np.ndarray:
        return self._encode(audio=audio_features[:count])

    def _encode(self, **inputs) -> np.ndarray:
        parameter = next(self.model.parameters())
        batch = {
            name: torch.as_tensor(np.asarray(value)[None], dtype=parameter.dtype, device=parameter.device)
            for name, value in inputs.items()
        }
        return _encode(self.model, **batch)[0].float().cpu().numpy()


@torch.no_grad()
def avs_u(model, generated: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """AVS_u per video, (B,): generated crops (B, 1, T, 88, 88) or (B, T, 88, 88) against audio (B, T, 104)."""
    return frame_cosine(_encode(model, video=generated), _encode(model, audio=audio))


@torch.no_grad()
def avs_m(model, generated: torch.Tensor, reference: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """AVS_m per video, (B,): generated and ground-truth crops, each encoded with the same audio."""
    return frame_cosine(_encode(model, generated, audio), _encode(model, reference, audio))


@torch.no_grad()
def avs_v(model, generated: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """AVS_v per video, (B,): generated against ground-truth crops, without audio."""
    return frame_cosine(_encode(model, video=generated), _encode(model, video=reference))


def _batch(value, single_dims: int, device, dtype) -> torch.Tensor:
    """numpy or torch, one video (``single_dims`` axes) or a batch -> a float batch on the model's device."""
    tensor = torch.as_tensor(np.asarray(value) if not torch.is_tensor(value) else value)
    if tensor.dim() == single_dims:
        tensor = tensor.unsqueeze(0)
    return tensor.to(device=device, dtype=dtype)


@overload
def _trim(tensor: torch.Tensor, frames: int, video: bool) -> torch.Tensor: ...
@overload
def _trim(tensor: None, frames: int, video: bool) -> None: ...
def _trim(tensor: torch.Tensor | None, frames: int, video: bool) -> torch.Tensor | None:
    if tensor is None:
        return None
    if video and tensor.dim() == 5:  # (B, 1, T, H, W)
        return tensor[:, :, :frames]
    return tensor[:, :frames]


def _frames(tensor: torch.Tensor, video: bool) -> int:
    return int(tensor.shape[2] if video and tensor.dim() == 5 else tensor.shape[1])


@torch.no_grad()
def avs_scores(model, generated_rois, audio_features=None, reference_rois=None) -> dict:
    """AVS_u, AVS_m and AVS_v of one video (or a batch of equal-length videos), each averaged over videos.

    Args:
        model: an :class:`AVHubertModel` (lip-reading fine-tuned weights, converted); put in eval mode here.
        generated_rois: (T, 88, 88) normalised mouth crops of the generated video
            (:func:`talkhead.processing.mouth_crops.normalize_rois`), or (B, T, 88, 88) / (B, 1, T, 88, 88).
        audio_features: (T, 104) or (B, T, 104) stacked log filterbanks of the driving audio, or None.
        reference_rois: the ground-truth video's crops, shaped like ``generated_rois``, or None.

    Returns:
        ``{"avs_u": float, "avs_m": float, "avs_v": float, "frames": T, "not_computed": {name: reason}}``:
        a metric that cannot be computed from what was given is absent and its reason is in ``not_computed``
        (empty when all three were computed). When the inputs differ in length, all are cut to the shortest
        and ``frames`` says how many were scored.
    """
    model.eval()
    parameter = next(model.parameters())
    device, dtype = parameter.device, parameter.dtype
    generated = _batch(generated_rois, 3, device, dtype)
    audio = None if audio_features is None else _batch(audio_features, 2, device, dtype)
    reference = None if reference_rois is None else _batch(reference_rois, 3, device, dtype)
    lengths = (
        [_frames(generated, True)]
        + ([_frames(audio, False)] if audio is not None else [])
        + ([_frames(reference, True)] if reference is not None else [])
    )
    frames = min(lengths)
    if frames < 1:
        raise ValueError(f"nothing to score: input lengths {lengths}")
    generated, audio, reference = (
        _trim(generated, frames, True),
        _trim(audio, frames, False),
        _trim(reference, frames, True),
    )

    result: dict = {"frames": frames, "not_computed": {}}
    visual = _encode(model, video=generated)  # TE(V^G, 0), shared by AVS_u and AVS_v
    if audio is not None:
        result["avs_u"] = float(frame_cosine(visual, _encode(model, audio=audio)).mean())
    else:
        result["not_computed"]["avs_u"] = NEEDS_AUDIO
    if reference is not None and audio is not None:
        result["avs_m"] = float(avs_m(model, generated, reference, audio).mean())
    else:
        result["not_computed"]["avs_m"] = " and ".join(
            reason for reason, absent in ((NEEDS_REFERENCE, reference is None), (NEEDS_AUDIO, audio is None)) if absent
        )
    if reference is not None:
        result["avs_v"] = float(frame_cosine(visual, _encode(model, video=reference)).mean())
    else:
        result["not_computed"]["avs_v"] = NEEDS_REFERENCE
    return result


__all__ = ["AVHubertExpert", "frame_cosine", "avs_u", "avs_m", "avs_v", "avs_scores"]
