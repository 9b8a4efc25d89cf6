"""Landmark-domain metrics (Airale et al., MS-Sync, §4.2-4.3).

* :func:`multiscale_sync`: |AV-Off_i| and AV-Conf_i at every pyramid level, each level of the evaluation
  syncers a :class:`~talkhead.metrics.sync.SyncExpert` (:class:`MSSyncLevelExpert`) through the one offset search.
* :func:`landmark_frechet`: the Fréchet distance between two sets of landmark sequences, with the
  evaluation syncers' landmark encoders as the feature extractor (one distance per level and
  their mean). This is what we report: the paper's FID/FVD need InceptionV3 and I3D weights that
  cannot be downloaded here.
* :func:`rasterize_landmarks`, :func:`motion_trail`, :func:`inception_frechet`: the paper's raster
  protocol (SUHMo code, ``fast_seq2img`` and ``Metrics``) for a user who supplies the Inception weights
  (:mod:`talkhead.backbones.inception`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import scipy.linalg
import torch

from ..models.ms_sync.modeling_ms_sync import windows_per_level
from ..processing.landmarks import EYEBROWS, EYES, JAW, MOUTH, NOSE
from .sync import VSHIFT, SyncResult, expert_offset

STEP_MS = 40  # one level-1 offset step at 25 fps
DEFAULT_PADDING = "valid"


@dataclass
class MultiscaleSyncResult:
    """The :class:`~talkhead.metrics.sync.SyncResult` of one clip at each pyramid level."""

    levels: dict[int, SyncResult]

    def to_dict(self, curves: bool = True) -> dict:
        return {
            f"level_{level}": {**result.to_dict(curves), "step_ms": STEP_MS * 2 ** (level - 1)}
            for level, result in self.levels.items()
        }

    def summary(self) -> dict[str, float]:
        """``av_off_i`` (absolute offsets) and ``av_conf_i`` for every level."""
        values = {}
        for level, result in self.levels.items():
            values[f"av_off_{level}"] = float(abs(result.offset))
            values[f"av_conf_{level}"] = float(result.confidence)
        return values


class MSSyncLevelExpert:
    """One level of the MS-Sync syncers as a :class:`~talkhead.metrics.sync.SyncExpert`: visual = (T, 68, 2) landmarks
    in crop units, audio = (4T, 26) logfbank; Euclidean distances; one step is 2^(level-1) frames."""

    metric = "euclidean"

    def __init__(self, syncers, level: int, padding: str = DEFAULT_PADDING):
        self.syncers, self.level, self.padding = syncers.eval(), level, padding
        self.window = syncers.min_frames(level)

    def num_windows(self, landmarks, logfbank) -> int:

        return windows_per_level(len(landmarks), self.level, self.syncers.config.landmark_window)

    @torch.no_grad()
    def embed_visual(self, landmarks, count: int) -> np.ndarray:
        self.syncers.check_length(len(landmarks), [self.level])
        features = self.syncers.landmark_features(self._tensor(landmarks), [self.level])[0]
        return features[0, :count].cpu().numpy()

    @torch.no_grad()
    def embed_audio(self, logfbank, count: int) -> np.ndarray:
        return self.syncers.audio_features(self._tensor(logfbank), self.level, count)[0].cpu().numpy()

    def _tensor(self, values) -> torch.Tensor:
        device = next(self.syncers.parameters()).device
        return torch.as_tensor(np.asarray(values, np.float32), device=device)[None]


def multiscale_sync(
    eval_syncer,
    landmarks,
    logfbank,
    levels: list[int] | None = None,
    vshift: int = VSHIFT,
    padding: str = DEFAULT_PADDING,
) -> MultiscaleSyncResult:
    """Multi-scale AV offset and confidence of one clip (Airale et al., MS-Sync, §4.3):
    :func:`~talkhead.metrics.sync.expert_offset` at each level (:class:`MSSyncLevelExpert`).

    Args:
        eval_syncer: an :class:`~talkhead.models.ms_sync.MSSyncSyncerModel` trained as evaluation syncers.
        landmarks: (T, 68, 2) positions in crop units.
        logfbank: (4T, 26) audio features.
        levels: levels to report (all the syncers have by default).
        padding: ``"valid"`` (default here) averages each shift over the windows that overlap;
            ``"zeros"`` is SyncNet's zero padding (``SyncNetInstance.py``). With the small syncers we can train,
            aligned embeddings lie farther apart than an embedding from the zero vector, so zero
            padding drags the minimum to the edge of the search (ground-truth |AV-Off_1| of 7.1 steps
            on held-out clips, against 3.5 with ``valid``; benchmarks/RESULTS.md).
    """
    levels = list(levels or range(1, eval_syncer.config.num_levels + 1))
    eval_syncer.check_length(len(landmarks), levels)
    return MultiscaleSyncResult(
        {
            level: expert_offset(MSSyncLevelExpert(eval_syncer, level, padding), landmarks, logfbank, vshift)
            for level in levels
        }
    )


def gaussian_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance of (N, D) features."""
    features = np.asarray(features, np.float64)
    if len(features) < 2:
        raise ValueError(f"need at least 2 feature vectors for a covariance, got {len(features)}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """‖μ1 - μ2‖² + Tr(Σ1 + Σ2 - 2 (Σ1 Σ2)^½); an ε diagonal is added when the product is singular."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(sigma1)) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


@torch.no_grad()
def syncer_landmark_features(eval_syncer, sequences: list[np.ndarray], level: int) -> np.ndarray:
    """Landmark-encoder embeddings of every window of every sequence at ``level``: (N, D)."""
    device = next(eval_syncer.parameters()).device
    features = []
    for sequence in sequences:
        x = torch.as_tensor(np.asarray(sequence, np.float32), device=device)[None]
        features.append(eval_syncer.eval().landmark_features(x, [level])[0][0].cpu().numpy())
    return np.concatenate(features)


def landmark_frechet(
    eval_syncer, generated: list[np.ndarray], reference: list[np.ndarray], levels: list[int] | None = None
) -> dict[str, float]:
    """Fréchet distance between generated and reference landmark sequences in syncer-feature space.

    Returns ``frechet_i`` per level and ``frechet`` (their mean). Sequences are (T, 68, 2) in crop units.
    """
    levels = levels or list(range(1, eval_syncer.config.num_levels + 1))
    values = {}
    for level in levels:
        generated_stats = gaussian_statistics(syncer_landmark_features(eval_syncer, generated, level))
        reference_stats = gaussian_statistics(syncer_landmark_features(eval_syncer, reference, level))
        values[f"frechet_{level}"] = frechet_distance(*generated_stats, *reference_stats)
    values["frechet"] = float(np.mean([values[f"frechet_{level}"] for level in levels]))
    return values


# --- the paper's raster protocol (needs user-supplied Inception weights) ----------------------------

RASTER_GROUPS = ((JAW,), (EYEBROWS, NOSE, EYES), (MOUTH,))  # channels 0, 1, 2 (SUHMo code, ``fast_seq2img``)


def rasterize_landmarks(landmarks: np.ndarray, size: int = 224, mode: str = "points") -> np.ndarray:
    """(..., 68, 2) landmarks in [0, 1) -> (..., 3, size, size) float32 rasters (SUHMo code, ``fast_seq2img``).

    ``points``: one lit pixel per landmark (clamped to [0, 0.99], scaled, truncated), jaw / brows +
    nose + eyes / mouth in channels 0 / 1 / 2. ``lines``: the same regions drawn as polylines, a
    visualisation aid only.
    """
    landmarks = np.asarray(landmarks, np.float32)
    lead = landmarks.shape[:-2]
    flat = landmarks.reshape(-1, 68, 2)
    rasters = np.zeros((len(flat), 3, size, size), np.float32)
    pixels = (np.clip(flat, 0.0, 0.99) * size).astype(int)
    for channel, groups in enumerate(RASTER_GROUPS):
        for group in groups:
            points = pixels[:, group]  # (N, P, 2)
            if mode == "points":
                frame_index = np.repeat(np.arange(len(flat)), points.shape[1])
                rasters[frame_index, channel, points[..., 1].ravel(), points[..., 0].ravel()] = 1.0
            elif mode == "lines":
                for index in range(len(flat)):
                    image = np.ascontiguousarray(rasters[index, channel])
                    cv2.polylines(image, [points[index].reshape(-1, 1, 2).astype(np.int32)], False, 1.0, 1)
                    rasters[index, channel] = image
            else:
                raise ValueError(f"mode must be 'points' or 'lines', got {mode!r}")
    return rasters.reshape(*lead, 3, size, size)


def motion_trail(rasters: np.ndarray) -> np.ndarray:
    """(M, 3, H, W) raster clip -> one (3, H, W) image, later frames heavier (t-FID, Airale et al., MS-Sync,
    §4.2; weights from the SUHMo code)."""
    weights = np.linspace(0.2, 0.8, len(rasters))
    weights = weights / weights.sum()
    return np.tensordot(weights, np.asarray(rasters, np.float32), axes=1).astype(np.float32)


@torch.no_grad()
def inception_features(inception, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """(N, 3, H, W) images in [0, 1] -> (N, 2048) pool3 features of the FID InceptionV3."""
    device = next(inception.parameters()).device
    chunks = [
        inception(torch.as_tensor(images[i : i + batch_size], device=device)).cpu().numpy()
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(chunks)


def inception_frechet(inception, generated_images: np.ndarray, reference_images: np.ndarray) -> float:
    """FID between two sets of images (rasters or motion trails) with a user-supplied Inception."""
    return frechet_distance(
        *gaussian_statistics(inception_features(inception, generated_images)),
        *gaussian_statistics(inception_features(inception, reference_images)),
    )
