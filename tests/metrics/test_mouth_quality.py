"""Mouth-box quality at video resolution."""

import cv2
import numpy as np

from talkhead.metrics.mouth_quality import face_box, mouth_box, mouth_quality, summarize


def _landmarks():
    points = np.zeros((68, 2))
    points[:, 0], points[:, 1] = np.linspace(60, 200, 68), np.linspace(50, 220, 68)
    points[48:68] = [[100 + 4 * i, 180 + (i % 5)] for i in range(20)]  # mouth 76 px wide
    return points


def test_boxes():
    x0, y0, x1, y1 = mouth_box(_landmarks())
    assert x1 - x0 == y1 - y0 and abs(x1 - x0 - 1.35 * 76) <= 1
    points = _landmarks()
    assert (x0 + x1) / 2 == 138 and face_box(points).tolist() == [
        60,
        50,
        round(points[:, 0].max()),
        round(points[:, 1].max()),
    ]


def test_identical_blurred_and_shifted_frames():
    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8), (0, 0), 1.0)
    same = mouth_quality(frame, frame, _landmarks())
    assert same["mouth_ssim"] == 1 and same["mouth_psnr"] == np.inf and same["mouth_sharpness"] == 1
    smeared = mouth_quality(cv2.GaussianBlur(frame, (0, 0), 3), frame, _landmarks())
    assert smeared["mouth_sharpness"] < 0.3 and smeared["mouth_ssim"] < 0.9 and smeared["mouth_psnr"] < 40
    summary = summarize([same, smeared])
    assert summary["mouth_psnr"] == smeared["mouth_psnr"]  # infinite PSNR is left out of the mean
