"""The layout of a sharded dataset: which clips a shard owns, its Parquet files, its manifest, when the
folder shows them, and loading every shard back as one dataset.

``talkhead preprocess RAW -o OUT --shard I/N`` processes the clips whose key (the path below the input folder,
:attr:`~talkhead.data.discovery.ClipSpec.key`; not the folder's own name, so a link to it or another mount point
cuts the same slices) hashes to ``I`` modulo ``N``: a stable hash of the path, so the slice does not depend on the
order a file system lists files in, nor on which machine lists them. A finished folder holds

    OUT/data/train-0000I-of-0000N.parquet      each shard's training rows (a split with no rows has no file)
    OUT/data/test-0000I-of-0000N.parquet       its test rows
    OUT/manifests/shard-0000I-of-0000N.json    its clips, skipped files, filters, options and input

The file names are the ``{split}-{index}-of-{count}`` pattern ``datasets`` infers splits from, so plain
``datasets.load_dataset("parquet", data_dir=OUT)`` reads the folder; the Parquet schema carries the
``datasets`` features, so uint8 crops stay uint8.

Until every shard is complete, all of that lives in the hidden ``OUT/.sharding/`` instead (same layout, with the
claims and locks of :mod:`talkhead.data.shard_claims`), and the shard that completes the set publishes it: one
rename of ``.sharding/data`` to ``data`` (readers see every shard's files or none), then the manifests, then
``.sharding`` is removed. ``load_dataset("parquet", data_dir=...)`` resolves a folder by globbing ``**`` and
skips hidden folders, so on an incomplete folder it finds no data file and raises ``EmptyDatasetError`` instead of
returning some of the shards (a dataset card's ``configs:`` would not help: ``data_dir`` with the ``parquet``
builder never reads the card). A shard started again in a finished folder first moves everything back into
``.sharding``. The project's loaders (:func:`load_sharded`) read both places and name the missing shards.

Every file is written under a hidden temporary name and renamed when complete; a shard that starts again first
removes everything with its own name (and only that), so N machines sharing one folder never touch each other's
files and a shard killed half-way is rewritten whole.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import TalkheadInputError

DATA_FOLDER = "data"
MANIFEST_FOLDER = "manifests"
STAGING_FOLDER = ".sharding"
MANIFEST_VERSION = 2  # 1: keys held the input folder's name, so its shards cut other slices
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


def staging_folder(output: str | os.PathLike) -> Path:
    """Where the shards of ``output`` live until every one is complete (hidden, so ``datasets`` skips it)."""
    return Path(output) / STAGING_FOLDER


def parquet_path(folder: Path, split: str, shard: Shard) -> Path:
    """``shard``'s file of ``split`` in ``folder``: the dataset folder, or its :func:`staging_folder`."""
    return Path(folder) / DATA_FOLDER / f"{split}-{shard.name}.parquet"


def manifest_path(folder: Path, shard: Shard) -> Path:
    """``shard``'s manifest in ``folder``: the dataset folder, or its :func:`staging_folder`."""
    return Path(folder) / MANIFEST_FOLDER / f"shard-{shard.name}.json"


def data_file(output: str | os.PathLike, split: str, shard: Shard) -> Path:
    """``shard``'s file of ``split`` wherever it is now: published in ``output``, or staged."""
    published = parquet_path(Path(output), split, shard)
    return published if published.exists() else parquet_path(staging_folder(output), split, shard)


def temporary_path(path: Path) -> Path:
    """The hidden name a file is written under until it is complete (the writer's pid keeps two runs apart)."""
    return path.with_name(f".{path.name}.partial-{os.getpid()}")


def shard_files(output: Path, shard: Shard) -> list[Path]:
    """Every data file and manifest of ``shard`` under ``output``, published or staged, complete or partial (what a
    re-run of the shard removes)."""
    found = []
    for base in (Path(output), staging_folder(output)):
        for folder in (base / DATA_FOLDER, base / MANIFEST_FOLDER):
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
    """The manifests of the complete shards in ``output`` (published or staged), by shard index."""
    bases = (Path(output), staging_folder(output))
    names = {
        p.name
        for base in bases
        if (base / MANIFEST_FOLDER).is_dir()
        for p in (base / MANIFEST_FOLDER).glob("shard-*-of-*.json")
    }
    manifests = []
    for name in names:
        for base in bases:  # where it is now: a shard completing the folder may move it while this reads
            try:
                manifests.append(json.loads((base / MANIFEST_FOLDER / name).read_text()))
                break
            except FileNotFoundError:
                continue
    return sorted(manifests, key=lambda m: m["shard"]["index"])


def is_sharded(output: str | os.PathLike) -> bool:
    return (Path(output) / MANIFEST_FOLDER).is_dir() or staging_folder(output).is_dir()


def missing_shards(manifests: list[dict]) -> list[int]:
    if not manifests:
        return []
    count = manifests[0]["shard"]["count"]
    return sorted(set(range(count)) - {m["shard"]["index"] for m in manifests})


