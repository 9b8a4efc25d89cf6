"""The layout of a sharded dataset (issue #28): which clips a shard owns, its Parquet files, its manifest, and
loading every shard back as one dataset.

``talkhead preprocess RAW -o OUT --shard I/N`` processes the clips whose key (the path below the input folder,
:attr:`~talkhead.data.discovery.ClipSpec.key`) hashes to ``I`` modulo ``N``: a stable hash of the path, so the
slice does not depend on the order a file system lists files in, nor on which machine lists them. It writes

    OUT/data/train-0000I-of-0000N.parquet      its training rows (a split with no rows has no file)
    OUT/data/test-0000I-of-0000N.parquet       its test rows
    OUT/manifests/shard-0000I-of-0000N.json    written last: the shard is complete when this exists

The file names are the ``{split}-{index}-of-{count}`` pattern ``datasets`` infers splits from, so plain
``datasets.load_dataset("parquet", data_dir=OUT)`` reads the folder; the Parquet schema carries the
``datasets`` features, so uint8 crops stay uint8. Every file is written under a hidden temporary name and renamed
when complete; a shard that starts again first removes everything with its own name (and only that), so N
machines sharing one folder never touch each other's files and a shard killed half-way is rewritten whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import TalkheadInputError

DATA_FOLDER = "data"
MANIFEST_FOLDER = "manifests"
MANIFEST_VERSION = 1
SHARD_TEXT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def stable_hash(key: str) -> int:
    """A hash of ``key`` that is the same in every process and on every machine (Python's ``hash`` is salted)."""
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based): the clips whose key hashes to ``index`` modulo ``count``."""

    index: int
    count: int

    def __post_init__(self):
        if self.count < 1 or not 0 <= self.index < self.count:
            raise TalkheadInputError(f"shard={self.index}/{self.count} is not a shard: give I/N with 0 <= I < N")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"3/8"`` -> ``Shard(3, 8)``."""
        match = SHARD_TEXT.match(str(text))
        if not match:
            raise TalkheadInputError(f"--shard {text!r} is not I/N (for example 0/8: the first of 8 shards)")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def name(self) -> str:
        return f"{self.index:05d}-of-{self.count:05d}"

    def owns(self, key: str) -> bool:
        return stable_hash(key) % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parquet_path(output: Path, split: str, shard: Shard) -> Path:
    return Path(output) / DATA_FOLDER / f"{split}-{shard.name}.parquet"


def manifest_path(output: Path, shard: Shard) -> Path:
    return Path(output) / MANIFEST_FOLDER / f"shard-{shard.name}.json"


def temporary_path(path: Path) -> Path:
    """The hidden name a file is written under until it is complete (the writer's pid keeps two runs apart)."""
    return path.with_name(f".{path.name}.partial-{os.getpid()}")


def shard_files(output: Path, shard: Shard) -> list[Path]:
    """Every file of ``shard`` under ``output``, complete or partial (what a re-run of the shard removes)."""
    found = []
    for folder in (Path(output) / DATA_FOLDER, Path(output) / MANIFEST_FOLDER):
        if folder.is_dir():
            found += [p for p in folder.iterdir() if shard.name in p.name]
    return sorted(found)


