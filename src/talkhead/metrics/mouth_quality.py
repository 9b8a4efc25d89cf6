"""Mouth quality at video resolution: SSIM, PSNR and sharpness inside the mouth box.

The protocol the no-learning baselines (:mod:`talkhead.metrics.baselines`) are measured by: the **mouth box** is the
square centred on points 48-67 of the *real* frame, side 1.35 x the mouth width (horizontal extent of points 48-67); the
generated frame is compared with the real one inside it. **Sharpness** is the variance of the Laplacian of the grey box,
generated over real (a smear scores far below 1). The **face box** is the tight box of all 68 points. **Teeth share** is
the share of the pixels inside the inner lips (points 60-67) that are bright and grey (HSV value at least
``TEETH_VALUE``, saturation at most ``TEETH_SATURATION``): teeth, where lips, tongue and throat are red or dark. Every
function takes RGB uint8 frames and image-pixel landmarks.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import TalkheadInputError
from ..processing.mouth_crops import MIN_OPEN_AREA, inner_lip_area
from .image import finite_mean

MOUTH_BOX_SCALE = 1.35
TEETH_VALUE = 130  # of 255
TEETH_SATURATION = 90  # of 255


def mouth_box(landmarks: np.ndarray, scale: float = MOUTH_BOX_SCALE) -> np.ndarray:
    """(4,) integer square (x0, y0, x1, y1) centred on the mouth, side ``scale`` x its width."""
    mouth = np.asarray(landmarks, np.float64)[48:68]
    center = (mouth.min(0) + mouth.max(0)) / 2
    half = scale * np.ptp(mouth[:, 0]) / 2
    return np.round(np.concatenate([center - half, center + half])).astype(int)


def face_box(landmarks: np.ndarray) -> np.ndarray:
    """(4,) integer tight box of the 68 points."""
    points = np.asarray(landmarks, np.float64)
    return np.round(np.concatenate([points.min(0), points.max(0)])).astype(int)


def cut_box(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = box
    height, width = image.shape[:2]
    return image[max(y0, 0) : min(y1, height), max(x0, 0) : min(x1, width)]


def box_ssim(generated: np.ndarray, real: np.ndarray, box: np.ndarray) -> float:
    """SSIM (Gaussian window, sigma 1.5, colour) of two frames inside ``box``."""
    from skimage.metrics import structural_similarity

    a, b = cut_box(generated, box), cut_box(real, box)
    if min(a.shape[:2]) < 7:
        return float("nan")
    return float(
        structural_similarity(
            a, b, channel_axis=-1, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
        )
    )


def box_psnr(generated: np.ndarray, real: np.ndarray, box: np.ndarray) -> float:
    """PSNR in dB inside ``box``; ``inf`` for identical boxes (left out of means by the caller)."""
    a, b = cut_box(generated, box).astype(np.float64), cut_box(real, box).astype(np.float64)
    mse = float(((a - b) ** 2).mean()) if a.size else float("nan")
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def laplacian_variance(image: np.ndarray, box: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image inside ``box``: high for sharp edges, low for a smear."""

    grey = cv2.cvtColor(np.ascontiguousarray(cut_box(image, box)), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var()) if grey.size else float("nan")


