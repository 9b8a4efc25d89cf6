"""Audio-video offsets of training clips, found with the phone table and undone."""

import numpy as np

from talkhead.data.av_offsets import align, estimate_offsets, lagged_follow
from talkhead.processing.phones import NUM_PHONES


def _clip(rng, frames=400, lag=0):
    """Random phones, and a mouth that opens per phone (a fixed table) ``lag`` frames after the sound."""
    labels = np.repeat(rng.integers(0, NUM_PHONES, frames // 4), 4)
    phones = np.eye(NUM_PHONES, dtype=np.float32)[labels]
    opening = np.linspace(0, 1, NUM_PHONES)[labels] + rng.normal(0, 0.05, frames)
    return phones, np.roll(opening, lag)


def test_align_pairs_sound_with_the_mouth_it_caused():
    features, targets = np.arange(10), np.arange(10) + 100
    f, t = align(features, targets, 3)
    assert (t - f == 103).all() and len(f) == 7
    f, t = align(features, targets, -2)
    assert (t - f == 98).all()


def test_offsets_are_found_in_shifted_clips_only():
    rng = np.random.default_rng(0)
    clips = [_clip(rng, lag=lag) for lag in (0, 0, 0, 4, -3, 0)]
    lags, details = estimate_offsets([p for p, _ in clips], [o for _, o in clips])
    assert lags == [0, 0, 0, 4, -3, 0]
    assert details[3]["follow_at_lag"] > details[3]["follow_at_0"] + 0.3
    phones, opening = clips[3]
    table = np.linspace(0, 1, NUM_PHONES)
    assert lagged_follow(table[phones.argmax(1)], opening, 4) > 0.9


def test_shift_clip_pairs_each_sound_with_its_mouth():
    from talkhead.data.av_offsets import shift_clip
    from talkhead.data.clips import Clip

    frames = 20
    audio = np.repeat(np.arange(frames, dtype=np.float32), 640)  # the sound of frame t is the value t
    landmarks = np.zeros((frames, 68, 2), np.float32)
    landmarks[:, 0, 0] = np.arange(frames)  # the mouth of frame t carries t
    clip = Clip(
        "c",
        "s",
        25,
        landmarks,
        np.zeros(4, np.float32),
        np.ones(frames, bool),
        audio,
        np.zeros((4 * frames, 26), np.float32),
        np.zeros((65, 80), np.float32),
        np.zeros((frames, 4), np.float32),
    )
    for lag in (3, -2):
        shifted = shift_clip(clip, lag)
        assert shifted.num_frames == frames - abs(lag) and len(shifted.audio) == 640 * shifted.num_frames
        sound = shifted.audio.reshape(shifted.num_frames, 640)[:, 0]
        np.testing.assert_array_equal(shifted.landmarks[:, 0, 0] - sound, lag)  # mouth t + lag, sound t
        assert shifted.logfbank.shape == (4 * shifted.num_frames, 26) and shifted.mel.shape[1] == 80
    assert shift_clip(clip, 0) is clip
