"""One shard of a preprocessed dataset: ``talkhead preprocess RAW -o OUT --shard I/N``.

N machines (or N jobs of an array) each run one shard into one shared folder; the layout, the clip-to-shard rule
and the loading back are :mod:`talkhead.data.shards`. A shard processes its clips exactly as an unsharded run does
(:func:`talkhead.data.clip_rows.process_clip`, the same options), so the N shards together hold the same rows with
the same arrays as ``talkhead preprocess RAW -o OUT`` would. A run first claims its shard
(:class:`~talkhead.data.shard_claims.ShardClaim`: refused while another run writes it, or when a complete or running
shard of the folder was cut into another number of shards, from other input files or with other options). Rows
stream into Parquet as clips finish (memory does not grow with the shard); the manifest, written last, lists the
shard's clips, frames, skipped files with their reasons, the filters' counts, the plan the shards agree on and the
versions of what made it. The shard that completes the folder publishes it (:mod:`talkhead.data.shards`) and
writes its dataset card (``README.md``, as an unsharded run does).
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm.auto import tqdm

from ..defaults import VIDEO_FPS
from ..errors import TalkheadInputError
from ..hub.dataset_export import sharded_dataset_card, source_licences
from ..io.outputs import check_output_folder
from .build import estimate_frames, filter_totals, run_clips, split_plan, start_pool
from .clip_rows import ClipReport, PreprocessOptions, clip_features
from .discovery import discover
from .shard_claims import ShardClaim, shard_plan
from .shards import (
    DATA_FOLDER,
    MANIFEST_FOLDER,
    Shard,
    parquet_path,
    read_manifests,
    split_files,
    staging_folder,
    temporary_path,
)

CARD_FILE = "README.md"  # the dataset card, as an unsharded run and the Hub name it

WRITER_BATCH_ROWS = 8  # rows buffered before a Parquet row group is written: a clip's crops are megabytes


@dataclass
class ShardSummary:
    output: str
    shard: str
    splits: dict[str, int]
    frames: int
    reports: list[ClipReport]
    skipped_files: list[tuple[str, str]]
    wall_seconds: float
    manifest: str

    @property
    def rows(self) -> int:
        return sum(self.splits.values())


def write_card(output: Path, inputs) -> Path:
    """The dataset card of a published folder (``README.md``: what an unsharded run writes too), from the merged
    manifests' options and the licences of any ``SOURCES.md`` in ``inputs``."""
    sources = [Path(p) / "SOURCES.md" for p in inputs if (Path(p) / "SOURCES.md").is_file()]
    manifests = read_manifests(output)
    card = sharded_dataset_card(split_files(output, manifests), source_licences(sources), manifests[0]["options"])
    path = Path(output) / CARD_FILE
    partial = temporary_path(path)  # hidden until whole
    card.save(partial)
    os.replace(partial, path)
    return path


def check_shard_folder(output, inputs) -> Path:
    """``output`` as a folder shards may be added to: new, empty, or holding only shards (``data/``, ``manifests/``,
    the card)."""
    output = Path(output)
    if output.is_dir():
        others = sorted(
            p.name
            for p in output.iterdir()
            if p.name not in (DATA_FOLDER, MANIFEST_FOLDER, CARD_FILE) and not p.name.startswith(".")
        )
        if others:
            raise TalkheadInputError(
                f"--output {output} holds {', '.join(others[:3])}, not only the shards of a dataset (data/, "
                "manifests/); give a new folder, or the folder the other shards were written to"
            )
    return check_output_folder(output, inputs, "output", overwrite=True)


