import numpy as np
import pytest

from talkhead.processing.mouth import shape_inner_lip_opening
from talkhead.processing.phones import PhoneSegment, segments_to_frames
from talkhead.processing.visemes import (
    OPEN_VOWEL_OPENING,
    ROUNDED_WIDTH,
    VisemeTargets,
    articulate,
    coarticulated_weights,
    labiodental_shape,
    nasals_heard_as_m,
    phone_coverage,
    target_frames,
)

FPS = 25.0


def _mouth(opening: float, width: float = 0.5) -> np.ndarray:
    """(20, 2) a face-frame mouth (points 48-67) centred at (0, 1.1): outer lips an ellipse, the inner lips
    ``opening`` apart."""
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    outer = np.stack([width / 2 * np.cos(np.pi - angles), 1.1 + (0.08 + opening / 2) * -np.sin(np.pi - angles)], 1)
    inner_x = width / 2 * 0.7 * np.cos(np.pi - np.linspace(0, 2 * np.pi, 8, endpoint=False))
    inner_y = np.array([0, -1, -1, -1, 0, 1, 1, 1]) * opening / 2 + 1.1
    return np.concatenate([outer, np.stack([inner_x, inner_y], 1)])


def _phones(*spec: tuple[str, int]) -> np.ndarray:
    """Phone features of phones each lasting a whole number of frames, in order."""
    segments, start = [], 0
    for phone, frames in spec:
        segments.append(PhoneSegment(phone, start / FPS, (start + frames) / FPS))
        start += frames
    return segments_to_frames(segments, start, FPS)


def test_the_test_mouth_has_the_opening_it_was_built_with():
    assert shape_inner_lip_opening(_mouth(0.2)) == pytest.approx(0.2)


def test_phone_coverage_and_the_frames_a_short_phone_owns():
    segments = [PhoneSegment("AA", 0.0, 0.1), PhoneSegment("P", 0.1, 0.14), PhoneSegment("AA", 0.14, 0.4)]
    phones = segments_to_frames(segments, 10, FPS)
    coverage = phone_coverage(phones, ("P", "B", "M"))
    assert coverage.sum() == pytest.approx(1.0)  # 40 ms is one frame's worth, split over two frames
    own = target_frames(coverage)
    assert own.sum() >= 1 and set(np.flatnonzero(own)) <= {2, 3}


def test_coarticulated_weights_ramp_in_before_and_out_after_a_target():
    own = np.zeros(9, bool)
    own[4] = True
    weights = coarticulated_weights(own, anticipation=(0.3, 0.7), carry_over=(0.6, 0.2))
    np.testing.assert_allclose(weights, [0, 0, 0.3, 0.7, 1, 0.6, 0.2, 0, 0])


def test_a_bilabial_between_vowels_ends_shut_on_the_closed_mouth_and_moves_smoothly():
    phones = _phones(("IH", 5), ("P", 2), ("IH", 5))
    shapes = np.repeat(_mouth(0.3)[None], 12, 0)
    closed = _mouth(0.0)
    out = articulate(shapes, phones, VisemeTargets(closed, _mouth(0.15)))
    opening = shape_inner_lip_opening(out)
    np.testing.assert_allclose(opening[5:7], 0.0, atol=1e-9)  # the P's own frames: the closed mouth itself
    assert opening[0] == pytest.approx(0.3) and opening[-1] == pytest.approx(0.3)  # far from it: untouched
    assert np.all(np.diff(opening[:6]) <= 1e-9) and np.all(np.diff(opening[6:]) >= -1e-9)  # closes, then opens


