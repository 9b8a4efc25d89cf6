"""iBUG-68 landmark conventions, as the MS-Sync and SUHMo code use them.

Landmarks are (..., 68, 2) arrays of (x, y) = (column, row). In a dataset they are normalised by a
fixed per-clip square crop (:func:`normalize_landmarks`): origin at the crop's top-left corner, y
down, divided by the crop side, so a face inside the crop lies in [0, 1) and head translation is
kept (no per-frame centring).
"""

from __future__ import annotations

import cv2
import numpy as np

NUM_LANDMARKS = 68

JAW = slice(0, 17)
EYEBROWS = slice(17, 27)
NOSE = slice(27, 36)
EYES = slice(36, 48)
OUTER_LIP = slice(48, 60)
INNER_LIP = slice(60, 68)
MOUTH = slice(48, 68)
RIGHT_EYE = slice(36, 42)  # the subject's right eye: the image's left
LEFT_EYE = slice(42, 48)
NOSE_TIP = 33
MOUTH_CORNERS = (48, 54)
INNER_LIP_TOP = 62
INNER_LIP_BOTTOM = 66


def _flip_permutation() -> np.ndarray:
    pairs = [(i, 16 - i) for i in range(8)]  # jaw
    pairs += [(17 + i, 26 - i) for i in range(5)]  # eyebrows
    pairs += [(31, 35), (32, 34)]  # nostrils
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]  # outer lip
    pairs += [(60, 64), (61, 63), (65, 67)]  # inner lip
    permutation = np.arange(NUM_LANDMARKS)
    for a, b in pairs:
        permutation[a], permutation[b] = b, a
    return permutation


FLIP_PERMUTATION = _flip_permutation()
"""``flipped[i] = mirrored(original[FLIP_PERMUTATION[i]])``: the left/right index swap of a mirror image."""


def flip_landmarks(landmarks: np.ndarray, width: float = 1.0) -> np.ndarray:
    """Mirror landmarks horizontally (x -> width - x) and swap left/right indices.

    ``width`` is 1 for normalised landmarks, the image width for pixel coordinates. Flipping twice
    returns the input.
    """
    flipped = np.asarray(landmarks)[..., FLIP_PERMUTATION, :].copy()
    flipped[..., 0] = width - flipped[..., 0]
    return flipped


def normalize_landmarks(landmarks: np.ndarray, crop_box: np.ndarray) -> np.ndarray:
    """Pixel landmarks -> crop units: (p - crop top-left) / crop side. ``crop_box`` is square (x0, y0, x1, y1).

    One box (4,) for every frame, or one per frame: boxes (..., 4) with landmarks (..., 68, 2).
    """
    corner, side = _corner_and_side(crop_box)
    return ((np.asarray(landmarks, np.float64) - corner) / side).astype(np.float32)


def denormalize_landmarks(landmarks: np.ndarray, crop_box: np.ndarray) -> np.ndarray:
    """Inverse of :func:`normalize_landmarks`."""
    corner, side = _corner_and_side(crop_box)
    return (np.asarray(landmarks, np.float64) * side + corner).astype(np.float32)


