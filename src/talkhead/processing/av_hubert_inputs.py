"""Inputs of the AV-HuBERT lip-sync expert (Shi et al. 2022, ``hubert_dataset.py`` and
``preparation/align_mouth.py`` of facebookresearch/av_hubert; used by Yaman et al., AV-HuBERT expert, §3.5).

* :func:`stacked_logfbank`: audio, 16 kHz waveform -> (T, 104): 26 log filterbank energies at 100 Hz
  (:func:`pcm_logfbank`), 4 consecutive frames stacked into one row per 25-fps video frame, each row
  normalised over its own 104 values (layer norm without affine), zero rows past the end of the audio.
* :func:`mouth_rois`: video frames + 68 landmarks -> (T, 96, 96) uint8 grayscale mouth crops: each frame
  warped by the similarity that takes its five stable points (nose tip 33, eye corners 36, 39, 42, 45),
  averaged over a 12-frame window, onto a mean face in a 256x256 canvas, then a 96x96 crop centred on the
  mean of that frame's mouth points 48-67. :func:`mouth_roi_transforms` gives the per-frame 2x3 affine
  (frame pixels -> crop pixels) on its own, for the differentiable paste-back path of
  the lip-sync loss (Yaman et al., AV-HuBERT expert, §3.5 and Fig. 3).
* :func:`normalize_rois`: centre crop 88, /255, (x - 0.421) / 0.165 -> what :class:`AVHubertModel` takes.
* :func:`av_hubert_inputs`: all three for one video.

Where we differ from AV-HuBERT's preparation and why:

* Nothing in the audio: :func:`pcm_logfbank` is python_speech_features' ``logfbank`` with its defaults on
  the 16-bit PCM scale (25 ms rectangular frames every 10 ms, pre-emphasis 0.97, 512-point power spectrum,
  26 FFT-bin-quantised mel triangles, natural log), built from :mod:`talkhead.processing.audio`'s front end
  (the one behind logfbank26 and mfcc13), not from logfbank26 itself: logfbank26 peak-normalises and uses
  librosa's triangles, which suit our own models but not pretrained AV-HuBERT weights.
* The mean face. AV-HuBERT aligns to ``20words_mean_face.npy`` (from mpc001's lip-reading repository),
  which cannot be downloaded here. :data:`MEAN_FACE_POINTS` is our own 5-point mean face: the proportions
  of the widely used 51-point dlib mean-face template (outer eye-corner distance D; inner corners 0.21 D
  from the centre line; nose tip 0.55 D below the eye line; the mouth then falls 0.78 D below it), scaled
  to D = 90 px with the eye line at y = 100 and the face centred at x = 128 in the 256x256 canvas, so the
  mouth centre lands near (128, 170) and a 96x96 crop spans nostrils to chin with a ~58 px wide mouth,
  about what AV-HuBERT's ROIs look like. Pass the official points with ``mean_face=`` to match it exactly.
* Crops that would leave the 256 canvas are clamped to it; AV-HuBERT raises beyond 5 px.
* Warping uses OpenCV (bilinear, black border) in place of scikit-image (bilinear, black border), and the
  crop is folded into the affine so the 256x256 canvas is never materialised; the sampled points are the same.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import EmptyAudioError
from .audio import (
    LOGFBANK_PER_VIDEO_FRAME,
    MFCC_PCM_SCALE,
    SAMPLE_RATE,
    _band_energies,
    _check_rate,
    _nonzero,
    _quantised_mel_filters,
)
from .landmarks import apply_transform, similarity_transform

STACK = LOGFBANK_PER_VIDEO_FRAME  # 4 filterbank frames (10 ms) per video frame (40 ms)
AUDIO_FEATURE_SIZE = 26 * STACK  # 104
STABLE_POINTS = (33, 36, 39, 42, 45)  # nose tip, outer/inner corner of the right eye, inner/outer of the left
MOUTH_POINTS = slice(48, 68)
CANVAS_SIZE = 256
ROI_SIZE = 96
CROP_SIZE = 88
PIXEL_MEAN = 0.421
PIXEL_STD = 0.165
SMOOTHING_WINDOW = 12

MEAN_FACE_POINTS = np.array(
    [
        [128.0, 149.4],  # 33 nose tip
        [83.0, 99.1],  # 36 outer corner, subject's right eye (image left)
        [109.0, 100.9],  # 39 inner corner
        [147.0, 100.9],  # 42 inner corner, subject's left eye
        [173.0, 99.1],  # 45 outer corner
    ],
    dtype=np.float64,
)
"""Our 5-point mean face in the 256x256 canvas, in :data:`STABLE_POINTS` order (see the module docstring)."""


# ---- audio ---------------------------------------------------------------------------------------


def stack_logfbank(logfbank: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """(4T, 26) log filterbanks at 100 Hz -> (ceil(4T / 4), 104): stack 4 frames (zero rows fill the last
    stack), then normalise each row to zero mean and unit variance (``F.layer_norm`` over the row, eps 1e-5)."""
    feats = np.asarray(logfbank, dtype=np.float32)
    if feats.ndim != 2:
        raise ValueError(f"expected (frames, bands) log filterbanks, got shape {feats.shape}")
    remainder = (-len(feats)) % STACK
    if remainder:
        feats = np.concatenate([feats, np.zeros((remainder, feats.shape[1]), np.float32)])
    stacked = feats.reshape(-1, STACK * feats.shape[1]).astype(np.float64)
    mean = stacked.mean(axis=1, keepdims=True)
    variance = stacked.var(axis=1, keepdims=True)
    return ((stacked - mean) / np.sqrt(variance + eps)).astype(np.float32)


def pcm_logfbank(wave: np.ndarray, sample_rate: int = SAMPLE_RATE, pcm_scale: float = MFCC_PCM_SCALE) -> np.ndarray:
    """``python_speech_features.logfbank(int16 samples, 16000)``: (N, 26) float32 at 100 Hz, N = 1 + ⌈(n - 400) / 160⌉.

    ``wave`` is a float waveform in [-1, 1] (as :func:`talkhead.processing.audio.load_audio` returns it),
    multiplied by ``pcm_scale`` to the int16 scale AV-HuBERT reads wav files at.
    """
    _check_rate(sample_rate)
    wave = np.asarray(wave, dtype=np.float64)
    if wave.size == 0:
        raise EmptyAudioError("cannot compute the filterbank of an empty waveform")
    energies, _ = _band_energies(wave * pcm_scale, _quantised_mel_filters(sample_rate))
    return np.log(_nonzero(energies)).astype(np.float32)


def stacked_logfbank(wave: np.ndarray, num_frames: int | None = None, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """AV-HuBERT audio features of a 16 kHz mono waveform in [-1, 1], (num_frames, 104) float32 (AV-HuBERT
    code, ``hubert_dataset.py``).

    :func:`pcm_logfbank`, then :func:`stack_logfbank`, then zero rows appended (audio shorter than the video)
    or rows dropped (longer) to reach ``num_frames`` video frames; ``None`` keeps every stacked row.
    """
    rows = stack_logfbank(pcm_logfbank(wave, sample_rate))
    if num_frames is None:
        return rows
    if num_frames <= 0:
        raise ValueError(f"num_frames={num_frames}: need at least one video frame")
    if len(rows) >= num_frames:
        return np.ascontiguousarray(rows[:num_frames])
    return np.concatenate([rows, np.zeros((num_frames - len(rows), rows.shape[1]), np.float32)])


# ---- video ---------------------------------------------------------------------------------------


def smoothed_stable_points(landmarks: np.ndarray, window: int = SMOOTHING_WINDOW) -> np.ndarray:
    """(T, 5, 2) stable points, frame t averaged over frames t .. t + window - 1 (a forward window, as
    AV-HuBERT's preparation); the last window - 1 frames reuse the last full window's average."""
    points = np.asarray(landmarks, np.float64)[:, STABLE_POINTS]
    width = max(1, min(len(points), window))
    sums = np.concatenate([np.zeros((1, 5, 2)), np.cumsum(points, axis=0)])
    averages = (sums[width:] - sums[:-width]) / width  # (T - width + 1, 5, 2)
    last = len(averages) - 1
    return averages[np.minimum(np.arange(len(points)), last)]


def mouth_roi_transforms(
    landmarks: np.ndarray, window: int = SMOOTHING_WINDOW, mean_face: np.ndarray | None = None, roi_size: int = ROI_SIZE
) -> np.ndarray:
    """(T, 2, 3) affines from frame pixels to mouth-crop pixels: the smoothed similarity warp onto the mean face,
    followed by the ``roi_size`` crop centred on the frame's own mouth points (clamped to the 256 canvas).

    Args:
        landmarks: (T, 68, 2) iBUG-68 points in frame pixels, (x, y).
        window: frames averaged for the stable points (12 in AV-HuBERT).
        mean_face: the target of the warp, (5, 2) in :data:`STABLE_POINTS` order or a (68, 2) mean face,
            in the 256x256 canvas; :data:`MEAN_FACE_POINTS` by default.
    """
    landmarks = np.asarray(landmarks, np.float64)
    if landmarks.ndim != 3 or landmarks.shape[1:] != (68, 2) or len(landmarks) == 0:
        raise ValueError(f"landmarks must be (T, 68, 2) pixels with T >= 1, got shape {landmarks.shape}")
    target = MEAN_FACE_POINTS if mean_face is None else np.asarray(mean_face, np.float64)
    if target.shape == (68, 2):
        target = target[list(STABLE_POINTS)]
    if target.shape != (5, 2):
        raise ValueError(f"mean_face must be (5, 2) stable points or (68, 2), got shape {target.shape}")
    half = roi_size / 2
    transforms = np.empty((len(landmarks), 2, 3))
    for t, stable in enumerate(smoothed_stable_points(landmarks, window)):
        matrix = similarity_transform(stable, target)
        centre = apply_transform(matrix, landmarks[t, MOUTH_POINTS]).mean(axis=0)
        centre = np.clip(np.round(centre), half, CANVAS_SIZE - half)
        matrix[:, 2] -= centre - half  # the crop's top-left corner becomes the origin
        transforms[t] = matrix
    return transforms


def to_gray(frames: np.ndarray) -> np.ndarray:
    """(..., H, W, 3) RGB uint8 -> (..., H, W) uint8 with 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601 luma)."""
    frames = np.asarray(frames)
    gray = frames[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(np.round(gray), 0, 255).astype(np.uint8)


def mouth_rois(
    frames: np.ndarray, landmarks: np.ndarray, window: int = SMOOTHING_WINDOW, mean_face: np.ndarray | None = None
) -> np.ndarray:
    """Grayscale mouth crops for AV-HuBERT, (T, 96, 96) uint8 (AV-HuBERT code,
    ``preparation/align_mouth.py``).

    Args:
        frames: (T, H, W, 3) RGB uint8 video frames (or (T, H, W) grayscale).
        landmarks: (T, 68, 2) iBUG-68 landmarks of those frames, in pixels.
        window, mean_face: see :func:`mouth_roi_transforms`.
    """

    frames = np.asarray(frames)
    if frames.ndim not in (3, 4) or (frames.ndim == 4 and frames.shape[-1] != 3):
        raise ValueError(f"frames must be (T, H, W, 3) RGB or (T, H, W) grayscale, got shape {frames.shape}")
    if len(frames) != len(landmarks):
        raise ValueError(f"{len(frames)} frames but {len(landmarks)} landmark sets")
    gray = to_gray(frames) if frames.ndim == 4 else frames.astype(np.uint8)
    transforms = mouth_roi_transforms(landmarks, window, mean_face)
    return np.stack(
        [
            cv2.warpAffine(
                image,
                matrix,
                (ROI_SIZE, ROI_SIZE),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=0,
            )
            for image, matrix in zip(gray, transforms, strict=True)
        ]
    )


def normalize_rois(rois: np.ndarray, crop_size: int = CROP_SIZE) -> np.ndarray:
    """(T, 96, 96) uint8 mouth crops -> (T, 88, 88) float32: centre crop, /255, (x - 0.421) / 0.165 (AV-HuBERT
    code, ``hubert_dataset.py``)."""
    rois = np.asarray(rois)
    height, width = rois.shape[-2:]
    if height < crop_size or width < crop_size:
        raise ValueError(f"crops of {height}x{width} are smaller than the {crop_size}x{crop_size} centre crop")
    top, left = (height - crop_size) // 2, (width - crop_size) // 2
    crop = rois[..., top : top + crop_size, left : left + crop_size].astype(np.float32) / 255.0
    return ((crop - PIXEL_MEAN) / PIXEL_STD).astype(np.float32)


def av_hubert_inputs(
    frames: np.ndarray, landmarks: np.ndarray, wave: np.ndarray, mean_face: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One video's AV-HuBERT inputs: ((T, 88, 88) normalised mouth crops, (T, 104) audio features).

    ``frames`` (T, H, W, 3) RGB uint8 at 25 fps, ``landmarks`` (T, 68, 2) pixels, ``wave`` 16 kHz mono
    on the same timeline (sample 0 at frame 0). Add a batch axis to feed :class:`AVHubertModel`.
    """
    rois = normalize_rois(mouth_rois(frames, landmarks, mean_face=mean_face))
    return rois, stacked_logfbank(wave, len(rois))


__all__ = [
    "AUDIO_FEATURE_SIZE",
    "MEAN_FACE_POINTS",
    "STABLE_POINTS",
    "ROI_SIZE",
    "CROP_SIZE",
    "PIXEL_MEAN",
    "PIXEL_STD",
    "pcm_logfbank",
    "stack_logfbank",
    "stacked_logfbank",
    "similarity_transform",
    "smoothed_stable_points",
    "mouth_roi_transforms",
    "to_gray",
    "mouth_rois",
    "normalize_rois",
    "av_hubert_inputs",
]
