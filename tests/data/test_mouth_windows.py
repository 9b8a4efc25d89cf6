import numpy as np
import pytest

from talkhead.data.mouth_windows import MotionClip, MouthWindowDataset, resample_frames, warp_bands


def _clip(frames=300, columns=90, seed=0):
    rng = np.random.default_rng(seed)
    return MotionClip(
        "c",
        rng.normal(size=(frames, columns)).astype(np.float32),
        rng.normal(size=(frames, 20, 2)).astype(np.float32),
        np.zeros((20, 2)),
        np.zeros((frames, 10)),
    )


def test_resample_frames_keeps_the_ends_and_interpolates_between():
    values = np.arange(5, dtype=np.float32)[:, None] * np.array([[1.0, 2.0]], np.float32)
    out = resample_frames(values, 9)
    assert out.shape == (9, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0], np.linspace(0, 4, 9))
    np.testing.assert_allclose(out[:, 1], 2 * np.linspace(0, 4, 9))


def test_warp_bands_is_identity_at_one_and_moves_content_otherwise():
    mel = np.tile(np.arange(80, dtype=np.float32), (3, 1))
    np.testing.assert_array_equal(warp_bands(mel, 1.0), mel)
    np.testing.assert_allclose(warp_bands(mel, 0.5)[0, :10], np.arange(10) * 0.5)
    assert warp_bands(mel, 1.2)[0, -1] == 79  # read past the top band: clamped


def test_augmented_windows_keep_their_shape_and_the_features_without_mel():
    clip = _clip()
    plain = MouthWindowDataset([clip], window=50, samples_per_epoch=4, seed=1)
    augmented = MouthWindowDataset(
        [clip], window=50, samples_per_epoch=4, seed=1, time_stretch=0.2, band_warp=0.2, mel_columns=slice(10, 90)
    )
    for index in range(4):
        a, b = plain[index], augmented[index]
        assert a["audio_features"].shape == b["audio_features"].shape == (50, 90)
        assert b["labels"].shape == (50, 20, 2) and float(b["mask"].sum()) == 50
    assert not np.allclose(plain[0]["audio_features"].numpy(), augmented[0]["audio_features"].numpy())


def test_no_augmentation_draws_the_same_windows_as_before():
    clip = _clip()
    dataset = MouthWindowDataset([clip], window=50, samples_per_epoch=2, seed=3)
    rng = np.random.default_rng((3, 0, 0))
    rng.choice(1, p=[1.0])
    start = int(rng.integers(0, 300 - 50 + 1))
    np.testing.assert_array_equal(dataset[0]["audio_features"].numpy(), clip.features[start : start + 50])


def test_band_warp_needs_the_mel_columns():
    with pytest.raises(ValueError, match="mel_columns"):
        MouthWindowDataset([_clip()], band_warp=0.1)
