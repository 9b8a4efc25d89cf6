"""Talking videos -> a ``datasets.DatasetDict`` (the data contract of architecture.md), in one run.

Every clip is processed by :func:`talkhead.data.clip_rows.process_clip` (tracking, filters, features, crops), in a
pool of worker processes. Bad inputs are skipped and reported with their reason, whether discovery or processing
rejected them; the output folder is checked by :func:`talkhead.io.outputs.check_output_folder` (never an input, never
holding one), written beside its final place and moved there only when everything succeeded. A dataset too big
for one machine is cut into shards instead (:mod:`talkhead.data.build_shard`).
"""

from __future__ import annotations

import fnmatch
import json
import multiprocessing
import os
import shutil
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm.auto import tqdm

from ..defaults import VIDEO_FPS
from ..errors import TalkheadInputError
from ..hub.dataset_export import write_hub_files
from ..io.outputs import STOP_SIGNALS, atomic_output, check_output_folder, sweep_orphans, temporary_path
from ..io.video import VideoReader
from ..processing.faces import FaceTracker
from .clip_rows import ClipReport, PreprocessOptions, clip_features, load_offset_expert, process_clip
from .discovery import ClipSpec, Discovery, discover
from .filters import FilterCounts

__all__ = [
    "PreprocessOptions",
    "ClipReport",
    "PreprocessSummary",
    "build_dataset",
    "clip_features",
    "process_clip",
    "select_test_sources",
    "split_plan",
]

# --- running many clips ---------------------------------------------------------------------------

_WORKER_TRACKER: FaceTracker | None = None
_WORKER_OPTIONS: PreprocessOptions | None = None
_WORKER_EXPERT = None


def _init_worker(options: PreprocessOptions) -> None:
    global _WORKER_TRACKER, _WORKER_OPTIONS, _WORKER_EXPERT
    for number in STOP_SIGNALS:  # the parent cleans up; a worker stopped by pool.terminate() just ends
        signal.signal(number, signal.SIG_DFL)
    _WORKER_OPTIONS = options
    _WORKER_TRACKER = FaceTracker(redetect_every=options.redetect_every)
    _WORKER_EXPERT = load_offset_expert(options)


def _work(spec: ClipSpec) -> tuple[list[dict], ClipReport]:
    return process_clip(spec, _WORKER_OPTIONS, _WORKER_TRACKER, _WORKER_EXPERT)


def start_pool(options: PreprocessOptions, num_proc: int):
    """A pool of ``num_proc`` workers (each with its tracker and expert), or ``None`` to process in the caller."""
    return multiprocessing.get_context("fork").Pool(num_proc, _init_worker, (options,)) if num_proc > 1 else None


def run_clips(
    specs: list[ClipSpec], options: PreprocessOptions, pool, on_done: Callable[[ClipReport], None]
) -> Iterator[dict]:
    """The rows of ``specs`` in order, processed in ``pool`` (or here); ``on_done(report)`` after each clip."""
    if pool is not None:
        results = pool.imap(_work, specs)
    else:
        tracker, expert = FaceTracker(redetect_every=options.redetect_every), load_offset_expert(options)
        results = (process_clip(spec, options, tracker, expert) for spec in specs)
    for rows, report in results:
        on_done(report)
        yield from rows


@dataclass
class PreprocessSummary:
    """Totals over a preprocessing run; ``reports`` holds one entry per input clip."""

    output: str
    splits: dict[str, int]
    reports: list[ClipReport]
    skipped_files: list[tuple[str, str]]
    unused_audio: list[str]
    stills: list[str]
    wall_seconds: float
    options: dict

    @property
    def rows(self) -> int:
        return sum(self.splits.values())

    @property
    def frames(self) -> int:
        return sum(r.kept_frames for r in self.reports)

    @property
    def minutes(self) -> float:
        return self.frames / VIDEO_FPS / 60

    @property
    def filters(self) -> dict:
        """What the filters did, added over the clips (:class:`~talkhead.data.filters.FilterCounts`)."""
        return filter_totals(self.reports)

    @property
    def face_found_rate(self) -> float:
        examined = sum(r.frames for r in self.reports)
        return sum(r.found for r in self.reports) / examined if examined else 0.0

    def skipped(self) -> list[tuple[str, str]]:
        """(path, reason) of every input that produced no rows."""
        return self.skipped_files + [(r.video, r.skipped) for r in self.reports if r.skipped]

    def to_dict(self) -> dict:
        return {
            "output": self.output,
            "splits": self.splits,
            "rows": self.rows,
            "frames": self.frames,
            "minutes": round(self.minutes, 3),
            "face_found_rate": round(self.face_found_rate, 5),
            "wall_seconds": round(self.wall_seconds, 2),
            "options": self.options,
            "filters": self.filters,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped()],
            "unused_audio": self.unused_audio,
            "stills": self.stills,
            "clips": [asdict(r) for r in self.reports],
        }


def filter_totals(reports: list[ClipReport]) -> dict:
    totals = FilterCounts()
    for report in reports:
        totals.merge(report.filters)
    return totals.to_dict()


def split_plan(discovery: Discovery, test_sources: list[str] | None) -> dict[str, list[ClipSpec]]:
    """The clips of each split (``train``; ``test`` with the sources ``test_sources`` names), empty splits left out."""
    test = select_test_sources(discovery, test_sources) if test_sources else set()
    plan = {
        "train": [c for c in discovery.clips if c.source not in test],
        "test": [c for c in discovery.clips if c.source in test],
    }
    return {name: specs for name, specs in plan.items() if specs}


