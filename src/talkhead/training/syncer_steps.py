"""The syncers' data (``examples/train_syncers.py``): their clips as landmark and audio pyramids, loaded or streamed,
and the windows of one optimiser step after another.

Each batch of clips is cut into groups per level (:func:`~talkhead.data.windows.group_windows`), drawn with a
generator seeded by (seed, process, batch), and gives as many steps as its largest level has groups, each level
counted by the process with the fewest (DDP needs every process to take the same steps with the same levels). The
trainer's position says where a run stands inside a batch, so a resumed run draws the batch it stopped in again and
goes on from the next group: in memory [pass, batches given, groups of the last batch done]; streamed [batches
drawn, groups of the last batch done], the stream's checkpointed place held before each batch
(:meth:`~talkhead.data.streaming.StreamedWindows.hold_place`).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch

from ..data.clips import load_training_clips
from ..data.streaming import MOTION_COLUMNS, clip_draws
from ..data.windows import group_windows, pyramid_clip, syncer_item
from .streamed_data import streamed_split, streamed_windows


def minimum_frames(config, levels: list[int]) -> int:
    """The frames a clip needs for one audio window at the top level of ``levels``."""
    return config.audio_window * 2 ** (max(levels) - 1) // config.audio_frames_per_frame


def pyramid_maker(config, levels: list[int]):
    """clip -> its :class:`~talkhead.data.windows.PyramidClip`, or None when it is too short for ``levels``."""
    minimum = minimum_frames(config, levels)

    def prepare(clip):
        return pyramid_clip(clip, config.num_levels) if clip.num_frames >= minimum else None

    return prepare


def load_clips(args, config, levels: list[int]):
    """(training, validation) pyramid clips long enough for ``levels``, and the held-out sources."""
    train, validation, held = load_training_clips(
        args.dataset, args.split, args.validation_sources, args.validation_fraction, args.seed
    )
    prepare = pyramid_maker(config, levels)

    def clips(loaded):
        return [c for c in map(prepare, loaded) if c is not None]

    return clips(train), clips(validation), held


def streamed_clips(args, trainer, config, levels: list[int], statistics_clips: int = 64):
    """(this process's streamed training items, the first training clips for the input statistics, the validation
    clips, read again at each validation, the held-out sources)."""
    split = streamed_split(args, MOTION_COLUMNS)
    prepare = pyramid_maker(config, levels)
    sample = partial(syncer_item, levels=levels, augment=args.augment)
    windows = streamed_windows(trainer, split, clip_draws(prepare, sample, None, args.stream_draws))
    first = list(split.first_training_clips(statistics_clips, prepare))
    return windows, first, split.validation_clips(prepare), split.held_out


def _groups(trainer, batch, key: list[int], group_size: int, same_clip: bool, levels: list[int]):
    """The groups of ``batch`` (drawn with a generator of (seed, process, *key)) and, per level, how many groups every
    process has: a step takes a level only where every process has a group for it, so all processes train the same
    levels at every step (their backward passes and logged losses meet)."""
    accelerator = trainer.accelerator
    seed = np.random.SeedSequence([trainer.args.seed, accelerator.process_index, *key]).generate_state(1)[0]
    groups = group_windows(batch, group_size, same_clip, torch.Generator().manual_seed(int(seed)))
    local = torch.tensor([len(x) for x, _ in groups], device=accelerator.device)
    shared = accelerator.gather(local).view(accelerator.num_processes, -1).min(0).values
    return groups, [int(count) for count in shared]


def _step(groups, levels: list[int], shared: list[int], g: int) -> dict:
    return {level: (x[g], a[g]) for level, (x, a), count in zip(levels, groups, shared, strict=True) if g < count}


def group_steps(trainer, loader, begin_pass, group_size: int, same_clip: bool, levels: list[int]):
    """The windows of one optimiser step after another, from a loader of every clip (see the module docstring)."""
    passes, given, *groups_done = trainer.state.position
    groups_done = groups_done[0] if groups_done else 0
    if groups_done:
        trainer.state.position = [passes, given - 1]
    for batch in trainer.batches(loader, begin_pass):
        passes, given = trainer.state.position
        groups, shared = _groups(trainer, batch, [passes, given], group_size, same_clip, levels)
        for g in range(groups_done, max(shared)):
            trainer.state.position = [passes, given, g + 1]
            yield _step(groups, levels, shared, g)
        groups_done = 0


def streamed_group_steps(trainer, windows, batch_size: int, group_size: int, same_clip: bool, levels: list[int]):
    """The windows of one optimiser step after another, from batches of ``batch_size`` streamed items (see the
    module docstring)."""
    batches = trainer.stream_batches(windows.loader(batch_size, collate_fn=list))
    drawn, groups_done = trainer.state.position[:2]
    while True:
        windows.hold_place()
        groups, shared = _groups(trainer, next(batches), [drawn], group_size, same_clip, levels)
        for g in range(groups_done, max(shared)):
            trainer.state.position = [drawn, g + 1]
            yield _step(groups, levels, shared, g)
        drawn, groups_done = drawn + 1, 0