def inner_mouth_region(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 RGB pixels of ``image`` inside the inner-lip polygon of ``landmarks`` (image pixels)."""
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(np.asarray(landmarks)[60:68] * 4).astype(np.int32)], 1, cv2.LINE_8, shift=2)
    return image[mask.astype(bool)]


def teeth_fraction(pixels: np.ndarray) -> float:
    """Share of (N, 3) uint8 RGB ``pixels`` that look like teeth (bright, grey)."""
    hsv = cv2.cvtColor(np.ascontiguousarray(pixels, np.uint8)[None], cv2.COLOR_RGB2HSV)[0]
    return float(np.mean((hsv[:, 2] >= TEETH_VALUE) & (hsv[:, 1] <= TEETH_SATURATION)))


def lip_teeth_share(image: np.ndarray, landmarks: np.ndarray) -> float:
    """Share of the pixels between the outer lips (points 48-59 of ``landmarks``, image pixels) that look like teeth.
    Unlike :func:`teeth_share` it needs no inner-lip gap: dlib's inner-lip points often meet on the edge of the
    teeth, and a mouth they call shut can still show a band of them. 0 without pixels."""
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(np.asarray(landmarks)[48:60] * 4).astype(np.int32)], 1, cv2.LINE_8, shift=2)
    pixels = image[mask.astype(bool)]
    return teeth_fraction(pixels) if len(pixels) else 0.0


def teeth_share(image: np.ndarray, landmarks: np.ndarray) -> float:
    """Share of the inner mouth's pixels that look like teeth (bright, grey); NaN when the lips are closed."""
    pixels = inner_mouth_region(image, landmarks)
    if inner_lip_area(landmarks) < MIN_OPEN_AREA or len(pixels) < 4:
        return float("nan")
    return teeth_fraction(pixels)


def mouth_quality(generated: np.ndarray, real: np.ndarray, landmarks: np.ndarray) -> dict:
    """Per-frame mouth and face scores of ``generated`` against ``real`` (real frame's ``landmarks``, image px)."""
    box = mouth_box(landmarks)
    return {
        "mouth_ssim": box_ssim(generated, real, box),
        "mouth_psnr": box_psnr(generated, real, box),
        "mouth_sharpness": laplacian_variance(generated, box) / max(laplacian_variance(real, box), 1e-9),
        "face_ssim": box_ssim(generated, real, face_box(landmarks)),
    }


def summarize(rows: list[dict]) -> dict:
    """Means of per-frame scores, leaving out NaN and infinite values (identical boxes have infinite PSNR; a
    score that is infinite on every frame stays ``inf``)."""

    keys = rows[0].keys() if rows else []
    return {key: finite_mean([r[key] for r in rows]) for key in keys}


def check_landmarks(landmarks: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(landmarks, np.float64)
    if array.ndim != 3 or array.shape[1:] != (68, 2):
        raise TalkheadInputError(f"{name} must be (frames, 68, 2) iBUG-68 landmarks in pixels, got shape {array.shape}")
    return array


def check_frames(frames: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(frames)
    if array.ndim != 4 or array.shape[-1] != 3 or array.dtype != np.uint8:
        raise TalkheadInputError(
            f"{name} must be (frames, height, width, 3) uint8 RGB, got shape {array.shape} of {array.dtype}"
        )
    return array


def flicker_per_pair(frames: np.ndarray, landmarks: np.ndarray, count: int) -> np.ndarray:
    """(count - 1,) mean absolute grey difference between frames t and t + 1 inside the mouth box of frame t's
    landmarks (one box for both frames, so that the box itself does not move); NaN where frame t has no face."""
    changes = np.full(max(count - 1, 0), np.nan)
    for t in range(count - 1):
        if not np.isfinite(landmarks[t]).all():
            continue
        box = mouth_box(landmarks[t])
        first, second = (
            cv2.cvtColor(np.ascontiguousarray(cut_box(frames[i], box)), cv2.COLOR_RGB2GRAY) for i in (t, t + 1)
        )
        if first.size:
            changes[t] = float(np.abs(first.astype(np.float64) - second).mean())
    return changes


def mouth_flicker(frames: np.ndarray, landmarks: np.ndarray) -> float:
    """Mean absolute frame-to-frame change (grey levels, of 255) of the pixels inside the mouth box
    (:func:`mouth_box`) of (T, H, W, 3) uint8 RGB ``frames``, the box placed by each
    pair's first frame's (T, 68, 2) ``landmarks``; NaN without a pair with a face."""
    frames, landmarks = check_frames(frames, "frames"), check_landmarks(landmarks, "landmarks")
    changes = flicker_per_pair(frames, landmarks, min(len(frames), len(landmarks)))
    return float(np.nanmean(changes)) if np.isfinite(changes).any() else float("nan")