def clear_shard(output: Path, shard: Shard) -> list[Path]:
    """Remove ``shard``'s files (a killed or older run of it); returns what was removed."""
    removed = shard_files(output, shard)
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def write_json_atomic(path: Path, value: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = temporary_path(path)
    partial.write_text(json.dumps(value, indent=1, default=str))
    os.replace(partial, path)


def read_manifests(output: str | os.PathLike) -> list[dict]:
    """The manifests of the complete shards in ``output``, by shard index."""
    folder = Path(output) / MANIFEST_FOLDER
    if not folder.is_dir():
        return []
    manifests = [json.loads(p.read_text()) for p in sorted(folder.glob("shard-*-of-*.json"))]
    return sorted(manifests, key=lambda m: m["shard"]["index"])


def is_sharded(output: str | os.PathLike) -> bool:
    return (Path(output) / MANIFEST_FOLDER).is_dir()


def check_compatible(output: Path, shard: Shard, options: dict, test_sources: list[str] | None) -> None:
    """Refuse to add ``shard`` to a folder whose other shards were cut into another number of shards or made with
    other options (their rows could not be one dataset)."""
    for manifest in read_manifests(output):
        other = manifest["shard"]
        if other["count"] != shard.count:
            raise TalkheadInputError(
                f"{output} holds shards of {other['count']} (shard {other['index']}/{other['count']}); this run cuts "
                f"{shard.count}: use --shard I/{other['count']}, or another --output"
            )
        if other["index"] == shard.index:
            continue
        if manifest["options"] != options or manifest.get("test_sources") != test_sources:
            differing = sorted(k for k in set(options) | set(manifest["options"])
                               if options.get(k) != manifest["options"].get(k))
            if manifest.get("test_sources") != test_sources:
                differing.append("test_sources")
            raise TalkheadInputError(
                f"shard {other['index']}/{other['count']} in {output} was made with other options "
                f"({', '.join(differing)}); run every shard with the same options"
            )


def missing_shards(manifests: list[dict]) -> list[int]:
    if not manifests:
        return []
    count = manifests[0]["shard"]["count"]
    return sorted(set(range(count)) - {m["shard"]["index"] for m in manifests})


def merged_manifest(output: str | os.PathLike) -> dict:
    """The shards' manifests added up: clips, rows and frames per split, skipped files with their reasons, the
    filters' counts, and which shards are missing."""
    manifests = read_manifests(output)
    merged = {"shards": len(manifests), "missing_shards": missing_shards(manifests), "splits": {}, "frames": 0,
              "skipped": [], "filters": {}, "wall_seconds": 0.0}
    for manifest in manifests:
        for split, count in manifest["splits"].items():
            merged["splits"][split] = merged["splits"].get(split, 0) + count
        merged["frames"] += manifest["frames"]
        merged["skipped"] += manifest["skipped"]
        merged["wall_seconds"] += manifest["wall_seconds"]
        for name, counts in manifest["filters"].items():
            into = merged["filters"].setdefault(name, {})
            for key, value in counts.items():
                into[key] = into.get(key, 0) + value
    if manifests:
        merged["options"], merged["count"] = manifests[0]["options"], manifests[0]["shard"]["count"]
    return merged


def load_sharded(output: str | os.PathLike, streaming: bool = False, allow_missing: bool = False):
    """Every complete shard of ``output`` as one ``datasets.DatasetDict`` (memory-mapped Arrow; ``streaming``: an
    ``IterableDatasetDict`` reading the Parquet files as it goes). Missing shards are an error unless
    ``allow_missing``."""
    import datasets

    manifests = read_manifests(output)
    if not manifests:
        raise TalkheadInputError(f"{output} holds no complete shard (no {MANIFEST_FOLDER}/shard-*.json)")
    missing = missing_shards(manifests)
    if missing and not allow_missing:
        count = manifests[0]["shard"]["count"]
        raise TalkheadInputError(
            f"{output} is missing shard(s) {', '.join(f'{i}/{count}' for i in missing)}: run `talkhead preprocess "
            f"... --output {output} --shard I/{count}` for each"
        )
    files: dict[str, list[str]] = {}
    for manifest in manifests:
        for split in manifest["splits"]:
            files.setdefault(split, []).append(str(parquet_path(Path(output), split, Shard(**manifest["shard"]))))
    return datasets.load_dataset("parquet", data_files=files, streaming=streaming)


def export_shards(dataset_dict, output: str | os.PathLike, count: int, options: dict | None = None) -> Path:
    """Write an in-memory or ``save_to_disk`` ``DatasetDict`` as ``count`` shards in ``output`` (the layout above;
    a row's shard is the hash of its ``clip_id``), with manifests: an existing dataset made ready for streaming
    training, or data made up for tests."""
    from datasets.arrow_writer import ParquetWriter

    output = Path(output)
    for index in range(count):
        shard, splits, clips, frames = Shard(index, count), {}, [], 0
        for split, rows in dataset_dict.items():
            mine = [i for i, clip_id in enumerate(rows["clip_id"]) if shard.owns(clip_id)]
            if not mine:
                continue
            path = parquet_path(output, split, shard)
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = ParquetWriter(path=str(temporary_path(path)), features=rows.features, writer_batch_size=8)
            for i in mine:
                row = rows[i]
                writer.write(row)
                clips.append({"clip_id": row["clip_id"], "source": row["source"], "frames": len(row["face_found"]),
                              "rows": 1})
                frames += len(row["face_found"])
            writer.finalize()
            writer.close()
            os.replace(temporary_path(path), path)
            splits[split] = len(mine)
        write_json_atomic(manifest_path(output, shard), {
            "version": MANIFEST_VERSION, "shard": {"index": index, "count": count}, "splits": splits,
            "rows": sum(splits.values()), "frames": frames, "clips": clips, "skipped": [], "filters": {},
            "wall_seconds": 0.0, "options": options or {}, "test_sources": None})
    return output
