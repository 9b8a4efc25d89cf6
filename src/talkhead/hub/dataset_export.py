"""A preprocessed dataset the Hub way: a dataset card, Parquet shards with a ``configs:`` README, upload.

``talkhead preprocess`` in one run saves Arrow files with ``save_to_disk`` (memory-mapped, what training reads);
``--shard`` runs write Parquet alone. The Hub reads Parquet described by the README's ``configs:`` front matter (the
replacement of loading scripts), and a user deciding whether they may use a dataset needs its card: where the clips
come from and under which licences, the splits, the features and how to read them. This module writes both into a
one-run folder (``README.md``, ``data/<split>-<i>-of-<n>.parquet``), so the folder is at once a ``load_from_disk``
folder and a Hub dataset repository that ``load_dataset(folder)`` reads, and the card of a sharded folder once its
last shard is in (:func:`sharded_dataset_card`); :func:`push_dataset` uploads the card and the Parquet shards.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from ..defaults import VIDEO_FPS
from ..errors import TalkheadInputError
from .model_card import markdown_table
from .upload import upload_folder

#: Shards are cut at about this many bytes of Arrow data (``datasets``' own ``push_to_hub`` default).
MAX_SHARD_BYTES = 500 * 2**20
PARQUET_FOLDER = "data"

#: What each column of the data contract holds (architecture.md, "Data contract").
COLUMN_MEANINGS = {
    "clip_id": "file stem (`#k` for the k-th face segment of a clip split at a long face gap)",
    "source": "source folder under the input; the splits never share a source",
    "fps": "frames per second, always 25 after resampling",
    "landmarks": "dlib 68 points (T, 68, 2) in the clip's fixed square crop, divided by its side: [0, 1), y down",
    "clip_box": "that fixed crop (x0, y0, x1, y1) in frame pixels",
    "face_found": "(T,) whether a face was detected (gaps of up to 2 frames are interpolated)",
    "audio": "16 kHz mono waveform, 640 samples per frame",
    "logfbank": "(4T, 26) log filterbank energies (MS-Sync audio features)",
    "mel": "(M, 80) Wav2Lip-style log-mel spectrogram",
    "face_boxes": "(T, 4) smoothed face crop boxes in frame pixels",
    "faces": "(T, 96, 96, 3) uint8 RGB face crops (`--faces`)",
    "phones": "(T, phones) soft one-hots of the phones pocketsphinx hears per frame (`--phones`)",
}


def source_licences(sources_files) -> dict[str, str]:
    """Source folder -> licence, read from ``SOURCES.md`` files laid out as ../shared/data/raw/SOURCES.md.

    That layout has a ``## owner/repo`` heading per source (folder ``owner__repo``) followed by a
    ``- licence: ...`` line. Sources a file does not list are simply absent (the card says "not stated").
    """
    licences: dict[str, str] = {}
    for path in sources_files:
        heading = None
        for line in Path(path).read_text(errors="replace").splitlines():
            if line.startswith("## "):
                heading = line[3:].strip().replace("/", "__")
            elif heading and re.match(r"-\s*licen[cs]e\s*:", line, re.IGNORECASE):
                licences[heading] = line.split(":", 1)[1].strip()
    return licences


def _split_stats(split) -> dict[str, dict]:
    """Per source: clips and frames of one split, read from Arrow (no Python list of every row)."""
    return _table_stats(split.data.table if hasattr(split.data, "table") else split.data)


def _table_stats(table) -> dict[str, dict]:
    """Per source: clips and frames of a ``pyarrow.Table`` holding the ``source`` and ``face_found`` columns."""
    import pyarrow.compute as pc

    sources = table.column("source").to_pylist()
    frames = pc.list_value_length(table.column("face_found")).to_pylist()
    stats: dict[str, dict] = {}
    for source, count in zip(sources, frames, strict=True):
        entry = stats.setdefault(source, {"clips": 0, "frames": 0})
        entry["clips"] += 1
        entry["frames"] += int(count)
    return stats


def _size_category(rows: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if rows < limit:
            return label
    return "n>1M"


def parquet_configs(split_names) -> list[dict]:
    """The README ``configs:`` entry that maps each split to its Parquet shards under ``data/``."""
    return [
        {
            "config_name": "default",
            "data_files": [{"split": name, "path": f"{PARQUET_FOLDER}/{name}-*"} for name in split_names],
        }
    ]


def dataset_card(
    dataset_dict,
    *,
    licences: dict[str, str] | None = None,
    pretty_name: str = "talkhead preprocessed clips",
    parquet: bool = False,
    license: str = "other",
    options: dict | None = None,
):
    """The ``DatasetCard`` of a preprocessed ``DatasetDict``: sources and licences, splits, features, how to read it."""
    stats = {name: _split_stats(split) for name, split in dataset_dict.items()}
    features = next(iter(dataset_dict.values())).features
    return _card(stats, features, licences or {}, pretty_name, parquet, license, options, arrow=True)


def sharded_dataset_card(files: dict[str, list[str]], licences: dict[str, str] | None = None, options=None):
    """The ``DatasetCard`` of a ``talkhead preprocess --shard`` folder, given its Parquet ``files`` per split, read
    from two small columns and the files' schema (no row is decoded)."""
    import pyarrow.parquet as pq
    from datasets import Features

    stats = {
        split: _table_stats(pq.read_table(paths, columns=["source", "face_found"])) for split, paths in files.items()
    }
    features = Features.from_arrow_schema(pq.read_schema(next(iter(files.values()))[0]))
    return _card(stats, features, licences or {}, "talkhead preprocessed clips", True, "other", options, arrow=False)


