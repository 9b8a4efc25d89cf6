"""Mouth shapes in a head-fixed frame: what the mouth-motion model predicts and the mouth renderers draw.

A frame's **face frame** is the similarity transform that maps its stable points (nose, eye corners:
:data:`STABLE_POINTS`, which speech barely moves) onto :data:`FACE_TEMPLATE`, a mean face whose eye
centres are one unit apart. In that frame a **mouth shape** is points 48-67 (20 x 2): head position,
rotation and scale are gone, and distances are in inter-ocular units, so shapes of different people
and videos can be compared and added.

**Inner-lip opening** (:func:`inner_lip_opening`) is the measure of the no-learning baselines
(:mod:`talkhead.metrics.baselines`) and of the lip-follow metric: the mean inner-lip gap over the pairs (61, 67), (62,
66), (63, 65), over the inter-ocular distance.
"""

from __future__ import annotations

import numpy as np

from .landmarks import LEFT_EYE, MOUTH, RIGHT_EYE, apply_transform, similarity_transform

STABLE_POINTS = (27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45)
INNER_LIP_PAIRS = ((61, 67), (62, 66), (63, 65))
MOUTH_POINTS = MOUTH.stop - MOUTH.start  # 20

# STABLE_POINTS of the mean face of the dataset built from ../shared/data/raw (train split, every fifth
# frame, generalised Procrustes: fit_face_template), made left-right symmetric, eye centres at (-0.5, 0)
# and (0.5, 0); x right, y down
FACE_TEMPLATE = np.array(
    [
        [0.0, -0.057],
        [0.0, 0.129],
        [0.0, 0.313],
        [0.0, 0.507],
        [-0.227, 0.690],
        [-0.117, 0.724],
        [0.0, 0.754],
        [0.117, 0.724],
        [0.227, 0.690],
        [-0.689, 0.012],
        [-0.305, 0.017],
        [0.305, 0.017],
        [0.689, 0.012],
    ],
    np.float64,
)


def eye_distance(landmarks: np.ndarray) -> np.ndarray:
    """(...,) distance between the eye centres (means of points 36-41 and 42-47)."""
    landmarks = np.asarray(landmarks, np.float64)
    return np.linalg.norm(landmarks[..., RIGHT_EYE, :].mean(-2) - landmarks[..., LEFT_EYE, :].mean(-2), axis=-1)


def inner_lip_opening(landmarks: np.ndarray) -> np.ndarray:
    """(...,) mean inner-lip gap over the inter-ocular distance (0 = closed)."""
    landmarks = np.asarray(landmarks, np.float64)
    gaps = [np.linalg.norm(landmarks[..., a, :] - landmarks[..., b, :], axis=-1) for a, b in INNER_LIP_PAIRS]
    return np.mean(gaps, axis=0) / np.maximum(eye_distance(landmarks), 1e-6)


def shape_inner_lip_opening(shapes: np.ndarray) -> np.ndarray:
    """(...,) :func:`inner_lip_opening` of mouth shapes (..., 20, 2), already in inter-ocular units."""
    shapes = np.asarray(shapes, np.float64)
    gaps = [
        np.linalg.norm(shapes[..., a - MOUTH.start, :] - shapes[..., b - MOUTH.start, :], axis=-1)
        for a, b in INNER_LIP_PAIRS
    ]
    return np.mean(gaps, axis=0)


def shape_lip_gap(shapes: np.ndarray) -> np.ndarray:
    """(...,) signed inner-lip gap of mouth shapes (..., 20, 2): lower lip minus upper lip, vertically (negative where
    predicted lips cross); :func:`shape_inner_lip_opening` is its unsigned cousin."""
    shapes = np.asarray(shapes, np.float64)
    return np.mean(
        [shapes[..., b - MOUTH.start, 1] - shapes[..., a - MOUTH.start, 1] for a, b in INNER_LIP_PAIRS], axis=0
    )


def face_frames(landmarks: np.ndarray) -> np.ndarray:
    """(T, 2, 3) per frame: the similarity from image coordinates to the face frame."""
    landmarks = np.asarray(landmarks, np.float64).reshape(-1, 68, 2)
    return np.stack([similarity_transform(points[list(STABLE_POINTS)], FACE_TEMPLATE) for points in landmarks])


