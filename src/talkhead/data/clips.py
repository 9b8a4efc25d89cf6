"""Reading preprocessed clips back with their contract dtypes, without copying them.

``datasets``' numpy and torch formatters widen integer arrays to int64 unless asked not to (a 96x96
face stack would take 8x its memory): ``with_format("numpy", dtype=None)`` keeps every column's
stored dtype (:func:`with_contract_format`). Training reads rows through Arrow instead: a
:class:`Clip`'s face crops are a read-only view of the memory-mapped Arrow file (:func:`read_clip`),
so loading a dataset's clips costs the face pages the training actually touches, not a copy of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import TalkheadInputError
from ..processing.phones import PHONE_LOOP_DECODER, phone_features
from .shards import is_sharded, load_sharded


@dataclass
class Clip:
    """One row of a preprocessed dataset (see the data contract in architecture.md).

    ``faces`` is a read-only view of the memory-mapped dataset (:func:`read_clip`): numpy refuses to
    write into it, and a tensor made from it with ``torch.from_numpy`` must not be changed in place
    (convert it, ``.float()``, first). The other arrays are the clip's own copies.
    """

    clip_id: str
    source: str
    fps: int
    landmarks: np.ndarray  # (T, 68, 2) float32, clip-crop units
    clip_box: np.ndarray  # (4,) float32, frame pixels
    face_found: np.ndarray  # (T,) bool
    audio: np.ndarray  # (640 T,) float32, 16 kHz
    logfbank: np.ndarray  # (4T, 26) float32
    mel: np.ndarray  # (M, 80) float32
    face_boxes: np.ndarray  # (T, 4) float32, frame pixels
    faces: np.ndarray | None = None  # (T, 96, 96, 3) uint8
    phones: np.ndarray | None = None  # (T, NUM_PHONES) float32 phone soft one-hots (`preprocess --phones`)
    mouths: np.ndarray | None = None  # (T, 64, 64, 3) uint8 mouth crops (`preprocess --mouths`)
    mouth_boxes: np.ndarray | None = None  # (T, 4) float32, frame pixels: where the mouth crops were cut

    @property
    def num_frames(self) -> int:
        return int(self.landmarks.shape[0])


def clip_phones(clip, decoder: str = PHONE_LOOP_DECODER) -> np.ndarray:
    """The clip's phone soft one-hots: the dataset's ``phones`` column (``talkhead preprocess`` decodes with the
    default decoder, the phone loop), or decoded from its audio with ``decoder``."""
    stored = getattr(clip, "phones", None)
    if stored is not None and decoder == PHONE_LOOP_DECODER:
        return np.asarray(stored, np.float32)
    return phone_features(clip.audio, clip.num_frames, clip.fps, decoder)


def with_contract_format(dataset, kind: str = "numpy"):
    """``dataset`` formatted as ``kind`` (numpy, torch) with every column in its stored dtype (faces uint8)."""
    return dataset.with_format(kind, dtype=None)


def _dense_view(array) -> np.ndarray | None:
    """The one row of ``array`` (a length-1 Arrow array of nested lists) as an n-d numpy view of its buffer.

    ``datasets`` stores ``ArrayXD`` as nested variable-length lists whose inner sizes its type declares
    (``shape``), ``List(..., length=n)`` as fixed-size lists and ``List`` as one variable list; either
    way one row's values are contiguous, so flattening the row and reshaping it copies nothing.
    ``None`` when the row is not a dense array (a scalar, undeclared inner sizes, nulls). Booleans are
    bit-packed in Arrow, so they are copied.
    """
    import pyarrow as pa

    declared = None
    if isinstance(array.type, pa.BaseExtensionType):
        declared = getattr(array.type, "shape", None)
        array = array.storage
    sizes: list[int | None] = []
    while pa.types.is_list(array.type) or pa.types.is_large_list(array.type) or pa.types.is_fixed_size_list(array.type):
        sizes.append(array.type.list_size if pa.types.is_fixed_size_list(array.type) else None)
        array = array.flatten()
        if len(sizes) == 1:
            sizes[0] = len(array)
    if not sizes or pa.types.is_nested(array.type) or array.null_count:
        return None
    if declared is not None and len(declared) == len(sizes):
        sizes = [sizes[0], *declared[1:]]
    if None in sizes or int(np.prod(sizes)) != len(array):
        return None
    return array.to_numpy(zero_copy_only=not pa.types.is_boolean(array.type)).reshape(sizes)


def _column_value(table, name: str):
    chunks = [chunk for chunk in table.column(name).chunks if len(chunk)]
    if not chunks:
        return None
    view = _dense_view(chunks[0])
    if view is not None:
        return view
    value = chunks[0].to_numpy(zero_copy_only=False)[0]
    if isinstance(value, np.ndarray) and value.dtype == object:
        value = np.stack(value)
    return value


#: Columns :func:`read_clip` leaves as views of the memory-mapped file: the face crops, 85 % of a clip's bytes.
#: The rest (landmarks, audio and its features) are copied: small, and freely handed to torch, where an
#: in-place change of a view of a read-only mapping would crash the process instead of raising.
ZERO_COPY_COLUMNS = ("faces", "mouths")


def read_clip(dataset, index: int) -> Clip:
    """Row ``index`` of a preprocessed ``datasets.Dataset`` as a :class:`Clip`; ``faces`` is a zero-copy read-only
    view."""
    table = dataset.with_format("arrow")[int(index) : int(index) + 1]
    fields = {name: _column_value(table, name) for name in table.column_names if name in Clip.__dataclass_fields__}
    for name, value in fields.items():
        if isinstance(value, np.ndarray) and name not in ZERO_COPY_COLUMNS:
            fields[name] = np.array(value)
    fields["clip_id"] = str(fields["clip_id"])
    fields["source"] = str(fields["source"])
    fields["fps"] = int(fields["fps"])
    fields["face_found"] = np.asarray(fields["face_found"], bool)
    for name in ("audio", "clip_box"):
        fields[name] = np.asarray(fields[name], np.float32)
    return Clip(**fields)


def iter_clips(dataset):
    """Every row of ``dataset`` as a :class:`Clip`."""
    for index in range(len(dataset)):
        yield read_clip(dataset, index)


def load_dataset_dict(path: str | os.PathLike):
    """Load a folder written by ``talkhead preprocess`` (one run, or every shard of ``--shard I/N`` runs), with a
    clear error when it is something else."""
    import datasets

    if is_sharded(path):
        return load_sharded(path)
    try:
        return datasets.load_from_disk(str(path))
    except FileNotFoundError as err:
        raise TalkheadInputError(f"'{path}' is not a dataset written by `talkhead preprocess` ({err})") from err


def split_by_source(
    dataset, holdout: list[str] | None = None, fraction: float = 0.15, seed: int = 0
) -> tuple[list[int], list[int], list[str]]:
    """Row indices of a source-disjoint split: (kept, held out, held-out sources).

    ``holdout`` names the held-out sources; without it, sources are drawn in a seeded random order
    until they hold at least ``fraction`` of the frames. No source is on both sides, so speakers
    that have their own source folder never overlap.
    """
    import pyarrow.compute as pc

    table = dataset.with_format("arrow")[:]  # two columns read from Arrow, not every row as Python lists
    sources = table.column("source").to_pylist()
    frames = pc.list_value_length(table.column("face_found")).to_pylist()
    chosen = choose_holdout(sources, frames, holdout, fraction, seed)
    kept = [i for i, s in enumerate(sources) if s not in chosen]
    held_out = [i for i, s in enumerate(sources) if s in chosen]
    return kept, held_out, sorted(chosen)


def choose_holdout(
    sources: list[str], frames: list[int], holdout: list[str] | None = None, fraction: float = 0.15, seed: int = 0
) -> set[str]:
    """The held-out sources of rows with ``sources`` and ``frames``: ``holdout`` (checked), or sources drawn in a
    seeded random order until they hold at least ``fraction`` of the frames (see :func:`split_by_source`)."""
    names = sorted(set(sources))
    if holdout:
        unknown = sorted(set(holdout) - set(names))
        if unknown:
            raise TalkheadInputError(
                f"validation sources {unknown} are not in the dataset; its sources are: {', '.join(names)}"
            )
        return set(holdout)
    if len(names) < 2:
        raise TalkheadInputError(
            "a source-disjoint split needs at least two sources; add data or give no validation split"
        )
    order = np.random.default_rng(seed).permutation(len(names))
    total, chosen, held = sum(frames), set(), 0
    for index in order:
        if held >= fraction * total or len(chosen) == len(names) - 1:
            break
        chosen.add(names[index])
        held += sum(f for s, f in zip(sources, frames, strict=True) if s == names[index])
    return chosen


def load_training_clips(
    path: str, split: str, validation_sources: str | None, fraction: float = 0.15, seed: int = 0
) -> tuple[list[Clip], list[Clip], list[str]]:
    """The clips of ``split`` in a preprocessed dataset, divided source-disjointly: (training, validation, held-out
    sources).

    ``validation_sources`` is the comma-separated list of the training scripts' ``--validation_sources``.
    """

    dataset = load_dataset_dict(path)
    if split not in dataset:
        raise TalkheadInputError(f"the dataset {path} has no split '{split}'; it has {sorted(dataset)}")
    rows = dataset[split]
    holdout = [s.strip() for s in validation_sources.split(",") if s.strip()] if validation_sources else None
    train_rows, validation_rows, held = split_by_source(rows, holdout, fraction, seed)
    return [read_clip(rows, i) for i in train_rows], [read_clip(rows, i) for i in validation_rows], held
