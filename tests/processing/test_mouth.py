"""Mouth shapes in the head-fixed face frame."""

import numpy as np

from talkhead.processing.landmarks import apply_transform
from talkhead.processing.mouth import (
    FACE_TEMPLATE,
    STABLE_POINTS,
    inner_lip_opening,
    keep_lips_apart,
    mouth_shapes,
    place_mouth,
    shape_inner_lip_opening,
)


def _face(seed=0) -> np.ndarray:
    """A plausible 68-point face: the template's stable points, eyes around them, a mouth below the nose."""
    rng = np.random.default_rng(seed)
    points = rng.normal(0, 0.3, (68, 2)) + [0, 0.5]
    points[list(STABLE_POINTS)] = FACE_TEMPLATE
    points[36:42] = [-0.5, 0] + rng.normal(0, 0.05, (6, 2))
    points[42:48] = [0.5, 0] + rng.normal(0, 0.05, (6, 2))
    points[48:68] = [0, 1.1] + rng.normal(0, 0.15, (20, 2))
    return points * 80 + [200, 150]


def _similarity(angle, scale, shift):
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    return np.array([[c, -s, shift[0]], [s, c, shift[1]]])


def test_shapes_ignore_head_position_roll_and_scale():
    face = _face()
    moved = apply_transform(_similarity(0.3, 1.7, (40, -25)), face)
    np.testing.assert_allclose(mouth_shapes(moved[None]), mouth_shapes(face[None]), atol=1e-9)
    np.testing.assert_allclose(inner_lip_opening(moved), inner_lip_opening(face), rtol=1e-9)


def test_place_mouth_is_the_inverse_of_mouth_shapes():
    faces = np.stack([_face(1), apply_transform(_similarity(-0.2, 0.8, (5, 9)), _face(1))])
    shapes = mouth_shapes(faces) + 0.01
    placed = place_mouth(shapes, faces)
    np.testing.assert_allclose(mouth_shapes(placed), shapes, atol=1e-9)
    np.testing.assert_allclose(placed[:, :48], faces[:, :48])


def test_opening_in_inter_ocular_units_and_crossed_lips():
    face = _face(2)
    face[[61, 62, 63]] = [[280.0, 300.0], [290.0, 300.0], [300.0, 300.0]]
    face[[67, 66, 65]] = face[[61, 62, 63]] + [0, 16.0]  # 16 px apart, straight down
    assert inner_lip_opening(face) == np.float64(16.0) / np.linalg.norm(face[36:42].mean(0) - face[42:48].mean(0))
    shapes = mouth_shapes(face[None])
    crossed = shapes.copy()
    crossed[:, [13, 14, 15], 1] += 1.0  # upper inner lip pushed below the lower one
    fixed = keep_lips_apart(crossed)
    assert (fixed[:, [19, 18, 17], 1] >= fixed[:, [13, 14, 15], 1] - 1e-12).all()
    assert shape_inner_lip_opening(fixed)[0] < 0.01  # closed, up to the pairs' small sideways offsets
