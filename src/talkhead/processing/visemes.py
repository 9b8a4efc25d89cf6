"""Visemes with co-articulation: the phones say when the lips must shut, round or touch the teeth; make them.

A mouth-motion model regresses a mean mouth per frame, and a mean over speakers and contexts never quite shuts and
seldom rounds: a P whose neighbours are open vowels comes out half open. The phones already say when those shapes
happen, so a stage after the model imposes them, the way JALI blends its jaw and lip curves with the speech's own
motion:

* **closures** (P, B, M): hard targets. The frames a bilabial covers most take the speaker's closed mouth (the
  video's own shut mouth in lip-sync, the photo's in a talking photo) outright;
* **labiodentals** (F, V): the closed mouth with the upper lip lifted by :data:`LABIODENTAL_GAP`, the lower lip up at
  the upper teeth;
* **rounding** (OW, UW, UH, W): the mouth narrowed about its centre to :data:`ROUNDED_WIDTH` of its mean width (when
  it is wider than that), the height kept;
* **open vowels** (AA, AE, AH, AO, AW, AY, EH, ER, EY): the jaw drops to at least :data:`OPEN_VOWEL_OPENING` x the
  utterance's mean opening (the mouth's height about its shut shape is stretched; a mouth already that open stays),
  more for a louder vowel than the voice's median (:data:`LOUDNESS_EXPONENT`) and less for a short one (a vowel
  shorter than :data:`FULL_VOWEL_SECONDS` has no time to get there). The amplitude then comes from the voice: its
  vowels, their loudness and their durations.

Co-articulation: each target is reached on its own frames and blended in over :data:`ANTICIPATION` frames before
and out over :data:`CARRY_OVER` after (lips start closing before the stop they make, and open again after its
release), so the motion stays smooth. Everything here is a pure function of arrays: mouth shapes (T, 20, 2) in the
face frame of :mod:`talkhead.processing.mouth`, and phone features (T, NUM_PHONES) from
:func:`talkhead.processing.phones.segments_to_frames`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .landmarks import MOUTH
from .mouth import shape_inner_lip_opening
from .phones import NUM_PHONES, PHONE_INDEX

BILABIALS = ("P", "B", "M")
NASALS = ("N", "NG")  # a phone loop hears many an M as one of these: only the lips tell them apart
LABIODENTALS = ("F", "V")
ROUNDED = ("OW", "UW", "UH", "W")
OPEN_VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY")

# blend weights on the frames before a target's own frames (nearest last) and after them (nearest first): lips move
# for about 80 ms into a closure and 40-80 ms out of it
ANTICIPATION = (0.3, 0.7)
CARRY_OVER = (0.6, 0.2)
PEAK_SHARE = 0.5  # a frame is a target's own when the phones cover at least this share of the run's fullest frame
LABIODENTAL_GAP = 0.02  # inter-ocular units the upper inner lip stays above the lower one on F and V
LABIODENTAL_WEIGHT = 0.9  # F and V pull most of the way to their shape: the tongue-free lip is not a hard stop
# of the mean mouth width: real speakers' width on rounded vowels, median over 42 training clips (viseme_shapes.py)
ROUNDED_WIDTH = 0.94
# open-vowel opening over the clip's mean opening of real speakers: median 1.25 over 45 training clips
# (benchmarks/viseme_shapes.py); the mouth is opened to it where the model opens less
OPEN_VOWEL_OPENING = 1.25
LOUDNESS_EXPONENT = 0.5  # opening ~ amplitude ** this: +6 dB over the voice's median opens a vowel 1.41x as far
LOUDNESS_RANGE = (0.8, 1.25)  # the loudness factor stays within this
FULL_VOWEL_SECONDS = 0.1
MAX_STRETCH = 2.0  # an open vowel's mouth is opened at most this much
UPPER_INNER_LIP = tuple(point - MOUTH.start for point in (61, 62, 63))


@dataclass(frozen=True)
class VisemeTargets:
    """The speaker's shapes the phones pull towards: ``closed`` (20, 2), the shut mouth; ``mean`` (20, 2), the mean
    mouth (its width is what rounding narrows)."""

    closed: np.ndarray
    mean: np.ndarray


def phone_coverage(phones: np.ndarray, classes: Iterable[str]) -> np.ndarray:
    """(T,) the share of each frame that the phones of ``classes`` cover, from (T, NUM_PHONES) phone features."""
    phones = np.asarray(phones, np.float64)
    if phones.ndim != 2 or phones.shape[1] != NUM_PHONES:
        raise ValueError(f"phones must be (frames, {NUM_PHONES}) phone features, got shape {phones.shape}")
    return phones[:, [PHONE_INDEX[phone] for phone in classes]].sum(1)


def target_frames(coverage: np.ndarray, peak_share: float = PEAK_SHARE) -> np.ndarray:
    """(T,) bool: in each run of frames a phone class covers, the frames covered at least ``peak_share`` as much as
    the run's fullest frame (a 40 ms P between two frame centres still gets its one frame)."""
    covered = np.asarray(coverage) > 1e-6
    own = np.zeros(len(covered), bool)
    edges = np.flatnonzero(np.diff(np.r_[0, covered.astype(np.int8), 0]))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        run = coverage[start:stop]
        own[start:stop] = run >= peak_share * run.max()
    return own


