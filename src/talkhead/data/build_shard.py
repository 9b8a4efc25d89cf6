"""One shard of a preprocessed dataset (issue #28): ``talkhead preprocess RAW -o OUT --shard I/N``.

N machines (or N jobs of an array) each run one shard into one shared folder; the layout, the clip-to-shard rule
and the loading back are :mod:`talkhead.data.shards`. A shard processes its clips exactly as an unsharded run does
(:func:`talkhead.data.clip_rows.process_clip`, the same options), so the N shards together hold the same rows with
the same arrays as ``talkhead preprocess RAW -o OUT`` would. Rows stream into Parquet as clips finish (memory does
not grow with the shard); the manifest, written last, lists the shard's clips, frames, skipped files with their
reasons, the filters' counts, the options and the versions of what made it.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm.auto import tqdm

from ..errors import TalkheadInputError
from ..outputs import check_output_folder
from ..processing.video import VIDEO_FPS
from .build import estimate_frames, filter_totals, run_clips, split_plan, start_pool
from .clip_rows import ClipReport, PreprocessOptions, clip_features
from .discovery import discover
from .shards import (
    DATA_FOLDER,
    MANIFEST_FOLDER,
    MANIFEST_VERSION,
    Shard,
    check_compatible,
    clear_shard,
    manifest_path,
    parquet_path,
    temporary_path,
    write_json_atomic,
)

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


def check_shard_folder(output, inputs) -> Path:
    """``output`` as a folder shards may be added to: new, empty, or holding only shards (``data/``, ``manifests/``)."""
    output = Path(output)
    if output.is_dir():
        others = sorted(p.name for p in output.iterdir()
                        if p.name not in (DATA_FOLDER, MANIFEST_FOLDER) and not p.name.startswith("."))
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
    """
    from datasets.arrow_writer import ParquetWriter

    options = options or PreprocessOptions()
    started = time.perf_counter()
    output = check_shard_folder(output, inputs)
    discovery = discover(inputs, owns=shard.owns)
    found = [path for clip in discovery.clips for path in (clip.video, clip.audio) if path is not None]
    check_output_folder(output, [*inputs, *found], "output", overwrite=True)
    plan = split_plan(discovery, test_sources)
    check_compatible(output, shard, asdict(options), test_sources)
    clear_shard(output, shard)
    (output / DATA_FOLDER).mkdir(parents=True, exist_ok=True)
    features = clip_features(options.faces, options.face_size, options.phones, options.mouths, options.mouth_size)
    reports: list[ClipReport] = []
    bar = tqdm(total=sum(estimate_frames(c) for c in discovery.clips), unit="frame", desc=f"shard {shard}",
               disable=not progress, dynamic_ncols=True)

    def on_done(report: ClipReport) -> None:
        reports.append(report)
        bar.update(report.frames)

    pool, partials, splits = start_pool(options, num_proc), [], {}
    try:
        for split, specs in plan.items():
            rows, path = 0, temporary_path(parquet_path(output, split, shard))
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
            os.replace(temporary_path(parquet_path(output, split, shard)), parquet_path(output, split, shard))
        partials = []
        summary = ShardSummary(
            str(output), str(shard), splits, sum(r.kept_frames for r in reports), reports,
            [(str(s.path), s.reason) for s in discovery.skipped], time.perf_counter() - started,
            str(manifest_path(output, shard)),
        )
        write_json_atomic(manifest_path(output, shard), manifest(summary, shard, options, test_sources, discovery))
        return summary
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
            pool.join()
        for path in partials:
            path.unlink(missing_ok=True)


def manifest(summary: ShardSummary, shard: Shard, options: PreprocessOptions, test_sources, discovery) -> dict:
    """The shard's manifest (see the module docstring)."""
    skipped = summary.skipped_files + [(r.video, r.skipped) for r in summary.reports if r.skipped]
    return {
        "version": MANIFEST_VERSION,
        "shard": {"index": shard.index, "count": shard.count},
        "splits": summary.splits,
        "rows": summary.rows,
        "frames": summary.frames,
        "minutes": round(summary.frames / VIDEO_FPS / 60, 3),
        "clips": [{"clip_id": r.clip_id, "source": r.source, "video": r.video, "rows": r.rows,
                   "frames": r.kept_frames, **({"skipped": r.skipped} if r.skipped else {})}
                  for r in summary.reports],
        "skipped": [{"path": p, "reason": r} for p, r in skipped],
        "filters": filter_totals(summary.reports),
        "wall_seconds": round(summary.wall_seconds, 2),
        "options": asdict(options),
        "test_sources": test_sources,
        "sources": discovery.sources,
        "versions": versions(),
    }
