"""Lip-follow: Pearson correlation of 3-frame-smoothed openings, no lag search."""

import numpy as np
import pytest

from talkhead.metrics.lip_follow import lip_follow, smooth_opening, std_ratio


def test_smoothing_is_a_centred_three_frame_mean():
    np.testing.assert_allclose(smooth_opening(np.array([0, 3, 0, 3.0])), [1.5, 1, 2, 1.5])


def test_follow_rewards_sync_and_punishes_lag():
    rng = np.random.default_rng(0)
    opening = np.convolve(rng.normal(size=300), np.ones(4) / 4, "same")
    assert lip_follow(opening, opening) == pytest.approx(1)
    assert lip_follow(-opening, opening) == pytest.approx(-1)
    assert lip_follow(np.roll(opening, 6), opening) < 0.3  # a 240 ms lag loses the correlation
    assert lip_follow(2 * opening + 1, opening[:200]) == pytest.approx(1)  # common length, scale-free
    assert std_ratio(2 * opening, opening) == pytest.approx(2)


def test_missing_frames_and_degenerate_input():
    opening = np.sin(np.arange(50) / 3)
    holed = opening.copy()
    holed[10:14] = np.nan
    assert lip_follow(holed, opening) == pytest.approx(1)
    assert np.isnan(lip_follow(np.ones(50), opening))
    assert np.isnan(lip_follow(opening[:2], opening))
