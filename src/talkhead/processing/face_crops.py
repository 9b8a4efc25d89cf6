"""Face crop geometry: the boxes every model, metric and dataset cuts faces with, and paste-back.

Boxes are float (x0, y0, x1, y1) in frame pixels.

* :func:`face_crop_boxes` (smoothed over time by :func:`smooth_boxes`): per-frame square boxes around the
  face for the 96x96 crops of the image-side models (Wav2Lip-style tight crops with the chin inside; Yaman et
  al., stabilized sync, §3.5).
* :func:`clip_crop_box`: one fixed square per clip (the union of its smoothed face boxes, enlarged by
  ``CLIP_ENLARGE``): the frame of reference for normalised landmarks (VoxCeleb2 (II) / FOMM protocol; Airale et al.,
  MS-Sync, §4.1).
  :func:`frame_clip` applies both to a clip's landmarks: the one convention of ``talkhead preprocess``, the
  metrics and the pipelines.
* :func:`crop_faces` / :func:`paste_face`: cut out and put back, with a feathered mask;
  :func:`faces_to_tensor`: crops as the image models read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .landmarks import EYEBROWS, normalize_landmarks

FACE_SIZE = 96  # side of the tight face crops the image models read
CLIP_ENLARGE = 0.3  # the clip crop is the union of the face boxes enlarged by this much of its side per side


def smooth_boxes(boxes: np.ndarray, window: int = 5) -> np.ndarray:
    """Centred moving average of boxes over time (edge-padded); removes crop jitter. (T, 4) -> (T, 4)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    if window <= 1 or len(boxes) < 2:
        return boxes.astype(np.float32)
    half = window // 2
    padded = np.pad(boxes, ((half, half), (0, 0)), mode="edge")
    cumulative = np.cumsum(np.concatenate([np.zeros((1, 4)), padded]), axis=0)
    return ((cumulative[window:] - cumulative[:-window]) / window).astype(np.float32)


def square_box(center: np.ndarray, side: np.ndarray) -> np.ndarray:
    center = np.asarray(center, np.float64)
    half = np.asarray(side, np.float64)[..., None] / 2
    return np.concatenate([center - half, center + half], axis=-1).astype(np.float32)


def face_crop_boxes(landmarks: np.ndarray, forehead: float = 0.25, chin: float = 0.08, zoom: float = 1.0) -> np.ndarray:
    """Square crop boxes (..., 4) for the tight 96x96 face crops, from 68-point landmarks.

    The box spans from a little above the eyebrows (``forehead`` face widths) to just below the chin
    (``chin``), as wide as the jaw, so the eyes fall in the upper half and the mouth in the lower
    half that the generators repaint (Yaman et al., stabilized sync, §3.1).
    """
    landmarks = np.asarray(landmarks, np.float64)
    x0, x1 = landmarks[..., 0].min(-1), landmarks[..., 0].max(-1)
    width = x1 - x0
    top = landmarks[..., EYEBROWS, 1].min(-1) - forehead * width
    bottom = landmarks[..., 1].max(-1) + chin * width
    side = np.maximum(width, bottom - top) * zoom
    center = np.stack([(x0 + x1) / 2, (top + bottom) / 2], axis=-1)
    return square_box(center, side)


def clip_crop_box(boxes: np.ndarray, enlarge: float = CLIP_ENLARGE) -> np.ndarray:
    """One square box holding every face box of a clip, enlarged by ``enlarge`` of its side on each side.

    Used as the fixed frame of reference for normalised landmarks. It may extend past the image.
    """
    boxes = np.asarray(boxes, np.float64)
    boxes = boxes[np.all(np.isfinite(boxes), axis=-1)]
    if len(boxes) == 0:
        raise ValueError("no face boxes to build a clip crop from")
    union = np.concatenate([boxes[:, :2].min(0), boxes[:, 2:].max(0)])
    side = max(union[2] - union[0], union[3] - union[1]) * (1 + 2 * enlarge)
    return square_box((union[:2] + union[2:]) / 2, side)


def crop_box_transform(box: np.ndarray, size: int) -> np.ndarray:
    """2x3 affine that maps frame pixels into a ``size`` x ``size`` crop of ``box``."""
    x0, y0, x1, y1 = np.asarray(box, np.float64)
    sx, sy = size / (x1 - x0), size / (y1 - y0)
    return np.array([[sx, 0, -x0 * sx], [0, sy, -y0 * sy]], np.float64)


