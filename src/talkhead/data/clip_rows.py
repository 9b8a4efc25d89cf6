"""One talking clip -> rows of the data contract (architecture.md), with the cleaning filters large sets need.

For each clip: decode at 25 fps and track 68 landmarks (:func:`talkhead.processing.tracked_clip.track_clip`, the
tracking every metric and benchmark shares), interpolate gaps of up to 2 frames and split the clip at longer
ones and at scene cuts, drop segments with small faces or too few frames, undo a small audio-video offset (or drop a
large one) measured by the mouth-sync expert (:mod:`talkhead.data.filters`), frame each part as
:func:`talkhead.processing.face_crops.frame_clip` does (the convention the metrics and pipelines use too), load
and align the audio, compute the MS-Sync and Wav2Lip features, and (with ``faces=True``) cut 96x96 face crops,
and (``mouths=True``) 64x64 mouth crops (:mod:`talkhead.processing.mouth_crops`), in a second decoding pass. Bad
input ends in the report's ``skipped`` with its reason; it never raises. :mod:`talkhead.data.build` (one dataset)
and :mod:`talkhead.data.build_shard` (one shard of many) run it over many clips.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .. import defaults
from ..defaults import VIDEO_FPS
from ..errors import TalkheadInputError
from ..io import audio as audio_io
from ..io.video import VideoReader
from ..processing import audio as audio_lib
from ..processing.face_crops import CLIP_ENLARGE, ClipFraming, crop_face, frame_clip, smooth_boxes
from ..processing.faces import FaceTracker, fill_short_gaps, valid_segments
from ..processing.mouth_crops import MOUTH_SIZE, mouth_crop_boxes
from ..processing.phones import NUM_PHONES, PHONE_LOOP_DECODER, phone_features
from ..processing.tracked_clip import track_clip
from .discovery import ClipSpec
from .filters import FilterCounts, av_offset, face_sizes, scene_cuts, shifted_ranges, split_at

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
            mouth-motion model's input, otherwise decoded at every training start), decoded with ``phone_decoder``
            (the phone loop by default; ``words`` is what the shipped mouth-motion model reads).
        mouths: also store mouth crops (``mouths``, ``mouth_size`` square) and their boxes (``mouth_boxes``, frame
            pixels, smoothed over 3 frames): what the mouth-interior generator trains on.
        min_face_size: drop segments whose median face (the larger side of the landmarks' extent) is smaller, in
            source pixels (0: keep every size).
        max_face_jump: split clips where the face track jumps by more than this many face sizes in one frame (a
            scene cut; 0: never).
        av_offset_model: a mouth-sync expert (name or folder) that measures each segment's audio-video offset;
            ``None``: not measured. Offsets of at most ``max_av_shift`` frames are undone, larger ones dropped,
            both only when the expert's confidence is at least ``min_av_confidence``.
    """

    faces: bool = False
    max_side: int = defaults.TRACK_SIDE
    min_frames: int = 25
    max_gap: int = 2
    redetect_every: int = 5
    clip_enlarge: float = CLIP_ENLARGE
    face_size: int = 96
    phones: bool = False
    phone_decoder: str = PHONE_LOOP_DECODER
    mouths: bool = False
    mouth_size: int = MOUTH_SIZE
    min_face_size: float = 0.0
    max_face_jump: float = 0.0
    av_offset_model: str | None = None
    max_av_shift: int = 3
    max_av_lag: int = 15
    min_av_confidence: float = 0.0


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
    filters: dict = field(default_factory=dict)  # FilterCounts.to_dict() of this clip


def clip_features(
    with_faces: bool,
    face_size: int = 96,
    with_phones: bool = False,
    with_mouths: bool = False,
    mouth_size: int = MOUTH_SIZE,
):
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
    spec: ClipSpec, options: PreprocessOptions, tracker: FaceTracker | None = None, expert=None
) -> tuple[list[dict], ClipReport]:
    """Rows of the data contract for one clip (one per face segment), and its report.

    Bad input (undecodable file, no audio, no face, silent audio) ends in ``report.skipped``
    with the reason; it never raises. ``expert`` is the loaded ``options.av_offset_model``.
    """
    start = time.perf_counter()
    report = ClipReport(spec.clip_id, spec.source, str(spec.video), None if spec.audio is None else str(spec.audio))
    counts = FilterCounts()
    try:
        tracker = tracker or FaceTracker(redetect_every=options.redetect_every)
        rows = _process(spec, options, tracker, report, counts, expert)
    except (TalkheadInputError, OSError) as err:
        rows, report.skipped = [], str(err)
    report.filters = counts.to_dict()
    report.seconds = time.perf_counter() - start
    return rows, report


def load_offset_expert(options: PreprocessOptions):
    """The mouth-sync expert of ``options.av_offset_model`` (``None`` when no offset is measured)."""
    if options.av_offset_model is None:
        return None
    from ..hub import load_pretrained
    from ..models.mouth_sync import MouthSyncModel

    return load_pretrained(MouthSyncModel, options.av_offset_model).eval()


def kept_segments(landmarks, found, valid, options: PreprocessOptions, counts: FilterCounts) -> list[tuple[int, int]]:
    """Runs of frames with a face, split at scene cuts, without small faces and short runs (each counted)."""
    segments = valid_segments(valid)
    cuts = scene_cuts(landmarks, found, options.max_face_jump, options.max_gap)
    if cuts:
        counts.add("scene_cut", clips=1, cuts=len(cuts))
        segments = split_at(segments, cuts)
    if options.min_face_size > 0:
        small = [(a, b) for a, b in segments if np.nanmedian(face_sizes(landmarks[a:b])) < options.min_face_size]
        if small:
            counts.add("small_face", segments=len(small), frames=sum(b - a for a, b in small))
        segments = [s for s in segments if s not in small]
    short = [(a, b) for a, b in segments if b - a < options.min_frames]
    if short:
        counts.add("short", segments=len(short), frames=sum(b - a for a, b in short))
    return [(a, b) for a, b in segments if b - a >= options.min_frames]


