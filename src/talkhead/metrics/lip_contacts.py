"""Lip contacts of consonants: do the lips shut on P, B and M, and does the lower lip reach the upper teeth on F and
V? Segment counts from landmarks (T, 68, 2) in image pixels and the phone segments of the speech, for
:mod:`talkhead.metrics.articulation`.

Every bar a segment is judged by (the closed level, the labiodental contact bar) comes from the *real* clip, so the
generated mouth is held to what the real speaker's mouth does; the real and the generated clip are scored on the same
segments (those inside both clips, with a face in both).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import TalkheadInputError
from ..processing.audio import VIDEO_FPS
from ..processing.mouth import CLOSED_PERCENTILE, inner_lip_opening, points_in_face_frame
from ..processing.phones import PhoneSegment
from ..processing.visemes import BILABIALS, LABIODENTALS
from .mouth_quality import check_landmarks
from .phone_frames import phone_frame_ranges, segments_passing, shared_ranges

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


def _count(hits: np.ndarray, scoreable: np.ndarray) -> SegmentCount:
    return SegmentCount(int((hits & scoreable).sum()), int(scoreable.sum()))


def _paired_counts(
    real: np.ndarray,
    generated: np.ndarray,
    segments: Iterable[PhoneSegment],
    phones: Sequence[str],
    per_frame: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    fps: float,
    offset: int,
) -> tuple[SegmentCount, SegmentCount]:
    """The segments of consonants ``phones`` (at least 40 ms) inside both clips that pass in the real and in the
    generated clip, counted on the same segments: those with a face in both. ``per_frame(frames)`` gives (whether
    each frame of a clip's per-frame array passes, whether it was seen); ``offset`` applies to the real clip."""
    pairs = shared_ranges(segments, phones, [(len(real), offset), (len(generated), 0)], fps, MIN_CONSONANT_SECONDS)
    passing = [
        segments_passing(*per_frame(frames), [ranges[side] for ranges in pairs])
        for side, frames in enumerate((real, generated))
    ]
    scoreable = passing[0][1] & passing[1][1]
    return _count(passing[0][0], scoreable), _count(passing[1][0], scoreable)


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
    return closed_level_of_opening(
        inner_lip_opening(check_landmarks(landmarks, "real landmarks")), percentile, tolerance
    )


def closed_level_of_opening(
    opening: np.ndarray, percentile: float = CLOSED_PERCENTILE, tolerance: float = CLOSED_TOLERANCE
) -> float:
    """:func:`closed_level` from the real clip's (T,) inner-lip ``opening`` (inter-ocular units, NaN without a face)
    instead of its landmarks: for openings read by another tracker."""
    opening = np.asarray(opening, np.float64)
    opening = opening[np.isfinite(opening)]
    if not opening.size:
        raise TalkheadInputError("the real clip has no frame with a face: a closed level needs a tracked face")
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
    return bilabial_closure_of_openings(
        inner_lip_opening(real), inner_lip_opening(generated), segments, fps, offset, percentile, tolerance
    )


def bilabial_closure_of_openings(
    real: np.ndarray,
    generated: np.ndarray,
    segments: Iterable[PhoneSegment],
    fps: float = VIDEO_FPS,
    offset: int = 0,
    percentile: float = CLOSED_PERCENTILE,
    tolerance: float = CLOSED_TOLERANCE,
) -> BilabialClosure:
    """:func:`bilabial_closure` from the (T,) inner-lip openings of the real and the generated clip (inter-ocular
    units, NaN without a face) instead of their landmarks: for openings read by another tracker."""
    real, generated = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    level = closed_level_of_opening(real, percentile, tolerance)

    def shut(opening: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return opening <= level, np.isfinite(opening)

    return BilabialClosure(*_paired_counts(real, generated, segments, BILABIALS, shut, fps, offset), level)


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
    counts = _paired_counts(
        real, generated, segments, LABIODENTALS, lambda landmarks: _contact_frames(landmarks, bar), fps, offset
    )
    return LabiodentalContact(*counts, bar)