class FileLock:
    """An exclusive ``flock`` on ``path``, which the kernel drops when its process ends, however it ends.

    The file may be removed while held (publishing removes :func:`staging_folder`): a lock taken on a removed file is
    let go and taken again on the file now at ``path``.
    """

    def __init__(self, path: str | os.PathLike):
        self.path, self.fd = Path(path), None

    def acquire(self, wait: bool = True) -> bool:
        """Take the lock (``wait``: until it is free); ``False`` when another holds it and not ``wait``."""
        import fcntl

        while self.fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except FileNotFoundError:  # its folder removed meanwhile
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                return False
            except OSError as err:
                os.close(fd)
                raise TalkheadInputError(
                    f"cannot lock {self.path} ({err.strerror}): the shards of one folder take file locks (flock) to "
                    "keep runs apart; give an --output on a file system that supports them (local disk, NFS)"
                ) from None
            if _same_file(fd, self.path):
                self.fd = fd
            else:
                os.close(fd)
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def folder_lock(output: str | os.PathLike) -> FileLock:
    """The lock held while a run looks at or changes which shards ``output`` holds (milliseconds at a time)."""
    return FileLock(staging_folder(output) / "lock")


def move_files(source: Path, target: Path) -> None:
    """Every file of the folder ``source`` into ``target``, ``source`` removed: one rename when ``target`` is absent
    or empty, so that readers see all of the files or none."""
    if not source.is_dir():
        return
    try:
        os.replace(source, target)
        return
    except OSError as err:
        if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
    for path in source.iterdir():
        os.replace(path, target / path.name)
    source.rmdir()


def publish_if_complete(output: Path) -> bool:
    """With :func:`folder_lock` held: when every shard's manifest is there, move the staged data files and manifests
    into ``output`` and remove the staging folder (the module docstring says why); whether it did."""
    manifests = read_manifests(output)
    if not manifests or missing_shards(manifests):
        return False
    staged = staging_folder(output)
    for partial in (staged / DATA_FOLDER).glob(".*"):  # left by killed runs: every shard is complete now
        partial.unlink(missing_ok=True)
    move_files(staged / DATA_FOLDER, Path(output) / DATA_FOLDER)
    move_files(staged / MANIFEST_FOLDER, Path(output) / MANIFEST_FOLDER)
    shutil.rmtree(staged, ignore_errors=True)
    return True


def unpublish(output: Path) -> None:
    """With :func:`folder_lock` held: move a finished folder's data files and manifests back into staging, before a
    shard of it is written again (the folder then shows no data until every shard is complete again)."""
    staged = staging_folder(output)
    staged.mkdir(parents=True, exist_ok=True)
    move_files(Path(output) / DATA_FOLDER, staged / DATA_FOLDER)
    move_files(Path(output) / MANIFEST_FOLDER, staged / MANIFEST_FOLDER)


def merged_manifest(output: str | os.PathLike) -> dict:
    """The shards' manifests added up: clips, rows and frames per split, skipped files with their reasons, the
    filters' counts, and which shards are missing."""
    manifests = read_manifests(output)
    merged = {
        "shards": len(manifests),
        "missing_shards": missing_shards(manifests),
        "splits": {},
        "frames": 0,
        "skipped": [],
        "filters": {},
        "wall_seconds": 0.0,
    }
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
        raise TalkheadInputError(
            f"{output} holds no complete shard (no {MANIFEST_FOLDER}/shard-*.json, published or in {STAGING_FOLDER}/)"
        )
    missing = missing_shards(manifests)
    if missing and not allow_missing:
        count = manifests[0]["shard"]["count"]
        raise TalkheadInputError(
            f"{output} is missing shard(s) {', '.join(f'{i}/{count}' for i in missing)}: run `talkhead preprocess "
            f"... --output {output} --shard I/{count}` for each"
        )
    return datasets.load_dataset("parquet", data_files=split_files(output, manifests), streaming=streaming)


def split_files(output: str | os.PathLike, manifests: list[dict]) -> dict[str, list[str]]:
    """Split -> the data files of ``manifests``' shards under ``output``, published or staged."""
    files: dict[str, list[str]] = {}
    for manifest in manifests:
        for split in manifest["splits"]:
            files.setdefault(split, []).append(str(data_file(output, split, Shard(**manifest["shard"]))))
    return files


def export_shards(dataset_dict, output: str | os.PathLike, count: int, options: dict | None = None) -> Path:
    """Write an in-memory or ``save_to_disk`` ``DatasetDict`` as ``count`` shards in ``output`` (the layout above;
    a row's shard is the hash of its ``clip_id``), with manifests: an existing dataset made ready for streaming
    training, or data made up for tests."""
    from datasets.arrow_writer import ParquetWriter

    output, staged = Path(output), staging_folder(output)
    for index in range(count):
        shard, splits, clips, frames = Shard(index, count), {}, [], 0
        for split, rows in dataset_dict.items():
            mine = [i for i, clip_id in enumerate(rows["clip_id"]) if shard.owns(clip_id)]
            if not mine:
                continue
            path = parquet_path(staged, split, shard)
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = ParquetWriter(path=str(temporary_path(path)), features=rows.features, writer_batch_size=8)
            for i in mine:
                row = rows[i]
                writer.write(row)
                clips.append(
                    {"clip_id": row["clip_id"], "source": row["source"], "frames": len(row["face_found"]), "rows": 1}
                )
                frames += len(row["face_found"])
            writer.finalize()
            writer.close()
            os.replace(temporary_path(path), path)
            splits[split] = len(mine)
        write_json_atomic(
            manifest_path(staged, shard),
            {
                "version": MANIFEST_VERSION,
                "shard": {"index": index, "count": count},
                "splits": splits,
                "rows": sum(splits.values()),
                "frames": frames,
                "clips": clips,
                "skipped": [],
                "filters": {},
                "wall_seconds": 0.0,
                "options": options or {},
                "test_sources": None,
                "input": None,
            },
        )
    with folder_lock(output):
        publish_if_complete(output)
    return output