def test_nasals_marked_as_shut_are_heard_as_m_and_the_others_stay_nasals():
    heard = _phones(("IH", 3), ("N", 2), ("IH", 3), ("NG", 2))
    marked = np.zeros(10, bool)
    marked[3:5] = True
    relabelled = nasals_heard_as_m(heard, marked)
    np.testing.assert_allclose(relabelled[:8], _phones(("IH", 3), ("M", 2), ("IH", 3))[:8])
    np.testing.assert_allclose(relabelled[8:], heard[8:])  # an unmarked NG stays an NG
    shapes = np.repeat(_mouth(0.3)[None], 10, 0)
    closed = _mouth(0.0)
    out = articulate(shapes, relabelled, VisemeTargets(closed, _mouth(0.15)))
    np.testing.assert_allclose(shape_inner_lip_opening(out)[3:5], 0.0, atol=1e-9)


def test_without_visemes_in_the_speech_the_shapes_are_unchanged():
    phones = _phones(("IH", 4), ("S", 3), ("IY", 4))
    shapes = np.stack([_mouth(0.05 * i) for i in range(11)])
    np.testing.assert_allclose(articulate(shapes, phones, VisemeTargets(_mouth(0.0), _mouth(0.2))), shapes)


def test_rounding_narrows_a_wide_mouth_and_leaves_a_narrow_one():
    phones = _phones(("OW", 4))
    wide = np.repeat(_mouth(0.2, width=0.6)[None], 4, 0)
    out = articulate(wide, phones, VisemeTargets(_mouth(0.0), _mouth(0.1, width=0.6)))
    assert np.ptp(out[1, :, 0]) == pytest.approx(ROUNDED_WIDTH * 0.6)
    assert shape_inner_lip_opening(out[1]) == pytest.approx(0.2)  # rounding keeps the height
    narrow = np.repeat(_mouth(0.2, width=0.4)[None], 4, 0)
    np.testing.assert_allclose(articulate(narrow, phones, VisemeTargets(_mouth(0.0), _mouth(0.1, width=0.6))), narrow)


def test_a_labiodental_brings_the_lips_nearly_together_with_the_upper_lip_just_above():
    phones = _phones(("IH", 3), ("F", 3), ("IH", 3))
    out = articulate(np.repeat(_mouth(0.3)[None], 9, 0), phones, VisemeTargets(_mouth(0.0), _mouth(0.15)))
    assert shape_inner_lip_opening(out[4]) < 0.06
    assert shape_inner_lip_opening(labiodental_shape(_mouth(0.0))) == pytest.approx(0.02)


def test_phones_of_another_length_are_refused():
    with pytest.raises(ValueError, match="phones cover 3 frames"):
        articulate(np.zeros((4, 20, 2)), _phones(("AA", 3)), VisemeTargets(_mouth(0.0), _mouth(0.1)))


def test_open_vowels_drop_the_jaw_more_when_loud_and_less_when_short():
    phones = _phones(("IH", 4), ("AA", 4), ("IH", 4), ("AA", 1), ("IH", 4), ("AA", 4), ("IH", 4))
    shapes = np.repeat(_mouth(0.2)[None], len(phones), 0)
    loudness = np.full(len(phones), -20.0)
    loudness[17:21] = -17.0  # the third vowel 3 dB louder than the voice's median
    out = articulate(shapes, phones, VisemeTargets(_mouth(0.0), _mouth(0.1)), loudness)
    opening = shape_inner_lip_opening(out)
    assert opening[5] == pytest.approx(OPEN_VOWEL_OPENING * 0.2)  # a vowel of median loudness: 1.25 x the mean
    assert opening[18] == pytest.approx(OPEN_VOWEL_OPENING * 0.2 * 10 ** (0.5 * 3 / 20))  # louder opens further
    assert 0.2 < opening[12] < opening[5]  # a 40 ms vowel gets part of the way
    assert opening[0] == pytest.approx(0.2)  # far from a vowel: untouched
    wide = shapes.copy()
    wide[[4, 5, 6, 7, 12, 17, 18, 19, 20]] = _mouth(0.5)  # vowels already well above 1.25 x the mean: kept
    np.testing.assert_allclose(articulate(wide, phones, VisemeTargets(_mouth(0.0), _mouth(0.1)))[5], wide[5])