def crop_face(frame: np.ndarray, box: np.ndarray, size: int = FACE_SIZE) -> np.ndarray:
    """Cut ``box`` out of ``frame`` and resize to ``size`` x ``size``; outside the frame is edge-replicated."""
    box = np.asarray(box, np.float64)
    height, width = frame.shape[:2]
    # work on the box's region only; where the box leaves the frame the region ends at the frame edge,
    # so replicating the region's border is replicating the frame's
    x0, y0 = int(np.clip(np.floor(box[0]) - 1, 0, width - 1)), int(np.clip(np.floor(box[1]) - 1, 0, height - 1))
    x1, y1 = int(np.clip(np.ceil(box[2]) + 2, x0 + 1, width)), int(np.clip(np.ceil(box[3]) + 2, y0 + 1, height))
    region = frame[y0:y1, x0:x1]
    matrix = crop_box_transform(box - [x0, y0, x0, y0], size)
    scale = matrix[0, 0]
    if scale < 0.5:  # area-average first when shrinking a lot: bilinear sampling alone would alias
        factor = 0.5 / scale
        region = cv2.resize(region, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA)
        matrix = matrix @ np.array([[factor, 0, 0], [0, factor, 0], [0, 0, 1]])
    return cv2.warpAffine(region, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def crop_faces(frames, boxes: np.ndarray, size: int = FACE_SIZE) -> np.ndarray:
    """(T, size, size, 3) uint8 crops, one box per frame."""
    return np.stack([crop_face(frame, box, size) for frame, box in zip(frames, boxes, strict=False)])


@lru_cache(maxsize=8)
def feather_mask(size: int, feather: float = 0.1, lower_only: bool = False) -> np.ndarray:
    """(size, size) float32 blending weights: 1 inside, falling smoothly to 0 over ``feather`` of the side.

    ``lower_only`` keeps only the bottom half of the face (the region the generators repaint), with a
    soft upper edge.
    """
    ramp = max(1, int(round(size * feather)))
    edge = np.minimum(np.arange(size), np.arange(size)[::-1]).astype(np.float32)
    profile = np.clip(edge / ramp, 0, 1)
    profile = profile * profile * (3 - 2 * profile)  # smoothstep
    mask = np.outer(profile, profile)
    if lower_only:
        rows = np.clip((np.arange(size) - size * 0.45) / ramp, 0, 1).astype(np.float32)
        mask = mask * (rows * rows * (3 - 2 * rows))[:, None]
    return mask.astype(np.float32)


def paste_face(frame: np.ndarray, face: np.ndarray, box: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Blend a square ``face`` crop back into ``frame`` at ``box`` (the inverse of :func:`crop_face`).

    ``mask`` (face-sized weights, :func:`feather_mask` by default) feathers the seam. Returns a new frame.
    """
    size = face.shape[0]
    if mask is None:
        mask = feather_mask(size)
    height, width = frame.shape[:2]
    x0, y0 = (max(int(np.floor(v)), 0) for v in box[:2])
    x1, y1 = min(int(np.ceil(box[2])) + 1, width), min(int(np.ceil(box[3])) + 1, height)
    result = frame.copy()
    if x1 <= x0 or y1 <= y0:
        return result
    # warp only into the box's region of the frame
    inverse = cv2.invertAffineTransform(crop_box_transform(box, size))
    inverse[:, 2] -= (x0, y0)
    region = (x1 - x0, y1 - y0)
    warped = cv2.warpAffine(face, inverse, region, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(mask, inverse, region, flags=cv2.INTER_LINEAR, borderValue=0.0)[..., None]
    background = frame[y0:y1, x0:x1].astype(np.float32)
    blended = background + (warped.astype(np.float32) - background) * alpha
    result[y0:y1, x0:x1] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    return result


@dataclass
class ClipFraming:
    """A clip's landmarks in the dataset convention (what ``talkhead preprocess`` stores)."""

    face_boxes: np.ndarray  # (T, 4) smoothed per-frame crop boxes, frame pixels
    clip_box: np.ndarray  # (4,) the fixed square crop of the clip, frame pixels
    landmarks: np.ndarray  # (T, 68, 2) in clip_box units: [0, 1), y down


def frame_clip(pixels: np.ndarray, enlarge: float = CLIP_ENLARGE) -> ClipFraming:
    """Smoothed face boxes, the clip crop around them and the landmarks normalised in it, from (T, 68, 2)
    landmarks in frame pixels with no gaps."""
    face_boxes = smooth_boxes(face_crop_boxes(pixels))
    clip_box = clip_crop_box(face_boxes, enlarge)
    return ClipFraming(face_boxes, clip_box.astype(np.float32), normalize_landmarks(pixels, clip_box))


def faces_to_tensor(faces: np.ndarray):
    """(..., 96, 96, 3) uint8 -> (..., 3, 96, 96) float32 torch tensor in [0, 1]: crops as the image models read
    them."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(faces)).movedim(-1, -3).float() / 255.0
