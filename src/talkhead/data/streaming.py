"""Training samples streamed from a dataset too big for memory: no Python list of clips.

The in-memory scripts load every clip, then draw samples (:class:`~talkhead.data.mouth_windows.MouthWindowDataset`,
:class:`~talkhead.data.face_windows.OffsetWindowDataset`, ...). Here the clips stream through ``datasets``: a
dataset's Parquet files (what ``talkhead preprocess`` writes, in one run or ``--shard I/N``) are read as an
``IterableDataset``, only the columns the model reads (:class:`SplitStream`; the memory-mapped Arrow files of a
``save_to_disk`` folder otherwise). Every pass reads the files in a new order (seeded by the pass), and each process
takes its own files (every k-th of the pass's order when their number divides by the processes; otherwise every
k-th clip, ``datasets.distributed.split_dataset_by_node``). What a clip gives is the training script's own function,
``clip_windows(clip, rng)`` (mouth windows, face windows with their mel, landmark sequences, ...);
:func:`clip_draws` makes one that prepares a clip once and draws ``draws_per_span`` samples per ``span`` frames of it
at random places (turning a clip into features costs more than a training step spends on a sample). The samples
are shuffled in a buffer (``window_buffer``), so a batch mixes clips of several files. Memory holds the buffer,
whatever the dataset's size. The file order is ours rather than ``IterableDataset.shuffle``'s: on the 16 times
larger set of ``benchmarks/scale_plan.py`` that one held 1.5 times the private memory of the small set even with a
buffer of one clip.

Resuming is exact: a resumed run draws the samples an uninterrupted one would. A clip's samples are drawn with a
generator of (seed, pass, process, clip number in the pass), and the buffer gives them out in the order of its own
generator. :meth:`StreamedWindows.state_dict` is each process's place: the pass, the clips read, the buffer as
(clip number, draw number) pairs, the buffer generator's state, and ``datasets``' own state of the pass's
``IterableDataset`` (which file, which row) before the oldest clip that still has samples in the buffer. It is
gathered from every process so that accelerate's checkpoint (written by the main process) holds them all; no
sample is saved. :meth:`StreamedWindows.load_state_dict` rebuilds the pass's file order, reads again the clips from
that oldest one on (the clips of a buffer of ``window_buffer`` samples) and draws their buffered samples again. A
script whose steps share one batch (the syncers cut a batch of clips into several groups) calls
:meth:`StreamedWindows.hold_place` before drawing it, so that a checkpoint taken between those steps saves the place
before the batch and a resumed run draws the batch again.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from ..errors import TalkheadInputError
from .clips import Clip
from .shards import DATA_FOLDER, Shard, data_file, is_sharded, load_sharded, missing_shards, read_manifests

#: What the mouth-shape models read of a clip (no crops: a face column is 85 % of a row's bytes).
MOTION_COLUMNS = (
    "clip_id",
    "source",
    "fps",
    "landmarks",
    "clip_box",
    "face_found",
    "audio",
    "logfbank",
    "mel",
    "face_boxes",
)
#: What the face models read (AVSyncNet, SyncNet, the stabilized-sync generators): the 96x96 face crops besides.
FACE_COLUMNS = (*MOTION_COLUMNS, "faces")
#: What the mouth-interior generator reads: the mouth crops and where they were cut.
MOUTH_CROP_COLUMNS = (*MOTION_COLUMNS, "mouths", "mouth_boxes")


class SplitStream:
    """One split of a preprocessed dataset, as the ``datasets.IterableDataset`` of numpy rows (``columns`` only,
    those the dataset has) that one pass of one process reads (:meth:`rows`)."""

    def __init__(self, path: str | os.PathLike, split: str, columns: tuple[str, ...] | None = None):
        path = Path(path)
        self.path, self.split, self.columns = path, split, columns
        self.files, self.table = None, None
        if is_sharded(path):
            manifests = read_manifests(path)
            if missing_shards(manifests):
                load_sharded(path)  # raises the error that names the missing shards
            known = sorted({name for manifest in manifests for name in manifest["splits"]})
            self.files = [
                str(data_file(path, split, Shard(**m["shard"]))) for m in manifests if split in m["splits"]
            ] or None
        elif (path / DATA_FOLDER).is_dir() and list((path / DATA_FOLDER).glob(f"{split}-*.parquet")):
            self.files = sorted(str(p) for p in (path / DATA_FOLDER).glob(f"{split}-*.parquet"))
            known = [split]
        else:
            from .clips import load_dataset_dict

            whole = load_dataset_dict(path)
            self.table, known = whole.get(split), sorted(whole)
        if self.files is None and self.table is None:
            raise TalkheadInputError(f"the dataset {path} has no split '{split}'; it has {known}")

    def rows(self, order_seed: tuple | None = None, rank: int = 0, world_size: int = 1):
        """The rows, files in the order ``order_seed`` draws (``None``: as listed), process ``rank`` of
        ``world_size``'s part."""
        import datasets
        from datasets.distributed import split_dataset_by_node

        if self.files is not None:
            files = list(self.files)
            if order_seed is not None:
                files = [files[i] for i in np.random.default_rng(order_seed).permutation(len(files))]
            own_files = world_size > 1 and len(files) % world_size == 0
            if own_files:
                files = files[rank::world_size]
            rows = datasets.load_dataset(
                "parquet", data_files={self.split: files}, streaming=True, columns=self._columns(self._features())
            )[self.split]
        else:
            table = self.table if order_seed is None else self.table.shuffle(seed=_seed_int(order_seed))
            rows = table.to_iterable_dataset(num_shards=max(1, min(len(table), 64)))
            own_files = False
            if self.columns is not None:
                rows = rows.select_columns(self._columns(rows.features))
        if world_size > 1 and not own_files:
            rows = split_dataset_by_node(rows, rank=rank, world_size=world_size)
        return rows.with_format("numpy")

    def _features(self):
        import pyarrow.parquet as pq
        from datasets import Features

        return Features.from_arrow_schema(pq.read_schema(self.files[0]))

    def _columns(self, features) -> list[str] | None:
        return None if self.columns is None else [c for c in self.columns if c in features]


