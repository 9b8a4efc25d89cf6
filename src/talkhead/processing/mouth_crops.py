"""Mouth crops: the square around the lips the mouth-interior generator reads and writes.

One convention for ``talkhead preprocess --mouths``, the training script and the talking-head pipeline:

* :func:`mouth_crop_boxes`: a square centred on the mouth's 20 points, ``MOUTH_BOX_SCALE`` inter-ocular distances
  on a side (the mouth, wide open, and a margin of cheek and chin), cut at ``MOUTH_SIZE`` pixels with
  :func:`~talkhead.processing.face_crops.crop_face`. Scaled by the eyes, not by the mouth's width, so a
  smile or an open jaw does not zoom the crop.
* :func:`inner_mouth_mask`: the region a generator fills: the polygon of the inner lips (points 60-67),
  grown by a few pixels so the seam falls on the lips' inner edge, which the warp of a closed photo smears.
"""

from __future__ import annotations

import cv2
import numpy as np

from .face_crops import square_box
from .landmarks import INNER_LIP, MOUTH
from .mouth import eye_distance

MOUTH_SIZE = 64  # side of the mouth crops (a mouth about 45 px wide: teeth show, and a CPU trains on it)
MOUTH_BOX_SCALE = 1.25  # side of the mouth crop over the inter-ocular distance
MIN_OPEN_AREA = 4.0  # squared pixels of inner-lip polygon below which the lips count as touching
MASK_GROW = 1.5  # pixels (at MOUTH_SIZE) the inner-lip polygon is grown by


def mouth_crop_boxes(landmarks: np.ndarray, scale: float = MOUTH_BOX_SCALE) -> np.ndarray:
    """(..., 4) square boxes (x0, y0, x1, y1) in the landmarks' pixels around the mouth of (..., 68, 2) landmarks."""
    landmarks = np.asarray(landmarks, np.float64)
    center = landmarks[..., MOUTH, :].mean(-2)
    return square_box(center, scale * eye_distance(landmarks))


def points_in_box(points: np.ndarray, boxes: np.ndarray, size: int = MOUTH_SIZE) -> np.ndarray:
    """(..., N, 2) frame-pixel points in the pixels of a ``size`` crop of ``boxes`` (..., 4)."""
    points, boxes = np.asarray(points, np.float64), np.asarray(boxes, np.float64)
    origin, side = boxes[..., None, :2], (boxes[..., None, 2:] - boxes[..., None, :2])
    return (points - origin) * (size / side)


def inner_lip_area(points: np.ndarray) -> np.ndarray:
    """(...,) area in squared pixels of the inner-lip polygon (points 60-67) of (..., 68, 2) landmarks."""
    x, y = np.asarray(points, np.float64)[..., INNER_LIP, 0], np.asarray(points, np.float64)[..., INNER_LIP, 1]
    return 0.5 * np.abs((x * np.roll(y, -1, -1) - np.roll(x, -1, -1) * y).sum(-1))


def inner_mouth_mask(crop_points: np.ndarray, size: int = MOUTH_SIZE, grow: float = MASK_GROW) -> np.ndarray:
    """(size, size) float32 in [0, 1]: the inner-lip polygon of (68, 2) crop-pixel landmarks, grown by ``grow``
    pixels, with an anti-aliased edge. All zeros when the lips touch (less than a pixel between them: nothing to
    fill)."""
    mask: np.ndarray = np.zeros((size, size), np.float32)
    if inner_lip_area(crop_points) < MIN_OPEN_AREA:
        return mask
    polygon = np.round(np.asarray(crop_points)[INNER_LIP] * 4).astype(np.int32)  # 2 bits of sub-pixel precision
    cv2.fillPoly(mask, [polygon], 1.0, cv2.LINE_AA, shift=2)
    if not mask.any():
        return mask
    if grow > 0:
        radius = int(np.ceil(grow))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        mask = cv2.dilate(mask, kernel)
    return np.clip(cv2.GaussianBlur(mask, (0, 0), 0.7), 0.0, 1.0)
