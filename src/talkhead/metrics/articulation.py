"""Articulation: does a mouth make the shapes its phones need? Per-phone checks of lip-sync and talking-head output.

Lip-follow (:mod:`.lip_follow`) asks whether a mouth opens and closes with the speech as a whole; these measures ask
about the phones whose sound the lips make, from landmarks (T, 68, 2) in image pixels (iBUG-68 indexing) and the phone
segments of the speech (:class:`~talkhead.processing.phones.PhoneSegment`, e.g. from
:func:`~talkhead.processing.phones.decode_phones` with ``decoder="words"``, the aligner):

* **bilabial closure** (P, B, M): the share of segments over which the lips shut
  (:func:`~talkhead.metrics.lip_contacts.bilabial_closure`);
* **labiodental contact** (F, V): the share over which the lower lip comes up to the upper teeth
  (:func:`~talkhead.metrics.lip_contacts.labiodental_contact`);
* **rounding** (OW, UW, UH, W): mouth width over the inter-ocular distance on their frames (:func:`lip_rounding`);
* **open-vowel opening** (AA, AE, AH, AO, AW, AY, EH, ER, EY): inner-lip opening
  (:func:`talkhead.processing.mouth.inner_lip_opening`) on their frames (:func:`open_vowel_opening`);
* **teeth at closures**: the share of the pixels between the outer lips that look like teeth on the frames of the P,
  B and M segments (:func:`shut_teeth`): dlib's inner-lip points often meet on the edge of the teeth, so a closure
  counted from landmarks may still show a band of teeth, which this sees;
* **mouth flicker**: the mean frame-to-frame change of the grey pixels in the mouth box of
  :mod:`talkhead.metrics.mouth_quality` (its :func:`~talkhead.metrics.mouth_quality.mouth_flicker`, and
  :func:`mouth_flicker_ratio` here).

Every bar a segment is judged by (the closed level, the labiodental contact bar) comes from the *real* clip, so the
generated mouth is held to what the real speaker's mouth does. A generated clip may be shorter than the real one:
only the segments that lie wholly inside both clips are scored, the same segments on both.

The frames of a segment are :func:`talkhead.metrics.phone_frames.segment_frames`'; ``offset`` undoes a real clip's own
audio-video lag (positive when its video leads its audio). The generated clip is taken as in step with the audio it
was made from.

:func:`articulation` gives every measure of one clip; :func:`aggregate_articulation` pools many clips: rates from
pooled counts (a clip with 3 bilabials weighs less than one with 30), ratios as the median of the per-clip ratios (a
clip whose real mouth barely moves cannot dominate).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..processing.audio import VIDEO_FPS
from ..processing.landmarks import MOUTH_CORNERS
from ..processing.mouth import CLOSED_PERCENTILE, eye_distance, inner_lip_opening
from ..processing.phones import PhoneSegment
from ..processing.visemes import BILABIALS, OPEN_VOWELS, ROUNDED
from .lip_contacts import (
    BilabialClosure,
    LabiodentalContact,
    SegmentCount,
    bilabial_closure,
    labiodental_contact,
)
from .mouth_quality import check_frames, check_landmarks, flicker_per_pair, lip_teeth_share
from .phone_frames import shared_ranges


@dataclass(frozen=True)
class MeanComparison:
    """A per-frame measure averaged over the same ``frames`` (frame pairs, for flicker) of the real and the generated
    clip."""

    real: float
    generated: float
    frames: int

    @classmethod
    def of(cls, real_values: np.ndarray, generated_values: np.ndarray) -> MeanComparison:
        """The means over the positions where both per-frame values are finite (NaN means when there is none)."""
        both = np.isfinite(real_values) & np.isfinite(generated_values)
        if not both.any():
            return cls(float("nan"), float("nan"), 0)
        return cls(float(real_values[both].mean()), float(generated_values[both].mean()), int(both.sum()))

    @property
    def ratio(self) -> float:
        """generated / real; NaN when the real mean is not positive or either is not finite."""
        if not (np.isfinite(self.real) and np.isfinite(self.generated)) or self.real <= 0:
            return float("nan")
        return self.generated / self.real


@dataclass(frozen=True)
class ClipArticulation:
    """Every articulation measure of one clip (:func:`articulation`); ``mouth_flicker`` is None without frames."""

    bilabial_closure: BilabialClosure
    labiodental_contact: LabiodentalContact
    rounding: MeanComparison
    open_vowel_opening: MeanComparison
    mouth_flicker: MeanComparison | None = None
    shut_teeth: MeanComparison | None = None


# ------------------------------------------------------------------------------------ rounding and vowel opening


def mouth_width(landmarks: np.ndarray) -> np.ndarray:
    """(...,) distance between the mouth corners (points 48 and 54) over the inter-ocular distance."""
    landmarks = np.asarray(landmarks, np.float64)
    left, right = MOUTH_CORNERS
    width = np.linalg.norm(landmarks[..., left, :] - landmarks[..., right, :], axis=-1)
    return width / np.maximum(eye_distance(landmarks), 1e-6)


def _compare_on_phones(
    real: np.ndarray,
    generated: np.ndarray,
    segments: Iterable[PhoneSegment],
    phones: Iterable[str],
    measure: Callable[[np.ndarray], np.ndarray],
    fps: float,
    offset: int,
) -> MeanComparison:
    """``measure`` (landmarks -> per-frame values) averaged over the frames of the segments of ``phones`` inside both
    clips, on the frames where both clips have a value."""
    real, generated = check_landmarks(real, "real landmarks"), check_landmarks(generated, "generated landmarks")
    real_frames, generated_frames = _shared_frames(segments, phones, len(real), len(generated), fps, offset)
    return MeanComparison.of(measure(real)[real_frames], measure(generated)[generated_frames])


def _shared_frames(
    segments: Iterable[PhoneSegment],
    phones: Iterable[str],
    real_length: int,
    generated_length: int,
    fps: float,
    offset: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The frames of the real and of the generated clip that show the segments of ``phones`` inside both clips
    (``offset`` applying to the real one), in the same order."""
    pairs = shared_ranges(segments, phones, [(real_length, offset), (generated_length, 0)], fps, 0.0)
    real_frames, generated_frames = (np.array([i for ranges in pairs for i in ranges[side]], int) for side in (0, 1))
    return real_frames, generated_frames