def _card(stats, features, licences, pretty_name, parquet, license, options, arrow: bool):
    from huggingface_hub import DatasetCard, DatasetCardData

    rows = sum(entry["clips"] for by_source in stats.values() for entry in by_source.values())
    data = DatasetCardData(
        license=license,
        license_name="per-source-see-card" if license == "other" else None,
        pretty_name=pretty_name,
        size_categories=[_size_category(rows)],
        tags=["talking-head", "lip-sync", "audio-visual", "landmarks", "talkhead"],
        configs=parquet_configs(stats) if parquet else None,
    )

    def minutes(frames: int) -> str:
        return f"{frames / VIDEO_FPS / 60:.2f}"

    source_rows = [
        [f"`{source}`", name, entry["clips"], minutes(entry["frames"]), licences.get(source, "not stated")]
        for name, by_source in stats.items()
        for source, entry in sorted(by_source.items())
    ]
    split_rows = [
        [
            name,
            sum(e["clips"] for e in s.values()),
            sum(e["frames"] for e in s.values()),
            minutes(sum(e["frames"] for e in s.values())),
            len(s),
        ]
        for name, s in stats.items()
    ]
    feature_rows = [
        [f"`{column}`", f"`{feature!r}`", COLUMN_MEANINGS.get(column, "")] for column, feature in features.items()
    ]
    crops = ", 96x96 face crops" if "faces" in features else ""
    reading = (
        'ds = datasets.load_from_disk("THIS_FOLDER")          # the Arrow files, memory-mapped\n' if arrow else ""
    ) + 'ds = datasets.load_dataset("THIS_FOLDER_OR_REPO_ID")  # the Parquet shards under data/'
    zero_copy = (
        " `talkhead.data.clips.read_clip` reads a row as\nzero-copy views of the memory-mapped Arrow data."
        if arrow
        else ""
    )
    body = f"""# {pretty_name}

Talking-face clips turned into training data by `talkhead preprocess`: per clip, 68 face landmarks at
{VIDEO_FPS} fps, the speech and its audio features{crops}. One row per clip
(or per face segment of a clip). Built with the options {options or {}}.

## Sources and licences

The licence column is the licence file of the repository or collection each source folder came from, as
listed in the input's `SOURCES.md` ("not stated" where none was). It covers that collection; footage cut
from broadcasts, talks or other datasets keeps its own terms. **Use for research only unless you have
cleared every source**, and do not redistribute clips whose terms forbid it.

{markdown_table(["source", "split", "clips", "minutes", "licence"], source_rows)}

## Splits

Splits are by source folder, so a speaker with their own folder is never on both sides.

{markdown_table(["split", "clips", "frames", "minutes", "sources"], split_rows)}

## Features

{markdown_table(["column", "feature", "meaning"], feature_rows)}

## Reading it

```python
import datasets
{reading}
clip = ds["train"].with_format("numpy", dtype=None)[0]
clip["faces"].dtype                                  # uint8
```

`dtype=None` keeps every column's stored type: without it `datasets`' numpy and torch formats turn any
integer array into int64 (8x the memory for the face crops).{zero_copy}
"""
    return DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{body}")


def export_parquet(dataset_dict, folder: str | os.PathLike, max_shard_bytes: int = MAX_SHARD_BYTES) -> list[Path]:
    """Write each split as ``folder/data/<split>-<i>-of-<n>.parquet`` (shards of about ``max_shard_bytes``)."""
    out = Path(folder) / PARQUET_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, split in dataset_dict.items():
        shards = max(1, math.ceil(split.data.nbytes / max_shard_bytes))
        for index in range(shards):
            path = out / f"{name}-{index:05d}-of-{shards:05d}.parquet"
            split.shard(shards, index, contiguous=True).to_parquet(str(path))
            written.append(path)
    return written


def write_hub_files(
    folder: str | os.PathLike,
    dataset_dict=None,
    *,
    parquet: bool = False,
    sources_files=(),
    options: dict | None = None,
) -> Path:
    """Write ``folder/README.md`` (and with ``parquet`` the shards) for the dataset saved in ``folder``; returns the
    card's path."""
    import datasets

    folder = Path(folder)
    dataset_dict = dataset_dict if dataset_dict is not None else datasets.load_from_disk(str(folder))
    if parquet:
        export_parquet(dataset_dict, folder)
    card = dataset_card(dataset_dict, licences=source_licences(sources_files), parquet=parquet, options=options)
    card.save(folder / "README.md")
    return folder / "README.md"


def push_dataset(folder: str | os.PathLike, repo_id: str, private: bool | None = None) -> str:
    """Upload the card and the Parquet shards of ``folder`` as the dataset ``repo_id``; returns the commit URL.

    Raises :class:`talkhead.hub.upload.HubUploadError` (auth, network or hub) when the upload fails.
    """

    folder = Path(folder)
    if not any((folder / PARQUET_FOLDER).glob("*.parquet")) or not (folder / "README.md").exists():
        raise TalkheadInputError(
            f"'{folder}' has no README.md and {PARQUET_FOLDER}/*.parquet to upload; "
            "run `talkhead preprocess` without --no-parquet first"
        )
    return upload_folder(
        folder,
        repo_id,
        repo_type="dataset",
        private=private,
        allow_patterns=["README.md", f"{PARQUET_FOLDER}/*.parquet"],
        commit_message="Upload a talkhead preprocessed dataset",
    )