def coarticulated_weights(
    own: np.ndarray, anticipation: tuple[float, ...] = ANTICIPATION, carry_over: tuple[float, ...] = CARRY_OVER
) -> np.ndarray:
    """(T,) blend weights: ``own`` (bool, or a strength in [0, 1]) on a target's own frames, ramping in over the
    ``anticipation`` weights before them and out over the ``carry_over`` weights after (the largest where ramps of
    neighbouring targets overlap)."""
    own = np.asarray(own, np.float64)
    weights = own.copy()
    for distance, weight in enumerate(reversed(anticipation), start=1):
        weights[:-distance] = np.maximum(weights[:-distance], weight * own[distance:])
    for distance, weight in enumerate(carry_over, start=1):
        weights[distance:] = np.maximum(weights[distance:], weight * own[:-distance])
    return weights


def viseme_weights(phones: np.ndarray, classes: Iterable[str]) -> np.ndarray:
    """(T,) how far each frame is pulled to the shape of the phone ``classes`` (e.g. :data:`BILABIALS`): 1 on their
    own frames, ramping in and out (:func:`coarticulated_weights`)."""
    return coarticulated_weights(target_frames(phone_coverage(phones, classes)))


def nasals_heard_as_m(phones: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """(T, NUM_PHONES) phone features with the :data:`NASALS` of the ``frames`` (T,) bool heard as M instead: the
    frames where another cue (the lips a model predicts from the sound) says the nasal was made with shut lips."""
    phones = np.array(phones, np.float64)
    frames = np.asarray(frames, bool)
    columns = np.array([PHONE_INDEX[phone] for phone in NASALS])
    phones[frames, PHONE_INDEX["M"]] += phones[np.ix_(frames, columns)].sum(1)
    phones[np.ix_(frames, columns)] = 0.0
    return phones


def labiodental_shape(closed: np.ndarray, gap: float = LABIODENTAL_GAP) -> np.ndarray:
    """(20, 2): the shut mouth with the upper inner lip lifted by ``gap`` (the lower lip at the upper teeth)."""
    shape = np.array(closed, np.float64, copy=True)
    shape[list(UPPER_INNER_LIP), 1] -= gap
    return shape


def rounded(shapes: np.ndarray, mean: np.ndarray, weights: np.ndarray, width: float = ROUNDED_WIDTH) -> np.ndarray:
    """``shapes`` (T, 20, 2) narrowed about each frame's mouth centre towards ``width`` x the ``mean`` shape's width,
    by ``weights`` (T,); a mouth already narrower stays as it is."""
    shapes = np.array(shapes, np.float64, copy=True)
    mean_width = np.ptp(np.asarray(mean, np.float64)[:, 0])
    current = np.ptp(shapes[..., 0], axis=-1)
    scale = np.minimum(width * mean_width / np.maximum(current, 1e-9), 1.0)
    scale = 1 - np.asarray(weights, np.float64) * (1 - scale)
    centre = shapes[..., 0].mean(-1, keepdims=True)
    shapes[..., 0] = centre + (shapes[..., 0] - centre) * scale[:, None]
    return shapes


def _runs(own: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.r_[0, np.asarray(own, np.int8), 0]))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def vowel_stretch(
    opening: np.ndarray, phones: np.ndarray, loudness_db: np.ndarray | None = None, fps: float = 25.0
) -> np.ndarray:
    """(T,) how much to stretch each frame's mouth height about its shut shape (1: not at all) so that open vowels
    reach :data:`OPEN_VOWEL_OPENING` x the mean ``opening`` (T,) of the speaking frames, scaled by each vowel's
    loudness against the voice's median (``loudness_db`` (T,), optional) and by its duration; blended in and out like
    the other targets."""
    speaking = np.asarray(phones)[:, PHONE_INDEX["SIL"]] < 0.5
    if not speaking.any():
        return np.ones(len(opening))
    reference = float(np.mean(opening[speaking]))
    median_db = float(np.median(loudness_db[speaking])) if loudness_db is not None else 0.0
    own = target_frames(phone_coverage(phones, OPEN_VOWELS))
    extra = np.zeros(len(opening))
    for start, stop in _runs(own):
        loud = 1.0
        if loudness_db is not None:
            gain = 10 ** (LOUDNESS_EXPONENT * (float(np.mean(loudness_db[start:stop])) - median_db) / 20)
            loud = float(np.clip(gain, *LOUDNESS_RANGE))
        reach = min(1.0, (stop - start) / fps / FULL_VOWEL_SECONDS)
        target = OPEN_VOWEL_OPENING * reference * loud * reach
        needed = target / np.maximum(opening[start:stop], 1e-6)
        extra[start:stop] = np.clip(needed, 1.0, MAX_STRETCH) - 1.0
    scale = max(float(extra.max()), 1e-9)
    return 1.0 + scale * coarticulated_weights(extra / scale)