def invert_similarity(matrix: np.ndarray) -> np.ndarray:
    """(..., 2, 3) inverse of similarity (or any invertible affine) transforms."""
    linear = np.linalg.inv(matrix[..., :2, :2])
    return np.concatenate([linear, -(linear @ matrix[..., :2, 2:])], axis=-1)


def points_in_face_frame(landmarks: np.ndarray, points) -> np.ndarray:
    """(T, 68, 2) image landmarks -> (T, P, 2): the landmarks ``points`` (indices or a slice) in each frame's face
    frame."""
    landmarks = np.asarray(landmarks, np.float64).reshape(-1, 68, 2)
    frames = face_frames(landmarks)
    return np.einsum("tij,tpj->tpi", frames[:, :, :2], landmarks[:, points]) + frames[:, None, :, 2]


def mouth_shapes(landmarks: np.ndarray) -> np.ndarray:
    """(T, 68, 2) image landmarks -> (T, 20, 2) mouth shapes in each frame's face frame."""
    return points_in_face_frame(landmarks, MOUTH)


def place_mouth(shapes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Landmarks (T, 68, 2) with points 48-67 replaced by ``shapes`` (T, 20, 2) mapped into each frame's image."""
    landmarks = np.array(landmarks, np.float64).reshape(-1, 68, 2)
    inverse = invert_similarity(face_frames(landmarks))
    shapes = np.asarray(shapes, np.float64)
    landmarks[:, MOUTH] = np.stack([apply_transform(m, s) for m, s in zip(inverse, shapes, strict=False)])
    return landmarks


CLOSED_PERCENTILE = 10  # a speaker's closed mouth: the shapes at or below this percentile of their inner-lip gap


def closed_shape(shapes: np.ndarray, percentile: float = CLOSED_PERCENTILE) -> np.ndarray:
    """(20, 2): the mean of the (T, 20, 2) face-frame ``shapes`` whose inner lips are closest (at or below
    ``percentile`` of the gap): how this speaker's mouth looks shut, which the mean shape of a talking video is not."""
    gaps = shape_inner_lip_opening(shapes)
    return np.asarray(shapes, np.float64)[gaps <= np.percentile(gaps, percentile)].mean(0)


def keep_lips_apart(shapes: np.ndarray) -> np.ndarray:
    """Shapes whose lower inner lip never rises above the upper one (predicted deltas can cross them)."""
    shapes = np.array(shapes, np.float64, copy=True)
    for top, bottom in INNER_LIP_PAIRS:
        upper, lower = shapes[..., top - MOUTH.start, 1], shapes[..., bottom - MOUTH.start, 1]
        crossing = np.maximum(upper - lower, 0) / 2
        shapes[..., top - MOUTH.start, 1] -= crossing
        shapes[..., bottom - MOUTH.start, 1] += crossing
    return shapes


def fit_face_template(landmarks: np.ndarray, iterations: int = 5) -> np.ndarray:
    """Generalised Procrustes mean of the stable points of (N, 68, 2) landmarks, eye centres at (+-0.5, 0).

    How :data:`FACE_TEMPLATE` was made (kept so it can be re-made on other data).
    """
    points = np.asarray(landmarks, np.float64)[:, list(STABLE_POINTS)]
    eyes = np.asarray(landmarks, np.float64)
    right, left = eyes[:, RIGHT_EYE].mean(1), eyes[:, LEFT_EYE].mean(1)
    template = points[0]
    for _ in range(iterations):
        aligned = []
        for stable, eye_right, eye_left in zip(points, right, left, strict=True):
            matrix = similarity_transform(stable, template)
            eyes_aligned = apply_transform(matrix, np.stack([eye_right, eye_left]))
            aligned.append(np.concatenate([apply_transform(matrix, stable), eyes_aligned]))
        mean = np.mean(aligned, axis=0)
        eye_r, eye_l = mean[-2], mean[-1]
        # put the eye centres at (-0.5, 0) and (0.5, 0)
        target = np.array([[-0.5, 0.0], [0.5, 0.0]])
        matrix = similarity_transform(np.stack([eye_r, eye_l]), target)
        template = apply_transform(matrix, mean[:-2])
    return template
