"""SSIM, PSNR (scikit-image) and IFC on hand-made frames."""

import numpy as np
import pytest
import torch

from talkhead.metrics.image import finite_mean, inter_frame_consistency, psnr, psnr_per_frame, ssim


def test_identical_frames_are_perfect_and_noise_lowers_both():
    frames = torch.rand(3, 3, 96, 96)
    assert ssim(frames, frames) == pytest.approx(1.0) and psnr(frames, frames) == np.inf
    noisy = (frames + 0.05 * torch.randn_like(frames)).clamp(0, 1)
    assert ssim(noisy, frames) < 0.99 and 20 < psnr(noisy, frames) < 40


def test_psnr_hand_computed_and_uint8_input():
    a = np.zeros((1, 8, 8, 3), np.uint8)
    b = np.full((1, 8, 8, 3), 10, np.uint8)  # MSE 100: 10 log10(255^2 / 100)
    assert psnr(b, a) == pytest.approx(10 * np.log10(255**2 / 100))


def test_identical_frames_have_infinite_psnr_left_out_of_the_mean():
    a = np.zeros((3, 8, 8, 3), np.uint8)
    b = a.copy()
    b[0], b[2] = 10, 20  # frame 1 identical; MSE 100 and 400
    per_frame = psnr_per_frame(b, a)
    expected = [10 * np.log10(255**2 / 100), np.inf, 10 * np.log10(255**2 / 400)]
    np.testing.assert_allclose(per_frame, expected)
    assert psnr(b, a) == pytest.approx((expected[0] + expected[2]) / 2)  # not inf, not dragged up by a stand-in
    assert (
        finite_mean([np.inf, np.inf]) == np.inf
        and np.isnan(finite_mean([np.nan]))
        and finite_mean([1.0, np.nan]) == 1.0
    )


def test_ifc_compares_frame_to_frame_change():
    still = np.zeros((3, 4, 4, 3), np.uint8)
    moving = still.copy()
    moving[1] = 30  # changes by 30 then back by 30
    assert inter_frame_consistency(still, still) == 0.0
    assert inter_frame_consistency(moving, still) == pytest.approx(30.0)
    with pytest.raises(ValueError):
        inter_frame_consistency(still[:1], still[:1])


def test_lmd_and_identity_on_a_real_face():
    import cv2
    from skimage import data

    from talkhead.metrics.image import face_embeddings, identity_similarity, mouth_landmark_distance, mouth_openings

    face = cv2.resize(np.ascontiguousarray(data.astronaut()[30:230, 150:330]), (96, 96))[None]
    assert mouth_landmark_distance(face, face) == 0.0
    shifted = np.roll(face, 3, axis=1)  # the face moved 3 px down
    assert 1.0 < mouth_landmark_distance(shifted, face) < 6.0
    assert identity_similarity(face, face) == pytest.approx(1.0, abs=1e-5)
    assert identity_similarity(face, face[:, :, ::-1]) > 0.8  # a mirror image is the same person
    assert identity_similarity(face[:, :, ::-1], face_embeddings(face)) == pytest.approx(
        identity_similarity(face[:, :, ::-1], face)
    )  # a reference embedded once scores the same
    assert mouth_openings(face).shape == (1,) and 0 <= mouth_openings(face)[0] < 0.5
