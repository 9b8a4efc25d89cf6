"""What every training script's ``--streaming`` shares: the held-out sources, the streamed training samples
registered in accelerate's checkpoint, and validation read again at every validation.

A script supplies how one clip becomes its samples (``clip_windows(clip, rng)``, usually
:func:`~talkhead.data.streaming.clip_draws` of the code its in-memory dataset draws with); the streaming itself is
:class:`~talkhead.data.streaming.StreamedWindows`. The held-out sources are chosen from two small columns, as
:func:`~talkhead.data.clips.split_by_source` chooses them in memory. Validation clips are read again from the
dataset at each validation, one at a time (at most ``max_validation_clips`` of them: held-out sources of a big set
hold many), and statistics a model is initialised with come from the first training clips, the same ones in every
process.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice

import numpy as np
import torch

from ..data.clips import Clip, choose_holdout
from ..data.streaming import SplitStream, StreamedWindows, row_to_clip, source_frames

MAX_VALIDATION_CLIPS = 200


class StreamedClips:
    """The first ``limit`` clips of ``rows`` (a streamed ``IterableDataset``), each through ``prepare`` (``None``
    leaves a clip out), read again at every iteration: one clip in memory at a time."""

    def __init__(self, rows, prepare: Callable[[Clip], object], limit: int, count: int):
        self.rows, self.prepare, self.limit = rows, prepare, limit
        self.count = min(count, limit)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator:
        for row in islice(self.rows, self.limit):
            prepared = self.prepare(row_to_clip(row))
            if prepared is not None:
                yield prepared


class StreamedBatches:
    """Fixed validation batches, drawn again at every iteration: the samples ``clip_windows(clip, rng)`` gives for
    each held-out clip (``rng`` seeded by ``seed`` and the clip's number), ``batch_size`` at a time, up to
    ``samples`` in all. True when there are held-out clips."""

    def __init__(
        self,
        clips: StreamedClips,
        clip_windows: Callable[[Clip, np.random.Generator], list[dict]],
        samples: int,
        batch_size: int,
        seed: int = 1234,
    ):
        self.clips, self.clip_windows, self.samples = clips, clip_windows, samples
        self.batch_size, self.seed = batch_size, seed

    def __bool__(self) -> bool:
        return len(self.clips) > 0

    def __iter__(self) -> Iterator[dict]:
        collate = torch.utils.data.default_collate
        pending, given = [], 0
        for number, clip in enumerate(self.clips):
            for sample in self.clip_windows(clip, np.random.default_rng((self.seed, number))):
                pending.append(sample)
                given += 1
                if len(pending) == self.batch_size or given == self.samples:
                    yield collate(pending)
                    pending = []
                if given == self.samples:
                    return
        if pending:
            yield collate(pending)

    def first(self) -> dict | None:
        """The first batch (the one sample grids show), or None."""
        return next(iter(self), None)


def without_crops(clip: Clip) -> Clip:
    """``clip`` without its face and mouth crops (what statistics of landmarks and audio keep in memory)."""
    return dataclasses.replace(clip, faces=None, mouths=None)


@dataclass
class StreamedSplit:
    """One split of a dataset, streamed, with the held-out sources chosen (``args``' ``--validation_sources``,
    ``--validation_fraction`` and ``--seed``)."""

    stream: SplitStream
    held: set[str]
    sources: list[str]

    @property
    def held_out(self) -> list[str]:
        return sorted(self.held)

    def trained_on(self, source: str) -> bool:
        return source not in self.held

    @property
    def validation_count(self) -> int:
        return sum(source in self.held for source in self.sources)

    def validation_clips(self, prepare=without_crops, limit: int = MAX_VALIDATION_CLIPS) -> StreamedClips:
        """The held-out clips (at most ``limit``), each through ``prepare``, read again at every iteration."""
        rows = self.stream.rows().filter(lambda source: source in self.held, input_columns="source")
        return StreamedClips(rows, prepare, limit, self.validation_count)

    def first_training_clips(self, limit: int, prepare=without_crops) -> StreamedClips:
        """The first ``limit`` training clips in the listed file order: the same in every process."""
        rows = self.stream.rows().filter(self.trained_on, input_columns="source")
        return StreamedClips(rows, prepare, limit, len(self.sources) - self.validation_count)


def streamed_split(args, columns: tuple[str, ...] | None) -> StreamedSplit:
    """``args.dataset``'s ``args.split``, streamed with ``columns`` (the columns the model reads)."""
    stream = SplitStream(args.dataset, args.split, columns)
    sources, frames = source_frames(stream.rows())
    holdout = [s.strip() for s in args.validation_sources.split(",") if s.strip()] if args.validation_sources else None
    held = choose_holdout(sources, frames, holdout, args.validation_fraction, args.seed)
    return StreamedSplit(stream, held, sources)


def streamed_windows(trainer, split: StreamedSplit, clip_windows) -> StreamedWindows:
    """This process's streamed training samples, registered in accelerate's checkpoint (before ``trainer.start``
    restores one) so that a resumed run goes on where the stream stood."""
    state, args = trainer.accelerator.state, trainer.args
    windows = StreamedWindows(
        split.stream,
        split.trained_on,
        clip_windows,
        args.seed,
        state.process_index,
        state.num_processes,
        args.window_buffer,
    )
    trainer.accelerator.register_for_checkpointing(windows)
    return windows


def stream_description(trainer) -> str:
    state = trainer.accelerator.state
    return f"training clips streamed (process {state.process_index + 1} of {state.num_processes})"
