"""Training windows streamed from a dataset too big for memory (issue #28): no Python list of clips.

The in-memory scripts load every clip, then draw windows (:class:`~talkhead.data.mouth_windows.MouthWindowDataset`).
Here the clips stream through ``datasets``: a dataset's Parquet files (``talkhead preprocess --shard I/N``, or
``--parquet``) are read as an ``IterableDataset``, only the columns the model reads (:class:`SplitStream`; the
memory-mapped Arrow files of a ``save_to_disk`` folder otherwise). Every pass reads the files in a new order (seeded
by the pass), and each process takes its own files (every k-th of the pass's order when their number divides by
the processes; otherwise every k-th clip, ``datasets.distributed.split_dataset_by_node``). Each clip gives
``draws_per_window`` windows per ``window`` frames at random places (turning a clip into features costs more than a
training step spends on a window), and the windows are shuffled in a buffer (``window_buffer``), so a batch mixes
clips of several files. Memory holds the buffer, whatever the dataset's size. The file order is ours rather than
``IterableDataset.shuffle``'s: on the 16 times larger set of ``benchmarks/scale_plan.py`` that one held 1.5 times
the private memory of the small set even with a buffer of one clip.

Resuming: :meth:`StreamedWindows.state_dict` is the stream's place in each process (the pass, and ``datasets``' own
state of that pass's ``IterableDataset``: which file, which row), gathered from every process so that accelerate's
checkpoint (written by the main process) holds them all. A resumed run rebuilds the pass's file order and goes on
from there; what sat in the window buffer when the checkpoint was written is not replayed (at most ``window_buffer``
windows of that pass).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from ..errors import TalkheadInputError
from .clips import Clip
from .mouth_windows import MotionClip
from .shards import DATA_FOLDER, Shard, is_sharded, load_sharded, missing_shards, parquet_path, read_manifests

#: What the mouth-shape models read of a clip (no crops: a face column is 85 % of a row's bytes).
MOTION_COLUMNS = ("clip_id", "source", "fps", "landmarks", "clip_box", "face_found", "audio", "logfbank", "mel",
                  "face_boxes")


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
            self.files = [str(parquet_path(path, split, Shard(**m["shard"]))) for m in manifests
                          if split in m["splits"]] or None
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
            rows = datasets.load_dataset("parquet", data_files={self.split: files}, streaming=True,
                                         columns=self._columns(self._features()))[self.split]
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
    for name in ("landmarks", "clip_box", "audio", "logfbank", "mel", "face_boxes", "phones"):
        if name in fields:
            fields[name] = np.asarray(fields[name], np.float32)
    return Clip(**fields)


def source_frames(rows) -> tuple[list[str], list[int]]:
    """(source, frames) of every row of a stream (two small columns read)."""
    sources, frames = [], []
    for row in rows.select_columns(["source", "face_found"]):
        sources.append(str(row["source"]))
        frames.append(len(row["face_found"]))
    return sources, frames


class StreamedWindows(torch.utils.data.IterableDataset):
    """Training windows of the clips of ``stream`` (a :class:`SplitStream`; ``keep(source)`` says which sources it
    trains on), process ``rank`` of ``world_size``.

    ``to_motion_clip(clip)`` turns a :class:`~talkhead.data.clips.Clip` into a
    :class:`~talkhead.data.mouth_windows.MotionClip`; ``sample(clip, rng)`` draws one window of it. See the module
    docstring for the file order, the buffer and resuming.
    """

    def __init__(self, stream: SplitStream, keep: Callable[[str], bool], to_motion_clip: Callable[[Clip], MotionClip],
                 sample: Callable[[MotionClip, np.random.Generator], dict], window: int, seed: int = 0,
                 rank: int = 0, world_size: int = 1, window_buffer: int = 512, draws_per_window: int = 4):
        super().__init__()
        self.stream, self.keep = stream, keep
        self.to_motion_clip, self.sample, self.window = to_motion_clip, sample, window
        self.seed, self.rank, self.world_size, self.window_buffer = seed, rank, world_size, window_buffer
        self.draws_per_window = draws_per_window
        self.epoch, self.clips_seen, self.rows = 0, 0, None

    def set_epoch(self, epoch: int) -> None:
        self.epoch, self.clips_seen = epoch, 0
        self.rows = self.stream.rows((self.seed, epoch), self.rank, self.world_size).filter(
            self.keep, input_columns="source")

    def __iter__(self) -> Iterator[dict]:
        if self.rows is None:
            self.set_epoch(self.epoch)
        # the windows of a pass are drawn from a generator of (seed, pass, process, clips seen): a resumed pass
        # draws new windows, never the ones it drew before the checkpoint
        rng = np.random.default_rng((self.seed, self.epoch, self.rank, self.clips_seen))
        buffer: list[dict] = []
        for row in self.rows:
            clip = self.to_motion_clip(row_to_clip(row))
            self.clips_seen += 1
            for _ in range(max(1, self.draws_per_window * clip.num_frames // self.window)):
                buffer.append(self.sample(clip, rng))
            while len(buffer) >= self.window_buffer:
                yield buffer.pop(int(rng.integers(len(buffer))))
        order = rng.permutation(len(buffer))
        yield from (buffer[i] for i in order)
        self.set_epoch(self.epoch + 1)

    def local_state(self) -> dict:
        if self.rows is None:
            self.set_epoch(self.epoch)
        return {"epoch": self.epoch, "clips_seen": self.clips_seen, "rows": self.rows.state_dict()}

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
        mine = state["processes"][self.rank]
        self.set_epoch(mine["epoch"])
        self.clips_seen = mine["clips_seen"]
        self.rows.load_state_dict(mine["rows"])