def _seed_int(seed: tuple) -> int:
    return int(np.random.default_rng(seed).integers(2**31))


def dataset_options(path: str | os.PathLike) -> dict:
    """The preprocessing options a dataset was made with (a shard manifest's, or ``talkhead_preprocess.json``'s)."""
    manifests = read_manifests(path)
    if manifests:
        return manifests[0]["options"]
    summary = Path(path) / "talkhead_preprocess.json"
    return json.loads(summary.read_text()).get("options", {}) if summary.is_file() else {}


def row_to_clip(row: dict) -> Clip:
    """A streamed numpy row -> :class:`~talkhead.data.clips.Clip` (the fields it has)."""
    fields = {name: value for name, value in row.items() if name in Clip.__dataclass_fields__}
    fields["clip_id"], fields["source"], fields["fps"] = str(row["clip_id"]), str(row["source"]), int(row["fps"])
    fields["face_found"] = np.asarray(row["face_found"], bool)
    for name in ("landmarks", "clip_box", "audio", "logfbank", "mel", "face_boxes", "phones", "mouth_boxes"):
        if name in fields:
            fields[name] = np.asarray(fields[name], np.float32)
    for name in ("faces", "mouths"):  # the numpy formatter widens the stored uint8 to int64: 8 times the memory
        if name in fields:
            fields[name] = np.asarray(fields[name], np.uint8)
    return Clip(**fields)


def source_frames(rows) -> tuple[list[str], list[int]]:
    """(source, frames) of every row of a stream (two small columns read)."""
    sources, frames = [], []
    for row in rows.select_columns(["source", "face_found"]):
        sources.append(str(row["source"]))
        frames.append(len(row["face_found"]))
    return sources, frames