def versions() -> dict[str, str]:
    """What made the shard: Python and the libraries that decide its arrays."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("talkhead", "datasets", "pyarrow", "numpy", "dlib-bin", "pocketsphinx", "av"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def build_shard(
    inputs: list[str | os.PathLike],
    output: str | os.PathLike,
    shard: Shard,
    *,
    options: PreprocessOptions | None = None,
    test_sources: list[str] | None = None,
    num_proc: int = 1,
    progress: bool = True,
) -> ShardSummary:
    """Preprocess the clips of ``inputs`` that ``shard`` owns into Parquet files and a manifest under ``output``.

    Any earlier files of the same shard (a killed run) are removed first; other shards' files are never touched.

    Raises:
        TalkheadInputError: another run writes this shard, or the folder's other shards (complete or running) were
            cut into another number of shards, from other input files or with other options.
    """
    from datasets.arrow_writer import ParquetWriter

    options = options or PreprocessOptions()
    started = time.perf_counter()
    output = check_shard_folder(output, inputs)
    discovery = discover(inputs, owns=shard.owns)
    found = [path for clip in discovery.clips for path in (clip.video, clip.audio) if path is not None]
    check_output_folder(output, [*inputs, *found], "output", overwrite=True)
    splits_plan = split_plan(discovery, test_sources)
    claim = ShardClaim(output, shard_plan(shard, asdict(options), test_sources, discovery.input_keys))
    claim.acquire()
    features = clip_features(options.faces, options.face_size, options.phones, options.mouths, options.mouth_size)
    staged, reports, pool, bar, partials, splits = staging_folder(output), [], None, None, [], {}

    def on_done(report: ClipReport) -> None:
        reports.append(report)
        bar.update(report.frames)

    try:
        (staged / DATA_FOLDER).mkdir(parents=True, exist_ok=True)
        bar = tqdm(
            total=sum(estimate_frames(c) for c in discovery.clips),
            unit="frame",
            desc=f"shard {shard}",
            disable=not progress,
            dynamic_ncols=True,
        )
        pool = start_pool(options, num_proc)
        for split, specs in splits_plan.items():
            rows, path = 0, temporary_path(parquet_path(staged, split, shard))
            writer = None
            for row in run_clips(specs, options, pool, on_done):
                if writer is None:
                    partials.append(path)
                    writer = ParquetWriter(path=str(path), features=features, writer_batch_size=WRITER_BATCH_ROWS)
                writer.write(row)
                rows += 1
            if writer is not None:
                writer.finalize()
                writer.close()
                splits[split] = rows
        for split in splits:  # complete: every file gets its real name, then the manifest says the shard is done
            os.replace(temporary_path(parquet_path(staged, split, shard)), parquet_path(staged, split, shard))
        partials = []
        summary = ShardSummary(
            str(output),
            str(shard),
            splits,
            sum(r.kept_frames for r in reports),
            reports,
            [(str(s.path), s.reason) for s in discovery.skipped],
            time.perf_counter() - started,
            "",
        )
        summary.manifest = str(claim.complete(manifest(summary, claim.plan, discovery)))
        if not Path(summary.manifest).is_relative_to(staged):  # this shard completed and published the folder
            write_card(output, inputs)
        return summary
    finally:
        try:
            if bar is not None:
                bar.close()
            if pool is not None:
                pool.terminate()
                pool.join()
            for path in partials:
                path.unlink(missing_ok=True)
        finally:
            claim.release()


def manifest(summary: ShardSummary, plan: dict, discovery) -> dict:
    """The shard's manifest (see the module docstring): its ``plan`` (:func:`~talkhead.data.shard_claims.shard_plan`)
    and what it made."""
    skipped = summary.skipped_files + [(r.video, r.skipped) for r in summary.reports if r.skipped]
    return {
        **plan,
        "splits": summary.splits,
        "rows": summary.rows,
        "frames": summary.frames,
        "minutes": round(summary.frames / VIDEO_FPS / 60, 3),
        "clips": [
            {
                "clip_id": r.clip_id,
                "source": r.source,
                "video": r.video,
                "rows": r.rows,
                "frames": r.kept_frames,
                **({"skipped": r.skipped} if r.skipped else {}),
            }
            for r in summary.reports
        ],
        "skipped": [{"path": p, "reason": r} for p, r in skipped],
        "filters": filter_totals(summary.reports),
        "wall_seconds": round(summary.wall_seconds, 2),
        "sources": discovery.sources,
        "versions": versions(),
    }
