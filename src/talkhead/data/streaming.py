"""Training windows streamed from a dataset too big for memory (issue #28): no Python list of clips.

The in-memory scripts load every clip, then draw windows (:class:`~talkhead.data.mouth_windows.MouthWindowDataset`).
Here the clips stream through ``datasets``: a dataset's Parquet files (``talkhead preprocess --shard I/N``, or
``--parquet``) are read as an ``IterableDataset`` (the Arrow files of a ``save_to_disk`` folder, memory-mapped,
otherwise), only the columns the model reads. Each process takes its part with
``datasets.distributed.split_dataset_by_node`` (whole Parquet files when their number divides by the processes,
else every k-th clip); the clips are shuffled in a buffer (``clip_buffer``, the file order reshuffled every pass),
each clip gives ``draws_per_window`` windows per ``window`` frames at random places (turning a clip into features
costs more than a training step spends on a window), and the windows are shuffled again in a second buffer
(``window_buffer``), so a batch mixes clips. Memory holds the two buffers, whatever the dataset's size.

Resuming: :meth:`StreamedWindows.state_dict` is the stream's place in each process (``datasets``' own state of an
``IterableDataset``: which file, which row; the pass), gathered from every process so that accelerate's checkpoint
(written by the main process) holds them all. A resumed run goes on from there, in the same pass; what sat in the
two shuffle buffers when the checkpoint was written is not replayed (``datasets`` resumes the same way), at most
``clip_buffer`` clips of that pass.
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
from .shards import DATA_FOLDER, is_sharded, load_sharded, read_manifests

#: What the mouth-shape models read of a clip (no crops: a face column is 85 % of a row's bytes).
MOTION_COLUMNS = ("clip_id", "source", "fps", "landmarks", "clip_box", "face_found", "audio", "logfbank", "mel",
                  "face_boxes")


def stream_split(path: str | os.PathLike, split: str, columns: tuple[str, ...] | None = None):
    """Split ``split`` of a preprocessed dataset as a ``datasets.IterableDataset`` of numpy rows (``columns`` only,
    those the dataset has): from its Parquet files when it has them, else from its memory-mapped Arrow files."""
    import datasets

    path = Path(path)
    if is_sharded(path):
        splits = load_sharded(path, streaming=True)
    elif (path / DATA_FOLDER).is_dir() and list((path / DATA_FOLDER).glob(f"{split}-*.parquet")):
        files = sorted(str(p) for p in (path / DATA_FOLDER).glob(f"{split}-*.parquet"))
        splits = datasets.load_dataset("parquet", data_files={split: files}, streaming=True)
    else:
        from .clips import load_dataset_dict

        whole = load_dataset_dict(path)
        splits = {name: rows.to_iterable_dataset(num_shards=max(1, min(len(rows), 64)))
                  for name, rows in whole.items()}
    if split not in splits:
        raise TalkheadInputError(f"the dataset {path} has no split '{split}'; it has {sorted(splits)}")
    rows = splits[split]
    if columns is not None:
        rows = rows.select_columns([c for c in columns if c in rows.features])
    return rows.with_format("numpy")


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
    """Training windows of the clips of ``rows`` (a ``datasets.IterableDataset``), process ``rank`` of ``world_size``.

    ``to_motion_clip(clip)`` turns a :class:`~talkhead.data.clips.Clip` into a
    :class:`~talkhead.data.mouth_windows.MotionClip`; ``sample(clip, rng)`` draws one window of it. See the module
    docstring for the buffers and resuming.
    """

    def __init__(self, rows, to_motion_clip: Callable[[Clip], MotionClip],
                 sample: Callable[[MotionClip, np.random.Generator], dict], window: int, seed: int = 0,
                 rank: int = 0, world_size: int = 1, clip_buffer: int = 64, window_buffer: int = 512,
                 draws_per_window: int = 4):
        from datasets.distributed import split_dataset_by_node

        super().__init__()
        part = split_dataset_by_node(rows, rank=rank, world_size=world_size) if world_size > 1 else rows
        self.rows = part.shuffle(seed=seed, buffer_size=clip_buffer)
        self.to_motion_clip, self.sample, self.window = to_motion_clip, sample, window
        self.seed, self.rank, self.world_size, self.window_buffer = seed, rank, world_size, window_buffer
        self.draws_per_window = draws_per_window
        self.epoch, self.clips_seen = 0, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.rows.set_epoch(epoch)

    def __iter__(self) -> Iterator[dict]:
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
        self.clips_seen = 0

    def local_state(self) -> dict:
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
