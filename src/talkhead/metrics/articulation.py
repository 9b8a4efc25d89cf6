"""Articulation: does a mouth make the shapes its phones need? Per-phone checks of lip-sync and talking-head output.

Lip-follow (:mod:`.lip_follow`) asks whether a mouth opens and closes with the speech as a whole; these measures ask
about the phones whose sound the lips make, from landmarks (T, 68, 2) in image pixels (iBUG-68 indexing) and the phone
segments of the speech (:class:`~talkhead.processing.phones.PhoneSegment`, e.g. from
:func:`~talkhead.processing.phones.decode_phones` with ``decoder="words"``, the aligner):

* **bilabial closure** (P, B, M): the share of segments over which the lips shut (:func:`bilabial_closure`);
* **labiodental contact** (F, V): the share over which the lower lip comes up to the upper teeth
  (:func:`labiodental_contact`);
* **rounding** (OW, UW, UH, W): mouth width over the inter-ocular distance on their frames (:func:`lip_rounding`);
* **open-vowel opening** (AA, AE, AH, AO, AW, AY, EH, ER, EY): inner-lip opening
  (:func:`talkhead.processing.mouth.inner_lip_opening`) on their frames (:func:`open_vowel_opening`);
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

from ..errors import TalkheadInputError
from ..processing.audio import VIDEO_FPS
from ..processing.landmarks import MOUTH_CORNERS
from ..processing.mouth import CLOSED_PERCENTILE, eye_distance, inner_lip_opening, points_in_face_frame
from ..processing.phones import PhoneSegment
from .mouth_quality import check_frames, check_landmarks, flicker_per_pair
from .phone_frames import phone_frame_ranges, segments_passing, shared_ranges

BILABIALS = ("P", "B", "M")
LABIODENTALS = ("F", "V")
ROUNDED = ("OW", "UW", "UH", "W")
OPEN_VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY")
# one video frame at 25 fps: the aligner's shortest phones (30 ms, three of its frames) are often squeezed between
# their neighbours, and the one video frame that shows such a phone is mostly its neighbours' time
MIN_CONSONANT_SECONDS = 0.040
# inter-ocular units added to the real clip's CLOSED_PERCENTILE opening: see closed_level
CLOSED_TOLERANCE = 0.02
# the labiodental contact bar lies this share of the way from the closed level up to the clip's median opening
CONTACT_SHARE = 0.5
LOWER_INNER_LIP = (65, 66, 67)


@dataclass(frozen=True)
class SegmentCount:
    """``hits`` of ``total`` phone segments passed a test (a closure, a contact)."""

    hits: int
    total: int

    @property
    def rate(self) -> float:
        """hits / total; NaN without segments."""
        return self.hits / self.total if self.total else float("nan")


@dataclass(frozen=True)
class BilabialClosure:
    """The bilabial segments over which the real and the generated lips shut (the same segments), and the bar."""

    real: SegmentCount
    generated: SegmentCount
    closed_level: float  # inner-lip opening, inter-ocular units, from the real clip (closed_level)


@dataclass(frozen=True)
class LabiodentalBar:
    """What counts as the lower lip at the upper teeth (:func:`labiodental_bar`), in inter-ocular units: an inner-lip
    opening at most ``gap`` with the lower inner lip no lower than ``lower_lip`` (its height in the face frame of
    :mod:`talkhead.processing.mouth`, y down)."""

    gap: float
    lower_lip: float


@dataclass(frozen=True)
class LabiodentalContact:
    """The labiodental segments over which the real and the generated lower lip reach the upper teeth, and the bar."""

    real: SegmentCount
    generated: SegmentCount
    bar: LabiodentalBar


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


def _count(hits: np.ndarray, scoreable: np.ndarray) -> SegmentCount:
    return SegmentCount(int((hits & scoreable).sum()), int(scoreable.sum()))


# ----------------------------------------------------------------------------------------------- bilabial closure


def closed_level(
    landmarks: np.ndarray, percentile: float = CLOSED_PERCENTILE, tolerance: float = CLOSED_TOLERANCE
) -> float:
    """The inner-lip opening at or below which a mouth counts as shut, from the REAL clip's (T, 68, 2) ``landmarks``:
    the ``percentile`` (default 10) of its opening over all its frames, plus ``tolerance`` inter-ocular units.

    Why a percentile of the clip itself: dlib's inner-lip points seldom meet on a shut mouth, and the gap they leave
    depends on the speaker's lips, the video's resolution and the tracker, so no one absolute bar fits every clip.
    Connected speech shuts the mouth on every P, B and M, in pauses and between many syllables: more than a tenth of
    its frames, so the 10th percentile lies among the shut frames (the same percentile
    :func:`talkhead.processing.mouth.closed_shape` takes for a speaker's closed mouth). The shut frames' gap varies
    from frame to frame by about a pixel, so the frames above that percentile need a margin to count as shut too:
    0.02 inter-ocular units is about 1.3 px on a face 64 px between the eye centres, and a tenth to a fifth of a
    spoken vowel's opening. On three 8 s real clips (two HDTF-style, one in-the-wild; dlib, the word aligner) the
    10th percentile was 0.014-0.041, and 10 of their 11 bilabials shut by this bar (least opening 0.00-0.04): the
    percentile follows a tracker that never closes the gap fully. A clip that is mostly silent with an open mouth
    breaks the assumption.
    """
    opening = inner_lip_opening(check_landmarks(landmarks, "real landmarks"))
    opening = opening[np.isfinite(opening)]
    if not opening.size:
        raise TalkheadInputError("the real landmarks have no frame with a face: a closed level needs a tracked face")
    return float(np.percentile(opening, percentile) + tolerance)


def count_bilabial_closures(
    landmarks: np.ndarray,
    segments: Iterable[PhoneSegment],
    closed_level: float,
    fps: float = VIDEO_FPS,
    offset: int = 0,
) -> SegmentCount:
    """Of the P, B and M segments lasting at least 40 ms that lie inside the clip of (T, 68, 2) ``landmarks``, those
    over which the mouth shuts: the least inner-lip opening over the segment's frames, widened by one frame each side,
    is at or below ``closed_level`` (:func:`closed_level` of the real clip, whichever clip is scored). Segments whose
    frames have no face are left out."""
    array = check_landmarks(landmarks, "landmarks")
    ranges = phone_frame_ranges(segments, BILABIALS, len(array), fps, offset, MIN_CONSONANT_SECONDS)
    opening = inner_lip_opening(array)
    return _count(*segments_passing(opening <= closed_level, np.isfinite(opening), ranges))


def bilabial_closure(
    real: np.ndarray,
    generated: np.ndarray,
    segments: Iterable[PhoneSegment],
    fps: float = VIDEO_FPS,
    offset: int = 0,
    percentile: float = CLOSED_PERCENTILE,
    tolerance: float = CLOSED_TOLERANCE,
) -> BilabialClosure:
    """:func:`count_bilabial_closures` of the ``real`` and the ``generated`` landmarks (T, 68, 2) on the same segments
    (those inside both clips, ``offset`` applying to the real one) against the real clip's :func:`closed_level`."""
    real, generated = check_landmarks(real, "real landmarks"), check_landmarks(generated, "generated landmarks")
    level = closed_level(real, percentile, tolerance)
    pairs = shared_ranges(segments, BILABIALS, [(len(real), offset), (len(generated), 0)], fps, MIN_CONSONANT_SECONDS)
    openings = (inner_lip_opening(real), inner_lip_opening(generated))
    passing = [
        segments_passing(opening <= level, np.isfinite(opening), [ranges[side] for ranges in pairs])
        for side, opening in enumerate(openings)
    ]
    scoreable = passing[0][1] & passing[1][1]
    return BilabialClosure(_count(passing[0][0], scoreable), _count(passing[1][0], scoreable), level)


# -------------------------------------------------------------------------------------------- labiodental contact


def _lower_lip_height(landmarks: np.ndarray) -> np.ndarray:
    """(T,) height of the lower inner lip (points 65-67) in each frame's face frame (inter-ocular units, y down); NaN
    on frames without a face."""
    height = np.full(len(landmarks), np.nan)
    tracked = np.isfinite(landmarks).all(axis=(1, 2))
    if tracked.any():
        height[tracked] = points_in_face_frame(landmarks[tracked], list(LOWER_INNER_LIP))[..., 1].mean(-1)
    return height


def labiodental_bar(
    real: np.ndarray,
    percentile: float = CLOSED_PERCENTILE,
    tolerance: float = CLOSED_TOLERANCE,
    share: float = CONTACT_SHARE,
) -> LabiodentalBar:
    """The bar of :func:`labiodental_contact`, from the REAL clip's (T, 68, 2) landmarks. Its margin is ``share`` of
    the way from the :func:`closed_level` up to the median opening of the clip: the ``gap`` is the closed level plus
    the margin; ``lower_lip`` is the lower inner lip's median height on the clip's shut frames (its rest pose, opening
    at most the closed level) plus the margin."""
    real = check_landmarks(real, "real landmarks")
    level = closed_level(real, percentile, tolerance)
    opening = inner_lip_opening(real)
    margin = share * max(float(np.nanmedian(opening)) - level, 0.0)
    rest = _lower_lip_height(real)[opening <= level]
    return LabiodentalBar(level + margin, float(np.nanmedian(rest)) + margin)


def _contact_frames(landmarks: np.ndarray, bar: LabiodentalBar) -> tuple[np.ndarray, np.ndarray]:
    opening, height = inner_lip_opening(landmarks), _lower_lip_height(landmarks)
    return (opening <= bar.gap) & (height <= bar.lower_lip), np.isfinite(opening) & np.isfinite(height)


def count_labiodental_contacts(
    landmarks: np.ndarray,
    segments: Iterable[PhoneSegment],
    bar: LabiodentalBar,
    fps: float = VIDEO_FPS,
    offset: int = 0,
) -> SegmentCount:
    """Of the F and V segments lasting at least 40 ms inside the clip of (T, 68, 2) ``landmarks``, those over which
    the lower lip reaches the upper teeth: on some frame of the segment, widened by one frame each side, the inner-lip
    opening is at most ``bar.gap`` and the lower inner lip is no lower than ``bar.lower_lip``
    (:func:`labiodental_bar` of the real clip, whichever clip is scored).

    What landmarks cannot see: there are no teeth among the 68 points, so the upper teeth line is taken as the inner
    upper lip (points 61-63) of a nearly shut mouth, where the incisors' edges sit just behind it; a lower lip tucked
    under the teeth looks, in 2-D, like one pressed to the upper lip, so a bilabial closure held through an F passes
    too, and a lip that stops short in depth (behind the teeth, or in front of them) is not told apart. An F made with
    the upper lip raised well clear of the teeth fails the gap test.
    """
    array = check_landmarks(landmarks, "landmarks")
    ranges = phone_frame_ranges(segments, LABIODENTALS, len(array), fps, offset, MIN_CONSONANT_SECONDS)
    return _count(*segments_passing(*_contact_frames(array, bar), ranges))


def labiodental_contact(
    real: np.ndarray,
    generated: np.ndarray,
    segments: Iterable[PhoneSegment],
    fps: float = VIDEO_FPS,
    offset: int = 0,
    percentile: float = CLOSED_PERCENTILE,
    tolerance: float = CLOSED_TOLERANCE,
    share: float = CONTACT_SHARE,
) -> LabiodentalContact:
    """:func:`count_labiodental_contacts` of the ``real`` and the ``generated`` landmarks on the same segments (those
    inside both clips, ``offset`` applying to the real one) against the real clip's :func:`labiodental_bar`. The
    generated lower lip is held to the real rest height in the face frame, which assumes the same face (the same
    person, whose face shape the rendering keeps); pose and scale are taken out by the face frame."""
    real, generated = check_landmarks(real, "real landmarks"), check_landmarks(generated, "generated landmarks")
    bar = labiodental_bar(real, percentile, tolerance, share)
    pairs = shared_ranges(
        segments, LABIODENTALS, [(len(real), offset), (len(generated), 0)], fps, MIN_CONSONANT_SECONDS
    )
    passing = [
        segments_passing(*_contact_frames(landmarks, bar), [ranges[side] for ranges in pairs])
        for side, landmarks in enumerate((real, generated))
    ]
    scoreable = passing[0][1] & passing[1][1]
    return LabiodentalContact(_count(passing[0][0], scoreable), _count(passing[1][0], scoreable), bar)


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
    pairs = shared_ranges(segments, phones, [(len(real), offset), (len(generated), 0)], fps, 0.0)
    frames = [np.array([i for ranges in pairs for i in ranges[side]], int) for side in (0, 1)]
    return MeanComparison.of(measure(real)[frames[0]], measure(generated)[frames[1]])


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
    flicker = None
    if real_frames is not None and generated_frames is not None:
        flicker = mouth_flicker_ratio(real_frames, real, generated_frames, generated)
    return ClipArticulation(
        bilabial_closure=bilabial_closure(real, generated, segments, fps, offset, percentile),
        labiodental_contact=labiodental_contact(real, generated, segments, fps, offset, percentile),
        rounding=lip_rounding(real, generated, segments, fps, offset),
        open_vowel_opening=open_vowel_opening(real, generated, segments, fps, offset),
        mouth_flicker=flicker,
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
    }
