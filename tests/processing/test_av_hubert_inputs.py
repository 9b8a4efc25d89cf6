"""AV-HuBERT inputs as facebookresearch/av_hubert prepares them (`hubert_dataset.py`, `preparation/align_mouth.py`):
stacked log filterbanks and landmark-aligned mouth crops."""

import numpy as np
import pytest

from talkhead.processing.av_hubert_inputs import (
    MEAN_FACE_POINTS,
    STABLE_POINTS,
    av_hubert_inputs,
    mouth_roi_transforms,
    mouth_rois,
    normalize_rois,
    similarity_transform,
    smoothed_stable_points,
    stack_logfbank,
    stacked_logfbank,
)

from ..conftest import speech_like
from .psf_reference import psf_logfbank


def test_stacking_puts_four_frames_in_a_row_and_normalises_each_row():
    feats = np.arange(10 * 26, dtype=np.float32).reshape(10, 26)
    stacked = stack_logfbank(feats)
    assert stacked.shape == (3, 104)  # 10 frames -> 2 full stacks + 1 padded with zero rows
    raw = np.concatenate([feats, np.zeros((2, 26), np.float32)]).reshape(3, 104)
    expected = (raw - raw.mean(1, keepdims=True)) / np.sqrt(raw.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(stacked, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(stacked.mean(1), 0, atol=1e-5)
    np.testing.assert_allclose(stacked.std(1), 1, atol=1e-4)


def test_features_are_av_hubert_s_recipe_on_int16_samples():
    """logfbank of the int16 samples, stacked by 4 (zero rows fill the last stack), padded to the video, each
    row layer-normalised: hubert_dataset.py's load_feature and __getitem__."""
    pcm = np.round(speech_like(1.23) * 32767).astype(np.int16)  # 1.23 s: 122 filterbank frames, 31 stacks
    reference = stack_logfbank(psf_logfbank(pcm))
    ours = stacked_logfbank(pcm / 32768.0, 33)
    assert reference.shape == (31, 104) and ours.shape == (33, 104)
    np.testing.assert_allclose(ours[:31], reference, atol=1e-4)
    assert not ours[31:].any()


def test_features_match_python_speech_features_when_installed():
    psf = pytest.importorskip("python_speech_features")  # not a dependency: checked where it happens to be installed
    pcm = np.round(speech_like(0.8, seed=3) * 32767).astype(np.int16)
    np.testing.assert_allclose(stacked_logfbank(pcm / 32768.0), stack_logfbank(psf.logfbank(pcm, 16000)), atol=1e-4)


def test_audio_is_padded_with_zero_rows_or_trimmed_to_the_video():
    wave = speech_like(1.0)  # 25 video frames
    assert stacked_logfbank(wave).shape == (25, 104)
    long = stacked_logfbank(wave, 40)
    assert long.shape == (40, 104) and not long[25:].any() and long[:25].any()
    np.testing.assert_array_equal(stacked_logfbank(wave, 10), long[:10])
    with pytest.raises(ValueError, match="num_frames=0"):
        stacked_logfbank(wave, 0)


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
    canvas[list(STABLE_POINTS)] = MEAN_FACE_POINTS
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
    stable = landmarks[:, list(STABLE_POINTS)]
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


def test_av_hubert_inputs_of_one_video():
    landmarks, _ = synthetic_face()
    frames = np.full((10, 480, 520, 3), 128, np.uint8)
    rois, audio = av_hubert_inputs(frames, np.repeat(landmarks[None], 10, 0), speech_like(0.3))
    assert rois.shape == (10, 88, 88) and audio.shape == (10, 104)
    assert not audio[8:].any()  # 0.3 s of audio covers 8 frames (7.5 rounded up)
