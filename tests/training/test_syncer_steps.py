"""The syncers' steps in many processes: each step takes the same levels in every process."""

from types import SimpleNamespace

import numpy as np
import torch

from talkhead.data.windows import pyramid_clip, syncer_item
from talkhead.training.syncer_steps import _groups, _step
from tests.data.test_windows import make_clip

LEVELS = [1, 2]


def process_view(other_counts: list[int]):
    """A trainer of process 0 of 2 whose gather adds the other process's per-level group counts."""
    accelerator = SimpleNamespace(
        process_index=0,
        num_processes=2,
        device=torch.device("cpu"),
        gather=lambda local: torch.cat([local, torch.tensor(other_counts)]),
    )
    return SimpleNamespace(accelerator=accelerator, args=SimpleNamespace(seed=0))


def test_a_level_another_process_has_no_group_for_is_left_out_of_that_step():
    clips = [pyramid_clip(make_clip(200, f"c{i}"), 2) for i in range(3)]
    batch = [syncer_item(c, np.random.default_rng(i), LEVELS, augment=False) for i, c in enumerate(clips)]
    groups, shared = _groups(process_view([9, 1]), batch, [0], 4, False, LEVELS)
    own = [len(x) for x, _ in groups]
    assert own[1] > 1, "this process has more level-2 groups than the other"
    assert shared == [min(own[0], 9), 1]
    assert set(_step(groups, LEVELS, shared, 0)) == {1, 2}
    assert all(set(_step(groups, LEVELS, shared, g)) == {1} for g in range(1, max(shared)))
