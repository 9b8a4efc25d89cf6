"""Talking videos -> a ``datasets.DatasetDict`` (the data contract of architecture.md).

For each clip: decode at 25 fps and track 68 landmarks (:func:`talkhead.processing.tracked_clip.track_clip`, the
tracking every metric and benchmark shares), interpolate gaps of up to 2 frames and split the clip at longer
ones, frame each part as :func:`talkhead.processing.face_crops.frame_clip` does (the convention the metrics and
pipelines use too), load and align the audio, compute the MS-Sync and Wav2Lip features, and
(with ``faces=True``) cut 96x96 face crops, and (``mouths=True``) 64x64 mouth crops
(:mod:`talkhead.processing.mouth_crops`), in a second decoding pass. Bad inputs are skipped and
reported with their reason, whether discovery or processing rejected them; the output folder is
checked by :func:`talkhead.outputs.check_output_folder` (never an input, never holding one), written
beside its final place and moved there only when everything succeeded.
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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import defaults
from ..errors import TalkheadInputError
from ..outputs import STOP_SIGNALS, atomic_output, check_output_folder
from ..processing import audio as audio_lib
from ..processing.face_crops import CLIP_ENLARGE, ClipFraming, crop_face, frame_clip, smooth_boxes
from ..processing.faces import FaceTracker, fill_short_gaps, valid_segments
from ..processing.mouth_crops import MOUTH_SIZE, mouth_crop_boxes
from ..processing.phones import LEGACY_PHONE_DECODER, NUM_PHONES, phone_features
from ..processing.tracked_clip import track_clip
from ..processing.video import VIDEO_FPS, VideoReader
from .discovery import ClipSpec, Discovery, discover
from .hub_export import write_hub_files

NOTE_TRIM_FRAMES = 5  # audio/video length differences up to 0.2 s are container rounding, not worth a note


@dataclass(frozen=True)
class PreprocessOptions:
    """How clips are processed.

    Args:
        faces: also store 96x96 face crops (a second decoding pass).
        max_side: frames are decoded at most this large for tracking and crops; boxes and landmarks
            are reported in source pixels.
        min_frames: segments shorter than this (after splitting at face gaps) are dropped.
        max_gap: missing-face gaps up to this many frames are interpolated.
        redetect_every: the tracker confirms the face with a detection every this many frames.
        clip_enlarge: the fixed per-clip crop is the union of face boxes enlarged by this much per side.
        phones: also store the phones pocketsphinx hears, per frame (:mod:`talkhead.processing.phones`; the
            mouth-motion model's input, otherwise decoded at every training start).
        mouths: also store mouth crops (``mouths``, ``mouth_size`` square) and their boxes (``mouth_boxes``, frame
            pixels, smoothed over 3 frames): what the mouth-interior generator trains on.
    """

    faces: bool = False
    max_side: int = defaults.TRACK_SIDE
    min_frames: int = 25
    max_gap: int = 2
    redetect_every: int = 5
    clip_enlarge: float = CLIP_ENLARGE
    face_size: int = 96
    phones: bool = False
    mouths: bool = False
    mouth_size: int = MOUTH_SIZE


@dataclass
class ClipReport:
    """What happened to one input clip."""

    clip_id: str
    source: str
    video: str
    audio: str | None
    frames: int = 0  # video frames examined
    found: int = 0  # frames with a detected face
    kept_frames: int = 0  # frames stored in rows
    rows: int = 0
    trimmed_frames: int = 0  # video frames past the end of the audio
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0  # processing wall time


def clip_features(with_faces: bool, face_size: int = 96, with_phones: bool = False, with_mouths: bool = False,
                  mouth_size: int = MOUTH_SIZE):
    """The ``datasets.Features`` of the data contract."""
    from datasets import Array2D, Array3D, Array4D, Features, List, Value

    features = {
        "clip_id": Value("string"),
        "source": Value("string"),
        "fps": Value("int32"),
        "landmarks": Array3D((None, 68, 2), "float32"),
        "clip_box": List(Value("float32"), length=4),
        "face_found": List(Value("bool")),
        "audio": List(Value("float32")),
        "logfbank": Array2D((None, audio_lib.LOGFBANK_BANDS), "float32"),
        "mel": Array2D((None, 80), "float32"),
        "face_boxes": Array2D((None, 4), "float32"),
    }
    if with_faces:
        features["faces"] = Array4D((None, face_size, face_size, 3), "uint8")
    if with_phones:
        features["phones"] = Array2D((None, NUM_PHONES), "float32")
    if with_mouths:
        features["mouths"] = Array4D((None, mouth_size, mouth_size, 3), "uint8")
        features["mouth_boxes"] = Array2D((None, 4), "float32")
    return Features(features)


def process_clip(
    spec: ClipSpec, options: PreprocessOptions, tracker: FaceTracker | None = None
) -> tuple[list[dict], ClipReport]:
    """Rows of the data contract for one clip (one per face segment), and its report.

    Bad input (undecodable file, no audio, no face, silent audio) ends in ``report.skipped``
    with the reason; it never raises.
    """
    start = time.perf_counter()
    report = ClipReport(spec.clip_id, spec.source, str(spec.video), None if spec.audio is None else str(spec.audio))
    try:
        rows = _process(spec, options, tracker or FaceTracker(redetect_every=options.redetect_every), report)
    except (TalkheadInputError, OSError) as err:
        rows, report.skipped = [], str(err)
    report.seconds = time.perf_counter() - start
    return rows, report


def _process(spec: ClipSpec, options: PreprocessOptions, tracker: FaceTracker, report: ClipReport) -> list[dict]:
    reader = VideoReader(spec.video, max_side=options.max_side)  # an unreadable video fails before anything is decoded
    wave = audio_lib.load_audio(spec.audio or spec.video)
    audio_lib.check_min_duration(wave, "the audio")
    clip = track_clip(spec.video, reader=reader, tracker=tracker)  # the tracking every metric and benchmark shares
    report.frames, report.found = clip.num_frames, int(clip.found.sum())
    if report.found == 0:
        raise TalkheadInputError("no face found in any frame")
    num_frames = min(report.frames, int(round(len(wave) / audio_lib.SAMPLES_PER_FRAME)))
    report.trimmed_frames = report.frames - num_frames
    if report.trimmed_frames > NOTE_TRIM_FRAMES:
        report.notes.append(f"audio ends {report.trimmed_frames / VIDEO_FPS:.2f} s before the video: video trimmed")
    wave = audio_lib.fit_length(wave, num_frames * audio_lib.SAMPLES_PER_FRAME)
    if audio_lib.silence_mask(wave, num_frames).all():
        raise TalkheadInputError("the audio is silent")
    clip = clip.cut(num_frames)
    landmarks, valid = fill_short_gaps(clip.track_landmarks / clip.scale, clip.found, options.max_gap)
    segments = valid_segments(valid, options.min_frames)
    dropped = len(valid_segments(valid)) - len(segments)
    if dropped:
        report.notes.append(f"dropped {dropped} face segment(s) shorter than {options.min_frames} frames")
    if not segments:
        raise TalkheadInputError(f"no stretch of at least {options.min_frames} frames with a face")
    framings = [frame_clip(landmarks[a:b], options.clip_enlarge) for a, b in segments]
    faces, mouths, mouth_boxes = _crops(reader, num_frames, segments, framings, landmarks, options)
    rows = []
    for index, ((a, b), framing) in enumerate(zip(segments, framings, strict=True)):
        clip_id = spec.clip_id if len(segments) == 1 else f"{spec.clip_id}#{index}"
        rows.append(
            _row(
                clip_id,
                spec.source,
                framing,
                clip.found[a:b],
                wave,
                a,
                b,
                None if faces is None else faces[a:b],
                options,
                None if mouths is None else (mouths[a:b], mouth_boxes[a:b]),
            )
        )
    report.rows = len(rows)
    report.kept_frames = sum(b - a for a, b in segments)
    return rows


def _crops(
    reader: VideoReader,
    num_frames: int,
    segments: list[tuple[int, int]],
    framings: list[ClipFraming],
    landmarks: np.ndarray,
    options: PreprocessOptions,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Second decoding pass: face crops at the smoothed face boxes and mouth crops at the smoothed mouth boxes
    (zeros where there is no face), each only when asked; (faces, mouths, mouth boxes)."""
    if not options.faces and not options.mouths:
        return None, None, None
    face_boxes = np.full((num_frames, 4), np.nan, np.float32)
    mouth_boxes = np.full((num_frames, 4), np.nan, np.float32)
    for (a, b), framing in zip(segments, framings, strict=True):
        face_boxes[a:b] = framing.face_boxes
        mouth_boxes[a:b] = smooth_boxes(mouth_crop_boxes(landmarks[a:b]), window=3)
    faces = np.zeros((num_frames, options.face_size, options.face_size, 3), np.uint8) if options.faces else None
    mouths = np.zeros((num_frames, options.mouth_size, options.mouth_size, 3), np.uint8) if options.mouths else None
    for index, frame in enumerate(reader):
        if index >= num_frames:
            break
        if not np.all(np.isfinite(face_boxes[index])):
            continue
        if faces is not None:
            faces[index] = crop_face(frame, face_boxes[index] * reader.scale, options.face_size)
        if mouths is not None:
            mouths[index] = crop_face(frame, mouth_boxes[index] * reader.scale, options.mouth_size)
    return faces, mouths, mouth_boxes


def _row(clip_id, source, framing: ClipFraming, found, wave, a, b, faces, options, mouths=None) -> dict:
    segment_wave = wave[a * audio_lib.SAMPLES_PER_FRAME : b * audio_lib.SAMPLES_PER_FRAME]
    row = {
        "clip_id": clip_id,
        "source": source,
        "fps": VIDEO_FPS,
        "landmarks": framing.landmarks,
        "clip_box": framing.clip_box,
        "face_found": np.asarray(found, bool),
        "audio": segment_wave.astype(np.float32),
        "logfbank": audio_lib.logfbank26(segment_wave, b - a),
        "mel": audio_lib.mel80(segment_wave),
        "face_boxes": framing.face_boxes.astype(np.float32),
    }
    if faces is not None:
        row["faces"] = faces
    if options.phones:
        row["phones"] = phone_features(segment_wave, b - a, VIDEO_FPS, LEGACY_PHONE_DECODER)
    if mouths is not None:
        row["mouths"], row["mouth_boxes"] = mouths[0], mouths[1].astype(np.float32)
    return row


# --- running many clips ---------------------------------------------------------------------------

_WORKER_TRACKER: FaceTracker | None = None
_WORKER_OPTIONS: PreprocessOptions | None = None


def _init_worker(options: PreprocessOptions) -> None:
    global _WORKER_TRACKER, _WORKER_OPTIONS
    for number in STOP_SIGNALS:  # the parent cleans up; a worker stopped by pool.terminate() just ends
        signal.signal(number, signal.SIG_DFL)
    _WORKER_OPTIONS = options
    _WORKER_TRACKER = FaceTracker(redetect_every=options.redetect_every)


def _work(spec: ClipSpec) -> tuple[list[dict], ClipReport]:
    return process_clip(spec, _WORKER_OPTIONS, _WORKER_TRACKER)


def _run_clips(
    specs: list[ClipSpec], options: PreprocessOptions, pool, on_done: Callable[[ClipReport], None]
) -> Iterator[dict]:
    if pool is not None:
        results = pool.imap(_work, specs)
    else:
        tracker = FaceTracker(redetect_every=options.redetect_every)
        results = (process_clip(spec, options, tracker) for spec in specs)
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
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped()],
            "unused_audio": self.unused_audio,
            "stills": self.stills,
            "clips": [asdict(r) for r in self.reports],
        }


