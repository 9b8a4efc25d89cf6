"""The lip-reading mouth ROI as facebookresearch/av_hubert prepares it (`preparation/align_mouth.py`,
`hubert_dataset.py`): landmark-aligned grayscale mouth crops and their normalisation."""

import numpy as np
import pytest

from talkhead.processing.landmarks import similarity_transform
from talkhead.processing.mouth_crops import (
    ROI_MEAN_FACE,
    ROI_STABLE_POINTS,
    mouth_roi_transforms,
    mouth_rois,
    normalize_rois,
    smoothed_stable_points,
)


def test_similarity_transform_recovers_a_known_similarity():
    rng = np.random.default_rng(0)
    source = rng.uniform(0, 200, (5, 2))
    angle, scale, shift = 0.4, 1.7, np.array([12.0, -30.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = similarity_transform(source, source @ (scale * rotation).T + shift)
    np.testing.assert_allclose(matrix[:, :2], scale * rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def synthetic_face(angle=0.2, scale=1.6, shift=(60.0, 40.0)):
    """68 points around our mean face (stable points on it, a ring of mouth points around (128, 170)), moved
    into a frame by a known similarity. Returns the frame landmarks and that similarity (canvas -> frame)."""
    canvas = np.tile(np.array([128.0, 130.0]), (68, 1))
    canvas[list(ROI_STABLE_POINTS)] = ROI_MEAN_FACE
    ring = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    canvas[48:68] = np.stack([128 + 29 * np.cos(ring), 170 + 12 * np.sin(ring)], 1)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) * scale
    return canvas @ rotation.T + np.asarray(shift), rotation


def test_mouth_crop_is_centred_on_the_mouth_and_undoes_the_head_pose():
    landmarks, _ = synthetic_face()
    frames = np.zeros((2, 480, 520, 3), np.uint8)
    # mouth centre; the ring's first point
    for frame, point in zip(frames, (landmarks[48:68].mean(0), landmarks[48]), strict=True):
        x, y = np.round(point).astype(int)
        frame[y - 1 : y + 2, x - 1 : x + 2] = 255  # a bright 3x3 dot
    rois = mouth_rois(frames, np.repeat(landmarks[None], 2, 0))
    assert rois.shape == (2, 96, 96) and rois.dtype == np.uint8

    def brightest(image):
        return np.argwhere(image >= image.max() - 1).mean(0)  # (row, column)

    np.testing.assert_allclose(brightest(rois[0]), [48, 48], atol=1.0)  # the mouth centre is the crop centre
    # rotation and scale undone: that point is 29 canvas px right of the mouth centre, at the same height
    np.testing.assert_allclose(brightest(rois[1]), [48, 48 + 29], atol=1.0)


def test_mouth_crop_follows_translation_exactly():
    rng = np.random.default_rng(1)
    landmarks, _ = synthetic_face()
    frames = rng.integers(0, 255, (2, 480, 520, 3), dtype=np.uint8)
    base = mouth_rois(frames, np.repeat(landmarks[None], 2, 0))
    moved = np.zeros_like(frames)
    moved[:, 7:, 11:] = frames[:, :-7, :-11]
    shifted = mouth_rois(moved, np.repeat(landmarks[None] + [11.0, 7.0], 2, 0))
    np.testing.assert_array_equal(shifted, base)


def test_stable_points_are_smoothed_over_a_forward_window():
    rng = np.random.default_rng(2)
    landmarks = rng.normal(100, 5, (20, 68, 2))
    smoothed = smoothed_stable_points(landmarks, window=12)
    stable = landmarks[:, list(ROI_STABLE_POINTS)]
    np.testing.assert_allclose(smoothed[0], stable[0:12].mean(0))
    np.testing.assert_allclose(smoothed[8], stable[8:20].mean(0))
    np.testing.assert_allclose(smoothed[19], stable[8:20].mean(0))  # the tail reuses the last full window
    # short clips: one window
    np.testing.assert_allclose(smoothed_stable_points(landmarks[:5], 12)[4], stable[:5].mean(0))
    assert mouth_roi_transforms(landmarks).shape == (20, 2, 3)


def test_roi_inputs_are_validated():
    landmarks, _ = synthetic_face()
    with pytest.raises(ValueError, match="frames but"):
        mouth_rois(np.zeros((2, 64, 64, 3), np.uint8), landmarks[None])
    with pytest.raises(ValueError, match=r"\(T, 68, 2\)"):
        mouth_roi_transforms(landmarks[None, :60])
    with pytest.raises(ValueError, match="mean_face"):
        mouth_roi_transforms(landmarks[None], mean_face=np.zeros((3, 2)))


def test_normalize_rois_centre_crops_and_standardises():
    rois = np.full((2, 96, 96), 255, np.uint8)
    rois[:, 4, 4] = 0  # the first pixel of the 88x88 centre crop
    normalized = normalize_rois(rois)
    assert normalized.shape == (2, 88, 88) and normalized.dtype == np.float32
    assert normalized[0, 0, 0] == pytest.approx(-0.421 / 0.165)
    assert normalized[0, 1, 1] == pytest.approx((1 - 0.421) / 0.165)
