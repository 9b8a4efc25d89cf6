import numpy as np
import torch

from talkhead.data.clips import Clip
from talkhead.data.windows import (
    Augmentation,
    SyncerWindowDataset,
    cut_syncer_windows,
    group_windows,
    input_statistics,
    pyramid_clip,
)
from talkhead.processing.landmarks import FLIP_PERMUTATION


def make_clip(frames=80, clip_id="c", source="s"):
    t = np.arange(frames, dtype=np.float32)
    landmarks = np.broadcast_to(t[:, None, None] / 1000, (frames, 68, 2)).copy() + 0.3
    logfbank = np.broadcast_to(np.arange(4 * frames, dtype=np.float32)[:, None], (4 * frames, 26)).copy()
    return Clip(
        clip_id,
        source,
        25,
        landmarks,
        np.zeros(4, np.float32),
        np.ones(frames, bool),
        np.zeros(640 * frames, np.float32),
        logfbank,
        np.zeros((10, 80), np.float32),
        np.zeros((frames, 4), np.float32),
    )


def test_windows_are_non_overlapping_and_start_aligned():
    clip = pyramid_clip(make_clip(80), 4, smooth=False)
    x, a = cut_syncer_windows(clip, 1, offset=8)
    assert x.shape == (15, 5, 68, 2) and a.shape == (15, 20, 26)
    audio_starts = a[:, 0, 0]
    np.testing.assert_array_equal(audio_starts, 8 + 20 * np.arange(15))
    landmark_starts = np.round((x[:, 0, 0, 0] - 0.3) * 1000).astype(int)
    np.testing.assert_array_equal(landmark_starts, np.round(audio_starts / 4).astype(int))
    x4, a4 = cut_syncer_windows(clip, 4, offset=0)  # level 4: 10 frames, 40 audio frames -> 2 windows
    assert x4.shape[0] == 2 and a4.shape[0] == 2


def test_augmentation_is_affine_flips_with_the_permutation_and_shifts_audio():
    points = np.random.default_rng(0).random((3, 5, 68, 2)).astype(np.float32)
    identity = Augmentation()
    np.testing.assert_allclose(identity.landmarks(points), points, atol=1e-7)
    flipped = Augmentation(flip=True).landmarks(points)
    np.testing.assert_allclose(flipped[..., 36, 0], 1 - points[..., FLIP_PERMUTATION[36], 0], atol=1e-6)
    moved = Augmentation(scale=1.1, shift=(0.05, -0.02)).landmarks(points)
    np.testing.assert_allclose(moved, (points - 0.5) * 1.1 + 0.5 + np.array([0.05, -0.02]), atol=1e-6)
    np.testing.assert_allclose(Augmentation(audio_offset=2.0).audio(np.zeros((2, 3))), 2.0)
    sampled = [Augmentation.sample(np.random.default_rng(i), 10.0) for i in range(200)]
    assert 0.3 < np.mean([s.flip for s in sampled]) < 0.7
    assert all(0.9 <= s.scale <= 1.1 and abs(s.audio_offset) <= 1.0 for s in sampled)


def test_dataset_items_and_grouping():
    clips = [pyramid_clip(make_clip(200, f"c{i}"), 4) for i in range(4)]
    dataset = SyncerWindowDataset(clips, [1, 4], augment=True, seed=0)
    items = [dataset[i] for i in range(4)]
    assert len(items[0]["landmarks"]) == 2
    mixed = group_windows(items, 8, same_clip=False, generator=torch.Generator().manual_seed(0))
    level1_x, level1_a = mixed[0]
    assert level1_x.shape[1:] == (8, 5, 68, 2) and level1_a.shape[1:] == (8, 20, 26)
    total = sum(len(item["landmarks"][0]) for item in items)
    assert level1_x.shape[0] == total // 8
    same = group_windows(items, 3, same_clip=True)
    x, a = same[0]
    assert x.shape[1] == 3
    # a same-clip group's windows come from one clip, in time order
    starts = a[:, :, 0, 0]
    assert bool((starts[:, 1:] > starts[:, :-1]).all())


def test_input_statistics():
    clips = [pyramid_clip(make_clip(40), 2, smooth=False)]
    lm_mean, lm_std, a_mean, a_std = input_statistics(clips)
    assert lm_mean.shape == (136,) and a_mean.shape == (26,)
    np.testing.assert_allclose(a_mean, np.arange(160).mean(), rtol=1e-5)
