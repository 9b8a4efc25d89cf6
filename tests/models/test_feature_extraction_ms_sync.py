import numpy as np
import pytest
import torch

from talkhead.models.ms_sync.feature_extraction_ms_sync import (
    blur_decimate,
    build_pyramid,
    level_length,
    min_frames_for_level,
    numpy_pyramid,
)


def brute_force(sequence: np.ndarray) -> np.ndarray:
    """The MS-Sync pyramid operator literally (Airale et al., MS-Sync, eq. 5; LouisBearing/HMo-audio
    `moving_avg_with_reflect_pad`): 7-tap average with reflect padding (index -1 -> 1), then even indices."""
    T = len(sequence)

    def at(i):
        if i < 0:
            i = -i
        if i >= T:
            i = 2 * (T - 1) - i
        return sequence[i]

    averaged = np.stack([np.mean([at(t + tau) for tau in range(-3, 4)], axis=0) for t in range(T)])
    return averaged[::2]


@pytest.mark.parametrize("length", [4, 5, 8, 13, 40, 81])
def test_pyramid_equals_the_brute_force_definition(length):
    sequence = np.random.default_rng(length).standard_normal((length, 3)).astype(np.float32)
    result = blur_decimate(torch.from_numpy(sequence)).numpy()
    assert result.shape == ((length + 1) // 2, 3)
    np.testing.assert_allclose(result, brute_force(sequence), atol=1e-6)


def test_levels_lengths_and_batch_axis():
    x = torch.randn(2, 80, 136)
    levels = build_pyramid(x, 4)
    assert [level.shape[1] for level in levels] == [80, 40, 20, 10] == [level_length(80, i) for i in range(1, 5)]
    assert level_length(81, 2) == 41 and level_length(81, 4) == 11
    np.testing.assert_allclose(levels[1][1].numpy(), blur_decimate(x[1]).numpy(), atol=1e-6)
    np.testing.assert_allclose(numpy_pyramid(x[0].numpy(), 3)[2], levels[2][0].numpy(), atol=1e-6)


def test_pyramid_is_linear_and_preserves_constants():
    x, y = torch.randn(30, 4), torch.randn(30, 4)
    torch.testing.assert_close(blur_decimate(2 * x + y), 2 * blur_decimate(x) + blur_decimate(y))
    torch.testing.assert_close(blur_decimate(torch.full((9, 2), 3.0)), torch.full((5, 2), 3.0))


def test_gradients_flow_through_every_level():
    x = torch.randn(1, 40, 2, requires_grad=True)
    build_pyramid(x, 4)[-1].sum().backward()
    assert x.grad is not None and (x.grad != 0).sum() > 30


def test_short_sequences_and_minimum_lengths():
    assert blur_decimate(torch.ones(3, 2)).shape == (2, 2)  # edge padding below 4 samples
    assert [min_frames_for_level(level) for level in (1, 2, 3, 4)] == [5, 9, 17, 33]