def select_test_sources(discovery: Discovery, patterns: list[str]) -> set[str]:
    """Sources named by ``patterns`` (exact names or shell globs); an unmatched pattern is an error."""
    sources = discovery.sources or sorted({clip.source for clip in discovery.clips})
    chosen: set[str] = set()
    for pattern in patterns:
        matched = {s for s in sources if fnmatch.fnmatchcase(s, pattern)}
        if not matched:
            raise TalkheadInputError(f"test_sources={pattern} matches no source; the sources are: {', '.join(sources)}")
        chosen |= matched
    return chosen


def build_dataset(
    inputs: list[str | os.PathLike],
    output: str | os.PathLike,
    *,
    options: PreprocessOptions | None = None,
    test_sources: list[str] | None = None,
    num_proc: int = 1,
    overwrite: bool = False,
    progress: bool = True,
    parquet: bool = True,
) -> PreprocessSummary:
    """Preprocess every clip under ``inputs`` into a DatasetDict saved at ``output``.

    Splits: ``train``, and ``test`` holding the clips whose source matches ``test_sources``.
    Nothing is left at ``output`` unless the whole run succeeds. ``output`` also gets a dataset card
    (README.md, with the licences of any ``SOURCES.md`` in ``inputs``) and, with ``parquet`` (the default), Parquet
    shards under ``output/data`` as ``--shard`` runs write them, so ``datasets.load_dataset(output)`` reads either.
    """
    import datasets

    options = options or PreprocessOptions()
    started = time.perf_counter()
    output = check_output_folder(output, inputs, "output", overwrite)
    discovery = discover(inputs)
    found = [path for clip in discovery.clips for path in (clip.video, clip.audio) if path is not None]
    check_output_folder(output, [*inputs, *found], "output", overwrite)  # inputs found inside the output folder
    plan = split_plan(discovery, test_sources)
    features = clip_features(options.faces, options.face_size, options.phones, options.mouths, options.mouth_size)
    output.parent.mkdir(parents=True, exist_ok=True)
    # datasets' Arrow cache, named as a temporary of "<output>.cache": a run killed with -9 leaves it behind, and
    # the next run removes it
    cache_name = output.parent / f"{output.name}.cache"
    sweep_orphans(cache_name)
    cache = temporary_path(cache_name)
    reports: list[ClipReport] = []
    estimate = sum(estimate_frames(c) for c in discovery.clips)
    bar = tqdm(total=estimate, unit="frame", desc="preprocess", disable=not progress, dynamic_ncols=True)

    def on_done(report: ClipReport) -> None:
        reports.append(report)
        bar.set_postfix_str(report.clip_id[-30:], refresh=False)
        bar.update(report.frames)

    pool = start_pool(options, num_proc)
    datasets_bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # ours is the one that matters
    try:
        splits = {}
        for name, specs in plan.items():
            split = _generate_split(name, specs, options, pool, on_done, features, cache)
            if split is not None:
                splits[name] = split
        bar.close()
        summary = PreprocessSummary(
            output=str(output),
            splits={},
            reports=reports,
            skipped_files=[(str(s.path), s.reason) for s in discovery.skipped],
            unused_audio=[str(p) for p in discovery.unused_audio],
            stills=[str(p) for p in discovery.stills],
            wall_seconds=0.0,
            options=asdict(options),
        )
        if not splits:
            raise TalkheadInputError(
                "no clip could be used; every input was skipped:\n"
                + "\n".join(f"  {path}: {reason}" for path, reason in summary.skipped())
            )
        dataset = datasets.DatasetDict(splits)
        with atomic_output(output) as partial:
            dataset.save_to_disk(str(partial))
            summary.splits = {k: len(v) for k, v in dataset.items()}
            summary.wall_seconds = time.perf_counter() - started
            (partial / "talkhead_preprocess.json").write_text(json.dumps(summary.to_dict(), indent=2, default=str))
            write_hub_files(
                partial,
                dataset,
                parquet=parquet,
                options=asdict(options),
                sources_files=[p / "SOURCES.md" for p in map(Path, inputs) if (p / "SOURCES.md").is_file()],
            )
        return summary
    finally:
        bar.close()
        if datasets_bars:
            datasets.enable_progress_bars()
        if pool is not None:
            pool.terminate()
            pool.join()
        shutil.rmtree(cache, ignore_errors=True)


def _generate_split(name, specs, options, pool, on_done, features, cache: Path):
    """One split written by ``datasets`` from the processed clips; ``None`` when every clip was skipped."""
    import datasets

    produced = 0

    def generate():
        nonlocal produced
        for row in run_clips(specs, options, pool, on_done):
            produced += 1
            yield row

    try:
        return datasets.Dataset.from_generator(
            generate,
            features=features,
            cache_dir=str(cache),
            fingerprint=uuid.uuid4().hex,
            writer_batch_size=8,
            split=datasets.NamedSplit(name),
        )
    except datasets.exceptions.DatasetGenerationError as err:
        raise (err.__cause__ or err) from None  # show the user the real error, not the wrapper
    except ValueError:
        if produced == 0:  # datasets cannot build an empty split
            return None
        raise


def estimate_frames(spec: ClipSpec) -> int:
    try:
        return VideoReader(spec.video).estimated_num_frames
    except (TalkheadInputError, OSError):
        return 0