def lip_rounding(
    real: np.ndarray,
    generated: np.ndarray,
    segments: Iterable[PhoneSegment],
    fps: float = VIDEO_FPS,
    offset: int = 0,
) -> MeanComparison:
    """Mean :func:`mouth_width` of the real and the generated landmarks (T, 68, 2) on the frames of the OW, UW, UH
    and W segments inside both clips (``offset`` applying to the real one). Rounded lips are narrow: a ratio above 1
    is a generated mouth rounded less than the real one."""
    return _compare_on_phones(real, generated, segments, ROUNDED, mouth_width, fps, offset)


def open_vowel_opening(
    real: np.ndarray,
    generated: np.ndarray,
    segments: Iterable[PhoneSegment],
    fps: float = VIDEO_FPS,
    offset: int = 0,
) -> MeanComparison:
    """Mean inner-lip opening (:func:`talkhead.processing.mouth.inner_lip_opening`) of the real and the generated
    landmarks on the frames of the open-vowel segments (:data:`OPEN_VOWELS`) inside both clips (``offset`` applying
    to the real one). A ratio below 1 is a generated mouth that opens less than the real one."""
    return _compare_on_phones(real, generated, segments, OPEN_VOWELS, inner_lip_opening, fps, offset)


# -------------------------------------------------------------------------------------------------- mouth flicker


def mouth_flicker_ratio(
    real_frames: np.ndarray,
    real_landmarks: np.ndarray,
    generated_frames: np.ndarray,
    generated_landmarks: np.ndarray,
) -> MeanComparison:
    """:func:`~talkhead.metrics.mouth_quality.mouth_flicker` of the real and the generated clip over their common
    length, each box placed by its own clip's landmarks (pass the real landmarks twice for output drawn on the real
    frames, as :mod:`talkhead.metrics.mouth_quality` does), on the frame pairs where both have a face. Head motion
    counts in both; a ratio above 1 is a mouth that changes more from frame to frame than the real one."""
    clips = [
        (check_frames(real_frames, "real frames"), check_landmarks(real_landmarks, "real landmarks")),
        (
            check_frames(generated_frames, "generated frames"),
            check_landmarks(generated_landmarks, "generated landmarks"),
        ),
    ]
    count = min(len(array) for clip in clips for array in clip)
    real_changes, generated_changes = (flicker_per_pair(frames, landmarks, count) for frames, landmarks in clips)
    return MeanComparison.of(real_changes, generated_changes)


def shut_teeth(
    real_frames: np.ndarray,
    real_landmarks: np.ndarray,
    generated_frames: np.ndarray,
    generated_landmarks: np.ndarray,
    segments: Iterable[PhoneSegment],
    fps: float = VIDEO_FPS,
    offset: int = 0,
) -> MeanComparison:
    """Mean :func:`~talkhead.metrics.mouth_quality.lip_teeth_share` of the real and the generated clip on the frames of
    the P, B and M segments inside both (``offset`` applying to the real one), each frame with its own clip's
    landmarks; a shut mouth shows none, so the real mean is near 0 and the generated one should be too."""
    clips = [
        (check_frames(real_frames, "real frames"), check_landmarks(real_landmarks, "real landmarks")),
        (
            check_frames(generated_frames, "generated frames"),
            check_landmarks(generated_landmarks, "generated landmarks"),
        ),
    ]
    lengths = [min(len(frames), len(points)) for frames, points in clips]
    indices = _shared_frames(segments, BILABIALS, lengths[0], lengths[1], fps, offset)
    values = [
        np.array([lip_teeth_share(frames[i], points[i]) if np.isfinite(points[i]).all() else np.nan for i in side])
        for (frames, points), side in zip(clips, indices, strict=True)
    ]
    return MeanComparison.of(values[0], values[1])