def aligned_segments(segments, landmarks, found, wave, options: PreprocessOptions, expert, counts: FilterCounts):
    """(video start, video stop, audio start) per segment: each segment's offset, measured by ``expert``, undone
    when at most ``options.max_av_shift`` frames, the segment dropped when larger (``expert`` None: as filmed)."""
    aligned = []
    for a, b in segments:
        measured = None
        if expert is not None:
            piece = wave[a * audio_lib.SAMPLES_PER_FRAME : b * audio_lib.SAMPLES_PER_FRAME]
            measured = av_offset(expert, piece, landmarks[a:b], found[a:b], options.max_av_lag)
            counts.add("av_offset", measured=measured is not None, unmeasured=measured is None)
        if measured is None or measured["confidence"] < options.min_av_confidence or measured["offset"] == 0:
            if measured is not None and measured["offset"] and measured["confidence"] < options.min_av_confidence:
                counts.add("av_offset", unsure=1)
            aligned.append((a, b, a))
            continue
        if abs(measured["offset"]) > options.max_av_shift:
            counts.add("av_offset", dropped=1, frames_dropped=b - a)
            continue
        start, stop, audio_start = shifted_ranges(a, b, measured["offset"])
        if stop - start < options.min_frames:
            counts.add("av_offset", dropped=1, frames_dropped=b - a)
            continue
        counts.add("av_offset", shifted=1)
        aligned.append((start, stop, audio_start))
    return aligned


def _process(
    spec: ClipSpec,
    options: PreprocessOptions,
    tracker: FaceTracker,
    report: ClipReport,
    counts: FilterCounts,
    expert=None,
) -> list[dict]:
    reader = VideoReader(spec.video, max_side=options.max_side)  # an unreadable video fails before anything is decoded
    wave = audio_io.load_audio(spec.audio or spec.video)
    audio_io.check_min_duration(wave, "the audio")
    clip = track_clip(spec.video, reader=reader, tracker=tracker)  # the tracking every metric and benchmark shares
    report.frames, report.found = clip.num_frames, int(clip.found.sum())
    if report.found == 0:
        raise TalkheadInputError("no face found in any frame")
    num_frames = min(report.frames, int(round(len(wave) / audio_lib.SAMPLES_PER_FRAME)))
    report.trimmed_frames = report.frames - num_frames
    if report.trimmed_frames > NOTE_TRIM_FRAMES:
        report.notes.append(f"audio ends {report.trimmed_frames / VIDEO_FPS:.2f} s before the video: video trimmed")
    wave = audio_io.fit_length(wave, num_frames * audio_lib.SAMPLES_PER_FRAME)
    if audio_lib.silence_mask(wave, num_frames).all():
        raise TalkheadInputError("the audio is silent")
    clip = clip.cut(num_frames)
    landmarks, valid = fill_short_gaps(clip.track_landmarks / clip.scale, clip.found, options.max_gap)
    segments = kept_segments(landmarks, clip.found, valid, options, counts)
    if counts.counts.get("short"):
        report.notes.append(
            f"dropped {counts.counts['short']['segments']} face segment(s) shorter than {options.min_frames} frames"
        )
    if not segments:
        raise TalkheadInputError(_nothing_kept(options, counts))
    segments = aligned_segments(segments, landmarks, clip.found, wave, options, expert, counts)
    if not segments:
        raise TalkheadInputError(
            f"its audio-video offset is larger than max_av_shift={options.max_av_shift} frames in every segment"
        )
    framings = [frame_clip(landmarks[a:b], options.clip_enlarge) for a, b, _ in segments]
    faces, mouths, mouth_boxes = _crops(
        reader, num_frames, [(a, b) for a, b, _ in segments], framings, landmarks, options
    )
    rows = []
    for index, ((a, b, audio_start), framing) in enumerate(zip(segments, framings, strict=True)):
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
                audio_start,
            )
        )
    report.rows = len(rows)
    report.kept_frames = sum(b - a for a, b, _ in segments)
    return rows


def _nothing_kept(options: PreprocessOptions, counts: FilterCounts) -> str:
    """Why a clip with a face gave no segment: the filters that removed its stretches."""
    reason = f"no stretch of at least {options.min_frames} frames with a face"
    if counts.counts.get("small_face"):
        reason += f" of at least min_face_size={options.min_face_size:g} px"
    if counts.counts.get("scene_cut"):
        reason += " in one shot (the face track jumps: a scene cut)"
    return reason


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


def _row(
    clip_id,
    source,
    framing: ClipFraming,
    found,
    wave,
    a,
    b,
    faces,
    options,
    mouths=None,
    audio_start: int | None = None,
) -> dict:
    """The row of video frames [a, b) with the audio from frame ``audio_start`` (``a`` unless an offset is undone)."""
    first = a if audio_start is None else audio_start
    segment_wave = wave[first * audio_lib.SAMPLES_PER_FRAME : (first + b - a) * audio_lib.SAMPLES_PER_FRAME]
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
        row["phones"] = phone_features(segment_wave, b - a, VIDEO_FPS, options.phone_decoder)
    if mouths is not None:
        row["mouths"], row["mouth_boxes"] = mouths[0], mouths[1].astype(np.float32)
    return row