def select_test_sources(discovery: Discovery, patterns: list[str]) -> set[str]:
    """Sources named by ``patterns`` (exact names or shell globs); an unmatched pattern is an error."""
    sources = sorted({clip.source for clip in discovery.clips})
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
    options: PreprocessOptions = PreprocessOptions(),
    test_sources: list[str] | None = None,
    num_proc: int = 1,
    overwrite: bool = False,
    progress: bool = True,
    parquet: bool = False,
) -> PreprocessSummary:
    """Preprocess every clip under ``inputs`` into a DatasetDict saved at ``output``.

    Splits: ``train``, and ``test`` holding the clips whose source matches ``test_sources``.
    Nothing is left at ``output`` unless the whole run succeeds. ``output`` also gets a dataset card
    (README.md, with the licences of any ``SOURCES.md`` in ``inputs``) and, with ``parquet``, Parquet shards.
    """
    import datasets

    started = time.perf_counter()
    output = check_output_folder(output, inputs, "output", overwrite)
    discovery = discover(inputs)
    found = [path for clip in discovery.clips for path in (clip.video, clip.audio) if path is not None]
    check_output_folder(output, [*inputs, *found], "output", overwrite)  # inputs found inside the output folder
    test = select_test_sources(discovery, test_sources) if test_sources else set()
    plan = {
        "train": [c for c in discovery.clips if c.source not in test],
        "test": [c for c in discovery.clips if c.source in test],
    }
    plan = {name: specs for name, specs in plan.items() if specs}
    features = clip_features(options.faces, options.face_size, options.phones, options.mouths, options.mouth_size)
    output.parent.mkdir(parents=True, exist_ok=True)
    cache = output.parent / f".{output.name}.cache-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    reports: list[ClipReport] = []
    estimate = sum(_estimate_frames(c) for c in discovery.clips)
    bar = tqdm(total=estimate, unit="frame", desc="preprocess", disable=not progress, dynamic_ncols=True)

    def on_done(report: ClipReport) -> None:
        reports.append(report)
        bar.set_postfix_str(report.clip_id[-30:], refresh=False)
        bar.update(report.frames)

    pool = multiprocessing.get_context("fork").Pool(num_proc, _init_worker, (options,)) if num_proc > 1 else None
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
        for row in _run_clips(specs, options, pool, on_done):
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


def _estimate_frames(spec: ClipSpec) -> int:
    try:
        return VideoReader(spec.video).estimated_num_frames
    except (TalkheadInputError, OSError):
        return 0