def _corner_and_side(crop_box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A box's top-left corner (..., 1, 2) and side (..., 1, 1), shaped to broadcast against (..., 68, 2)."""
    crop_box = np.asarray(crop_box, dtype=np.float64)
    return crop_box[..., None, :2], (crop_box[..., 2] - crop_box[..., 0])[..., None, None]


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 similarity (rotation, uniform scale, translation) that best maps ``source`` (N, 2) points onto
    ``target`` (N, 2) in the least-squares sense (Umeyama 1991; what scikit-image's ``'similarity'`` estimates)."""
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    source_mean, target_mean = source.mean(0), target.mean(0)
    src, dst = source - source_mean, target - target_mean
    covariance = dst.T @ src / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # a reflection fits better: take the best rotation instead
        sign[-1] = -1
    rotation = u @ np.diag(sign) @ vt
    variance = src.var(axis=0).sum()
    scale = (singular * sign).sum() / variance if variance > 0 else 1.0
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = target_mean - matrix[:, :2] @ source_mean
    return matrix


def apply_transform(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (..., 2) through a 2x3 (or 3x3 homogeneous) affine ``matrix``."""
    return points @ matrix[:2, :2].T + matrix[:2, 2]


def landmark_bounds(landmarks: np.ndarray) -> np.ndarray:
    """(..., 4) tight box (x0, y0, x1, y1) around the points."""
    landmarks = np.asarray(landmarks)
    return np.concatenate([landmarks.min(axis=-2), landmarks.max(axis=-2)], axis=-1)


def smooth_landmarks(landmarks: np.ndarray, width: int = 3) -> np.ndarray:
    """Centred moving average over time (axis 0) with reflect padding (MS-Sync code, ``VoxLipsDataset``: removes
    detector jitter)."""
    landmarks = np.asarray(landmarks, dtype=np.float32)
    if width <= 1 or landmarks.shape[0] < 2:
        return landmarks.copy()
    half = width // 2
    padded = np.pad(landmarks, [(half, half)] + [(0, 0)] * (landmarks.ndim - 1), mode="reflect")
    kernel_sum = np.cumsum(np.concatenate([np.zeros_like(padded[:1]), padded]), axis=0)
    return ((kernel_sum[width:] - kernel_sum[:-width]) / width).astype(np.float32)


def mouth_opening(landmarks: np.ndarray) -> np.ndarray:
    """Inner-lip opening (distance 62-66) divided by the mouth width (48-54): scale-free, (...,)."""
    landmarks = np.asarray(landmarks, dtype=np.float32)
    gap = np.linalg.norm(landmarks[..., INNER_LIP_TOP, :] - landmarks[..., INNER_LIP_BOTTOM, :], axis=-1)
    width = np.linalg.norm(landmarks[..., MOUTH_CORNERS[0], :] - landmarks[..., MOUTH_CORNERS[1], :], axis=-1)
    return gap / np.maximum(width, 1e-6)


def mouth_shape(landmarks: np.ndarray) -> np.ndarray:
    """(..., 3) scale-free, mirror-invariant mouth shape: inner opening (62-66), outer opening (51-57), both
    over the mouth width, and the mouth width over the jaw width (0-16)."""
    landmarks = np.asarray(landmarks, dtype=np.float32)

    def distance(a: int, b: int) -> np.ndarray:
        return np.linalg.norm(landmarks[..., a, :] - landmarks[..., b, :], axis=-1)

    width = np.maximum(distance(*MOUTH_CORNERS), 1e-6)
    return np.stack(
        [
            distance(INNER_LIP_TOP, INNER_LIP_BOTTOM) / width,
            distance(51, 57) / width,
            width / np.maximum(distance(0, 16), 1e-6),
        ],
        axis=-1,
    )


# (start, stop, closed) of the polylines that draw a face: jaw, brows, nose bridge, nostrils, eyes, lips
FACE_CURVES = (
    (0, 17, False),
    (17, 22, False),
    (22, 27, False),
    (27, 31, False),
    (31, 36, False),
    (36, 42, True),
    (42, 48, True),
    (48, 60, True),
    (60, 68, True),
)


def draw_landmarks(image: np.ndarray, points: np.ndarray, color=(20, 140, 60), thickness: int = 1) -> np.ndarray:
    """A copy of ``image`` with the 68 points (pixels) drawn as the face's curves."""

    canvas = np.ascontiguousarray(image).copy()
    pixels = np.round(np.asarray(points, np.float32) * 4).astype(np.int32)  # 2 fractional bits for smooth lines
    for start, stop, closed in FACE_CURVES:
        cv2.polylines(canvas, [pixels[start:stop].reshape(-1, 1, 2)], closed, color, thickness, cv2.LINE_AA, shift=2)
    return canvas


def landmark_canvas(points: np.ndarray, size: int = 256, color=(20, 140, 60), label: str | None = None) -> np.ndarray:
    """Normalised landmarks (68, 2) in [0, 1) drawn on a white ``size`` x ``size`` RGB image."""

    canvas = draw_landmarks(
        np.full((size, size, 3), 255, np.uint8), np.asarray(points) * size, color, max(1, size // 200)
    )
    if label:
        cv2.putText(canvas, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (60, 60, 60), 1, cv2.LINE_AA)
    return canvas


CORNER_KEEP = 0.3  # of their height below (above) the corners, kept by the outer lips beside them when closing


def close_mouth(landmarks: np.ndarray, upper_share: float = 0.5) -> np.ndarray:
    """Landmarks with the lips brought together: each inner-lip pair meets, the upper lip travelling ``upper_share``
    of the gap (0.5: at the midpoint; a real mouth closes mostly with the jaw, about 0.15), the outer lips follow.

    The corners (48, 54) stay, and the outer lip points beside them keep at least ``CORNER_KEEP`` of their height
    below (above) them: a wide-open lower lip moved up whole by the gap would end above the corners and fold the
    face around them (a crease from the corner to the jaw when a photo is closed)."""
    points = np.array(landmarks, dtype=np.float32, copy=True)
    top, bottom = [61, 62, 63], [67, 66, 65]
    gaps = np.maximum(points[..., bottom, 1] - points[..., top, 1], 0)  # lower minus upper inner lip, per pair
    points[..., top, 1] += upper_share * gaps
    points[..., bottom, 1] -= (1 - upper_share) * gaps
    outer = gaps.mean(-1)[..., None]
    points[..., [49, 50, 51, 52, 53], 1] += upper_share * outer
    points[..., [55, 56, 57, 58, 59], 1] -= (1 - upper_share) * outer
    given = np.asarray(landmarks, np.float32)
    for beside, corner, lower in (
        (59, 48, True),
        (58, 48, True),
        (55, 54, True),
        (56, 54, True),
        (49, 48, False),
        (53, 54, False),
    ):
        kept = given[..., corner, 1] + CORNER_KEEP * (given[..., beside, 1] - given[..., corner, 1])
        limit = np.maximum if lower else np.minimum
        points[..., beside, 1] = limit(points[..., beside, 1], kept)
    return points