# ------------------------------------------------------------------------------------------- per clip and pooled


def articulation(
    real: np.ndarray,
    generated: np.ndarray,
    segments: Sequence[PhoneSegment],
    fps: float = VIDEO_FPS,
    offset: int = 0,
    real_frames: np.ndarray | None = None,
    generated_frames: np.ndarray | None = None,
    percentile: float = CLOSED_PERCENTILE,
) -> ClipArticulation:
    """Every measure of one clip: ``real`` and ``generated`` landmarks (T, 68, 2) in image pixels, the phone
    ``segments`` of the speech, ``offset`` the real clip's own lag in frames (positive: its video leads its audio);
    with both clips' (T, H, W, 3) uint8 frames, the mouth flicker too (each box placed by its own clip's landmarks)."""
    segments = list(segments)
    flicker = teeth = None
    if real_frames is not None and generated_frames is not None:
        flicker = mouth_flicker_ratio(real_frames, real, generated_frames, generated)
        teeth = shut_teeth(real_frames, real, generated_frames, generated, segments, fps, offset)
    return ClipArticulation(
        bilabial_closure=bilabial_closure(real, generated, segments, fps, offset, percentile),
        labiodental_contact=labiodental_contact(real, generated, segments, fps, offset, percentile),
        rounding=lip_rounding(real, generated, segments, fps, offset),
        open_vowel_opening=open_vowel_opening(real, generated, segments, fps, offset),
        mouth_flicker=flicker,
        shut_teeth=teeth,
    )


def pool_counts(counts: Iterable[SegmentCount]) -> SegmentCount:
    """The hits and totals of many clips added up (their rate is the pooled rate)."""
    counts = list(counts)
    return SegmentCount(sum(c.hits for c in counts), sum(c.total for c in counts))


def median_ratio(ratios: Iterable[float]) -> float:
    """Median of the finite ``ratios`` (a clip without frames of a phone class has a NaN ratio); NaN without one."""
    values = np.asarray(list(ratios), np.float64)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else float("nan")


def _pooled(real: SegmentCount, generated: SegmentCount) -> dict:
    return {
        "real_rate": real.rate,
        "generated_rate": generated.rate,
        "real_hits": real.hits,
        "generated_hits": generated.hits,
        "segments": real.total,
    }


def _median(comparisons: Sequence[MeanComparison]) -> dict:
    ratios = [c.ratio for c in comparisons]
    return {"median_ratio": median_ratio(ratios), "clips": int(np.isfinite(np.asarray(ratios, np.float64)).sum())}


def _means(comparisons: Sequence[MeanComparison]) -> dict:
    """Frame-weighted means over clips of both sides of per-clip means (for measures whose real value is near 0)."""
    kept = [c for c in comparisons if c.frames]
    frames = sum(c.frames for c in kept)
    if not frames:
        return {"real": float("nan"), "generated": float("nan"), "frames": 0}
    return {
        "real": sum(c.real * c.frames for c in kept) / frames,
        "generated": sum(c.generated * c.frames for c in kept) / frames,
        "frames": frames,
    }


def aggregate_articulation(clips: Iterable[ClipArticulation]) -> dict:
    """Many clips' measures: closure and contact rates from the pooled segment counts (``real_rate``,
    ``generated_rate``, ``real_hits``, ``generated_hits``, ``segments``); rounding, open-vowel opening and mouth
    flicker as the median of the per-clip generated / real ratios (``median_ratio``, and ``clips``: how many clips
    had one). ``clips``: how many clips were given."""
    clips = list(clips)
    closures = [c.bilabial_closure for c in clips]
    contacts = [c.labiodental_contact for c in clips]
    return {
        "clips": len(clips),
        "bilabial_closure": _pooled(pool_counts(c.real for c in closures), pool_counts(c.generated for c in closures)),
        "labiodental_contact": _pooled(
            pool_counts(c.real for c in contacts), pool_counts(c.generated for c in contacts)
        ),
        "rounding": _median([c.rounding for c in clips]),
        "open_vowel_opening": _median([c.open_vowel_opening for c in clips]),
        "mouth_flicker": _median([c.mouth_flicker for c in clips if c.mouth_flicker is not None]),
        "shut_teeth": _means([c.shut_teeth for c in clips if c.shut_teeth is not None]),
    }