def stretched(shapes: np.ndarray, closed: np.ndarray, stretch: np.ndarray) -> np.ndarray:
    """``shapes`` (T, 20, 2) with their height about the ``closed`` shape's multiplied by ``stretch`` (T,)."""
    shapes = np.array(shapes, np.float64, copy=True)
    shapes[..., 1] = closed[:, 1] + (shapes[..., 1] - closed[:, 1]) * np.asarray(stretch)[:, None]
    return shapes


def _blend(shapes: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return (1 - weights[:, None, None]) * shapes + weights[:, None, None] * target


def articulate(
    shapes: np.ndarray, phones: np.ndarray, targets: VisemeTargets, loudness_db: np.ndarray | None = None
) -> np.ndarray:
    """(T, 20, 2) mouth shapes with the visemes of ``phones`` (T, NUM_PHONES) imposed (see the module docstring):
    open vowels and rounding first, then labiodentals, then closures, so that a closure always ends shut.
    ``loudness_db`` (T,): the voice's level per frame (:func:`talkhead.processing.audio.frame_rms` in dB), which
    scales the open vowels; without it every vowel counts as of median loudness."""
    shapes = np.asarray(shapes, np.float64)
    if len(phones) != len(shapes):
        raise ValueError(f"phones cover {len(phones)} frames, the mouth shapes {len(shapes)}")
    closed = np.asarray(targets.closed, np.float64)
    weights = {
        name: viseme_weights(phones, classes)
        for name, classes in (("round", ROUNDED), ("teeth", LABIODENTALS), ("shut", BILABIALS))
    }
    opening = shape_inner_lip_opening(shapes) - shape_inner_lip_opening(closed)
    shapes = stretched(shapes, closed, vowel_stretch(opening, phones, loudness_db))
    shapes = rounded(shapes, targets.mean, weights["round"])
    shapes = _blend(shapes, labiodental_shape(closed), LABIODENTAL_WEIGHT * weights["teeth"])
    return _blend(shapes, closed, weights["shut"])


__all__ = [
    "BILABIALS",
    "LABIODENTALS",
    "NASALS",
    "OPEN_VOWELS",
    "ROUNDED",
    "VisemeTargets",
    "articulate",
    "coarticulated_weights",
    "nasals_heard_as_m",
    "phone_coverage",
    "target_frames",
    "viseme_weights",
]