def clip_draws(
    prepare: Callable[[Clip], object | None],
    sample: Callable[[object, np.random.Generator], dict],
    span: int | None,
    draws_per_span: int = 4,
) -> Callable[[Clip, np.random.Generator], list[dict]]:
    """A ``clip_windows`` for :class:`StreamedWindows`: ``prepare(clip)`` once (``None``: the clip gives nothing, e.g.
    too short), then ``max(1, draws_per_span * frames // span)`` draws of ``sample(prepared, rng)``
    (``draws_per_span`` when ``span`` is None: a sample that covers the whole clip)."""

    def clip_windows(clip: Clip, rng: np.random.Generator) -> list[dict]:
        prepared = prepare(clip)
        if prepared is None:
            return []
        count = draws_per_span if span is None else max(1, draws_per_span * clip.num_frames // span)
        return [sample(prepared, rng) for _ in range(count)]

    return clip_windows


def release_free_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's ``malloc_trim``; elsewhere nothing happens).

    A shuffle buffer's samples (face windows of one to a few MiB) and the clips they are cut from come and go all
    the time, and glibc keeps what they freed, fragmented, with the process: AVSyncNet's streamed training on this
    project's shards peaked at 6,426 MiB that way, 3,831 MiB trimmed after every clip, at the same speed (serving
    large blocks by mmap instead held 3,114 MiB at half the speed).
    """
    import ctypes

    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


class StreamedWindows(torch.utils.data.IterableDataset):
    """Training samples of the clips of ``stream`` (a :class:`SplitStream`; ``keep(source)`` says which sources it
    trains on), process ``rank`` of ``world_size``.

    ``clip_windows(clip, rng)`` turns one :class:`~talkhead.data.clips.Clip` into its samples, drawn with ``rng``
    alone so that they can be drawn again (:func:`clip_draws` makes one). The place in the pass lives in the object,
    not in an iterator: iterating goes on from there, and :meth:`state_dict` / :meth:`load_state_dict` save and
    restore it exactly (see the module docstring). Iterate in the process that checkpoints (a loader without
    workers: :meth:`loader`).
    """

    def __init__(
        self,
        stream: SplitStream,
        keep: Callable[[str], bool],
        clip_windows: Callable[[Clip, np.random.Generator], list[dict]],
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        window_buffer: int = 512,
    ):
        super().__init__()
        self.stream, self.keep, self.clip_windows = stream, keep, clip_windows
        self.seed, self.rank, self.world_size, self.window_buffer = seed, rank, world_size, window_buffer
        self.epoch, self.clips_seen, self.rows = 0, 0, None
        self._held_place = None

    def set_epoch(self, epoch: int) -> None:
        """Start pass ``epoch`` from its beginning, with an empty buffer."""
        self.epoch, self.clips_seen = epoch, 0
        self.rows = self.stream.rows((self.seed, epoch), self.rank, self.world_size).filter(
            self.keep, input_columns="source"
        )
        self._next_place = self.rows.state_dict()  # the rows' state before the next clip
        self._row_iterator = None
        self._buffer: list[tuple[int, int, dict]] = []  # (clip number in the pass, draw number, window)
        self._buffered = Counter()  # windows in the buffer per clip number
        self._places: dict[int, dict] = {}  # the rows' state before each clip that has windows in the buffer
        self._order = np.random.default_rng((self.seed, epoch, self.rank))

    def loader(self, batch_size: int, collate_fn: Callable | None = None) -> torch.utils.data.DataLoader:
        """Batches of ``batch_size`` samples (a pass's last, smaller one dropped), read in this process. The loader
        draws its seed from a generator of its own: from the global one, every pass's start (and a resume) would
        move the dropout masks of training."""
        return torch.utils.data.DataLoader(
            self,
            batch_size=batch_size,
            drop_last=True,
            collate_fn=collate_fn,
            generator=torch.Generator().manual_seed(self.seed),
        )

    def hold_place(self) -> None:
        """From now until the next call, checkpoints save the place this stream has now: call it before drawing a
        batch that several optimiser steps share, so that a run resumed between them draws that batch again."""
        self._held_place = None
        self._held_place = self.local_state()

    def __iter__(self) -> Iterator[dict]:
        if self.rows is None:
            self.set_epoch(self.epoch)
        while True:
            while len(self._buffer) >= self.window_buffer:
                yield self._pop()
            if not self._read_clip():
                break
        while self._buffer:
            yield self._pop()
        self.set_epoch(self.epoch + 1)

    def _next_row(self) -> tuple[dict | None, dict]:
        """The pass's next row (None at its end) and the rows' state before it."""
        if self._row_iterator is None:
            self._row_iterator = iter(self.rows)
        place, row = self._next_place, next(self._row_iterator, None)
        if row is not None:
            self._next_place = self.rows.state_dict()
        return row, place

    def _windows(self, clip_number: int, row: dict) -> list[dict]:
        """Every sample of the pass's clip ``clip_number``: the same ones whenever the clip is read."""
        rng = np.random.default_rng((self.seed, self.epoch, self.rank, clip_number))
        return self.clip_windows(row_to_clip(row), rng)

    def _read_clip(self) -> bool:
        """Put the next clip's windows in the buffer; False at the end of the pass."""
        row, place = self._next_row()
        if row is None:
            return False
        clip_number, self.clips_seen = self.clips_seen, self.clips_seen + 1
        windows = self._windows(clip_number, row)
        del row
        release_free_memory()
        if windows:  # a clip without samples (too short) holds no place in the buffer
            self._buffer.extend((clip_number, draw, window) for draw, window in enumerate(windows))
            self._buffered[clip_number], self._places[clip_number] = len(windows), place
        return True

    def _pop(self) -> dict:
        clip_number, _, window = self._buffer.pop(int(self._order.integers(len(self._buffer))))
        self._buffered[clip_number] -= 1
        if not self._buffered[clip_number]:
            del self._buffered[clip_number], self._places[clip_number]
        return window

    def local_state(self) -> dict:
        """This process's place: small numbers and ``datasets``' state, no sample (the held one, if any:
        :meth:`hold_place`)."""
        if self._held_place is not None:
            return self._held_place
        if self.rows is None:
            self.set_epoch(self.epoch)
        oldest = min(self._places, default=self.clips_seen)
        return {
            "epoch": self.epoch,
            "clips_seen": self.clips_seen,
            "oldest_buffered_clip": oldest,
            "rows": self._places.get(oldest, self._next_place),
            "buffer": [[clip_number, draw] for clip_number, draw, _ in self._buffer],
            "buffer_order": self._order.bit_generator.state,
        }

    def load_local_state(self, state: dict) -> None:
        """Go back to the place ``state`` (:meth:`local_state`) saved: the pass's rows from the oldest buffered clip
        on, read again up to where the pass stood, and the buffered windows drawn again."""
        self._held_place = None
        self.set_epoch(state["epoch"])
        self.rows.load_state_dict(state["rows"])
        self._next_place = state["rows"]
        wanted = {clip_number for clip_number, _ in state["buffer"]}
        windows = {}
        for clip_number in range(state["oldest_buffered_clip"], state["clips_seen"]):
            row, place = self._next_row()
            if row is None:
                raise TalkheadInputError(
                    f"the dataset {self.stream.path} has fewer clips than when the checkpoint was written; resume "
                    "with the dataset it was trained on"
                )
            if clip_number in wanted:
                windows[clip_number], self._places[clip_number] = self._windows(clip_number, row), place
        self.clips_seen = state["clips_seen"]
        self._buffer = [(clip_number, draw, windows[clip_number][draw]) for clip_number, draw in state["buffer"]]
        self._buffered = Counter(clip_number for clip_number, _ in state["buffer"])
        self._order.bit_generator.state = state["buffer_order"]

    def state_dict(self) -> dict:
        """Every process's place (a collective call: accelerate's ``save_state`` runs it in every process)."""
        states = [self.local_state()]
        if self.world_size > 1:
            from accelerate.utils import gather_object

            states = gather_object(states)
        return {"world_size": self.world_size, "processes": states}

    def load_state_dict(self, state: dict) -> None:
        if state["world_size"] != self.world_size:
            raise TalkheadInputError(
                f"this checkpoint streamed its data in {state['world_size']} processes; resume it with as many "
                f"(accelerate launch --num_processes {state['world_size']})"
            )
        if "buffer" not in state["processes"][self.rank]:
            raise TalkheadInputError(
                "this checkpoint was written by an older talkhead, which did not save the window buffer; resume it "
                "with the version that wrote it"
            )
        self.load_local_state(state["processes"][self.rank])
