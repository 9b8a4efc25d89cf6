"""Articulation measures on hand-made landmark sequences: closures, labiodental contact, rounding, opening, flicker."""

import numpy as np
import pytest

from talkhead.errors import TalkheadInputError
from talkhead.metrics.articulation import (
    ClipArticulation,
    MeanComparison,
    aggregate_articulation,
    articulation,
    lip_rounding,
    mouth_flicker_ratio,
    mouth_width,
    open_vowel_opening,
)
from talkhead.metrics.lip_contacts import (
    SegmentCount,
    bilabial_closure,
    bilabial_closure_of_openings,
    closed_level,
    count_bilabial_closures,
    count_labiodental_contacts,
    labiodental_bar,
    labiodental_contact,
)
from talkhead.metrics.mouth_quality import mouth_flicker
from talkhead.metrics.phone_frames import phone_frame_ranges, segment_frames
from talkhead.processing.mouth import FACE_TEMPLATE, STABLE_POINTS, inner_lip_opening
from talkhead.processing.phones import PhoneSegment

FRAME = 0.04  # seconds at 25 fps
MOUTH_Y = 0.95  # face-frame height of the lip line, below the eye centres
OPEN, SHUT = 0.15, 0.0  # inner-lip openings, inter-ocular units


def _face(opening=OPEN, width=0.5, lips_lowered=0.0, scale=100.0, origin=(200.0, 150.0)) -> np.ndarray:
    """(68, 2) pixels: a frontal face with eye centres ``scale`` px apart, its inner lips ``opening`` apart (in
    inter-ocular units) about the lip line, lowered by ``lips_lowered``, its mouth ``width`` wide."""
    points = np.zeros((68, 2))
    for index, position in zip(STABLE_POINTS, FACE_TEMPLATE, strict=True):
        points[index] = position
    for eye, x in ((range(36, 42), -0.5), (range(42, 48), 0.5)):
        points[list(eye)] = [[x + 0.15 * np.cos(a), 0.05 * np.sin(a)] for a in np.linspace(0, 2 * np.pi, 7)[:-1]]
    points[36], points[39], points[42], points[45] = FACE_TEMPLATE[9:13]
    points[:27] = [[np.cos(a), 0.4 + 0.8 * np.sin(a)] for a in np.linspace(-0.3, np.pi + 0.3, 27)]  # jaw, brows
    line, half = MOUTH_Y + lips_lowered, width / 2
    top, bottom = line - opening / 2, line + opening / 2
    outer = np.linspace(-half, half, 7)
    points[48:55] = [[x, top - 0.08 * (1 - (x / half) ** 2)] for x in outer]  # 48 corner, upper outer lip, 54 corner
    points[55:60] = [[x, bottom + 0.1 * (1 - (x / half) ** 2)] for x in outer[1:-1][::-1]]  # lower outer lip
    points[48, 1] = points[54, 1] = line
    inner = np.linspace(-0.8 * half, 0.8 * half, 5)
    points[60], points[64] = [inner[0], line], [inner[-1], line]
    points[61:64] = [[x, top] for x in inner[1:-1]]
    points[65:68] = [[x, bottom] for x in inner[1:-1][::-1]]
    return points * scale + np.asarray(origin)


def _speech(*spec: tuple[str, int]) -> tuple[list[PhoneSegment], list[str]]:
    """Consecutive segments of (phone, frames) at 25 fps, and the phone shown on each frame."""
    segments, frames, start = [], [], 0
    for phone, count in spec:
        segments.append(PhoneSegment(phone, start * FRAME, (start + count) * FRAME))
        frames += [phone] * count
        start += count
    return segments, frames


# a second of speech: silence, then vowels between bilabials (each two frames), an F, and a rounded vowel
SEGMENTS, FRAME_PHONES = _speech(
    ("SIL", 5),
    ("AA", 4),
    ("P", 2),
    ("AE", 4),
    ("B", 2),
    ("AH", 4),
    ("M", 2),
    ("OW", 3),
    ("F", 2),
    ("EH", 4),
    ("P", 1),  # a 40 ms P is still a bilabial to score; a 30 ms one is not (in the silence, below)
    ("AA", 4),
    ("SIL", 4),
)
SEGMENTS = [*SEGMENTS[:-1], PhoneSegment("P", 1.48, 1.51), PhoneSegment("SIL", 1.51, 1.64)]


def _clip(shape_of_phone, shift=0) -> np.ndarray:
    """(T, 68, 2): each frame's face from its phone (``shape_of_phone(phone) -> dict`` of :func:`_face` arguments),
    the video ``shift`` frames ahead of the audio (positive: frame i shows the phone of frame i + shift)."""
    phones = (
        FRAME_PHONES[shift:] + [FRAME_PHONES[-1]] * shift
        if shift >= 0
        else [FRAME_PHONES[0]] * -shift + FRAME_PHONES[:shift]
    )
    return np.stack([_face(**shape_of_phone(phone)) for phone in phones])


def _speaker(phone: str) -> dict:
    """A speaker whose lips shut on bilabials and silence, whose lower lip comes up on F, who rounds on OW."""
    if phone in ("SIL", "P", "B", "M"):
        return {"opening": SHUT}
    if phone == "F":
        return {"opening": 0.01}
    if phone == "OW":
        return {"opening": 0.08, "width": 0.35}
    return {"opening": OPEN}


def _never_closing(phone: str) -> dict:
    return {**_speaker(phone), "opening": max(_speaker(phone)["opening"], 0.08)}


REAL = _clip(_speaker)


def test_synthetic_face_measures_what_it_was_built_with():
    assert inner_lip_opening(_face(opening=0.12)) == pytest.approx(0.12, rel=0.02)
    assert mouth_width(_face(width=0.4)) == pytest.approx(0.4, rel=0.02)


def test_a_segment_covers_the_frames_whose_centre_falls_inside_it():
    assert segment_frames(PhoneSegment("P", 0.0, 0.04)) == range(0, 1)
    assert segment_frames(PhoneSegment("P", 0.02, 0.06)) == range(0, 1)  # the start is inside, the end is not
    assert len(segment_frames(PhoneSegment("P", 0.03, 0.05))) == 0  # between two frame centres
    assert segment_frames(PhoneSegment("P", 0.1, 0.2)) == range(2, 5)  # 0.1 * 25 is 2.5000000000000004
    assert segment_frames(PhoneSegment("P", 0.1, 0.2), fps=50) == range(5, 10)


def test_positive_offset_moves_the_frames_earlier_for_a_video_that_leads_its_audio():
    segment = PhoneSegment("P", 0.4, 0.48)  # frames 10 and 11 of the audio
    assert segment_frames(segment, offset=3) == range(7, 9)
    assert segment_frames(segment, offset=-2) == range(12, 14)
    with pytest.raises(TalkheadInputError, match="whole number of frames"):
        segment_frames(segment, offset=1.5)


def test_frame_ranges_keep_long_enough_segments_wholly_inside_the_clip():
    ranges = phone_frame_ranges(SEGMENTS, ("P", "B", "M"), len(REAL), min_seconds=0.04)
    assert ranges == [range(9, 11), range(15, 17), range(21, 23), range(32, 33)]  # not the 30 ms P
    assert phone_frame_ranges(SEGMENTS, ("P",), len(REAL)) == [range(9, 11), range(32, 33), range(37, 38)]
    assert phone_frame_ranges(SEGMENTS, ("P",), 30) == [range(9, 11)]  # the other Ps end past frame 30
    # 10 frames earlier the first P would start before the clip
    assert phone_frame_ranges(SEGMENTS, ("P",), 30, offset=10) == [range(22, 23), range(27, 28)]


def test_closed_level_is_a_low_percentile_of_the_real_opening_plus_a_tolerance():
    assert closed_level(REAL) == pytest.approx(0.02, abs=1e-6)  # over a tenth of the frames are shut
    assert closed_level(REAL, percentile=50, tolerance=0.0) == pytest.approx(np.median(inner_lip_opening(REAL)))
    holed = REAL.copy()
    holed[:3] = np.nan  # frames without a face are left out
    assert closed_level(holed) == pytest.approx(0.02, abs=1e-6)
    with pytest.raises(TalkheadInputError, match="no frame with a face"):
        closed_level(np.full((4, 68, 2), np.nan))
    with pytest.raises(TalkheadInputError, match="real landmarks must be"):
        closed_level(REAL[:, :20])


def test_a_mouth_that_shuts_on_its_bilabials_scores_one_and_one_that_never_shuts_zero():
    closure = bilabial_closure(REAL, _clip(_never_closing), SEGMENTS)
    assert (closure.real.hits, closure.real.total, closure.real.rate) == (4, 4, 1.0)
    assert (closure.generated.hits, closure.generated.total, closure.generated.rate) == (0, 4, 0.0)
    level = closed_level(REAL)
    assert closure.closed_level == level
    assert count_bilabial_closures(REAL, SEGMENTS, level) == closure.real  # one clip at a time, the same bar
    assert count_bilabial_closures(_clip(_never_closing), SEGMENTS, level) == closure.generated


def test_a_closure_that_touches_the_segment_widened_by_a_frame_counts():
    assert bilabial_closure(REAL, _clip(_speaker, shift=-1), SEGMENTS).generated.rate == 1.0  # a frame late
    assert bilabial_closure(REAL, _clip(_speaker, shift=-3), SEGMENTS).generated.rate == 0.0  # three frames late


def test_the_offset_undoes_a_real_clip_that_leads_its_audio():
    openings = np.full(40, OPEN)
    openings[20:22] = SHUT  # the mouth shuts on frames 20 and 21...
    leading = np.stack([_face(opening=opening) for opening in openings])
    said = [PhoneSegment("P", 23 * FRAME, 25 * FRAME)]  # ...and the audio says P on frames 23 and 24: 3 frames later
    rates = {offset: count_bilabial_closures(leading, said, 0.02, offset=offset).rate for offset in (-3, 0, 3)}
    assert rates == {-3: 0.0, 0: 0.0, 3: 1.0}
    # in a pair the offset moves the real clip alone
    closure = bilabial_closure(_clip(_speaker, shift=3), REAL, SEGMENTS, offset=3)
    assert closure.real == closure.generated and closure.real.rate == 1.0
    # without it only the M passes, its window reaching the F's nearly shut lips
    assert bilabial_closure(_clip(_speaker, shift=3), REAL, SEGMENTS).real == SegmentCount(1, 4)


def test_a_shorter_or_faceless_generated_clip_is_scored_on_the_segments_both_clips_show():
    closure = bilabial_closure(REAL, _clip(_never_closing)[:20], SEGMENTS)
    assert closure.real.total == closure.generated.total == 2  # the bilabials inside the first 20 frames
    faceless = _clip(_speaker)
    faceless[14:18] = np.nan  # no face around the B
    closure = bilabial_closure(REAL, faceless, SEGMENTS)
    assert closure.real == closure.generated and closure.real.total == 3


def test_closures_from_openings_are_the_closures_of_the_landmarks_that_have_them():
    """Another tracker's openings score as dlib's landmarks do: the same bar and counts from the openings alone."""
    shifted = _clip(_speaker, shift=-1)
    faceless = _clip(_speaker)
    faceless[14:18] = np.nan
    for generated, offset in ((_clip(_never_closing), 0), (shifted, 0), (faceless, 0), (REAL, 3)):
        from_landmarks = bilabial_closure(REAL, generated, SEGMENTS, offset=offset)
        opening = inner_lip_opening(generated)
        assert bilabial_closure_of_openings(inner_lip_opening(REAL), opening, SEGMENTS, offset=offset) == from_landmarks
    with pytest.raises(TalkheadInputError, match="no frame with a face"):
        bilabial_closure_of_openings(np.full(10, np.nan), np.zeros(10), SEGMENTS)


def test_labiodental_contact_needs_a_small_gap_and_a_raised_lower_lip():
    def open_on_f(phone):
        return {**_speaker(phone), "opening": OPEN} if phone == "F" else _speaker(phone)

    def lips_lowered_on_f(phone):  # lips near each other, but the upper lip came down to a low lower lip
        return {**_speaker(phone), "lips_lowered": 0.1} if phone == "F" else _speaker(phone)

    contact = labiodental_contact(REAL, _clip(open_on_f), SEGMENTS)
    assert (contact.real.hits, contact.real.total) == (1, 1)
    assert (contact.generated.hits, contact.generated.total) == (0, 1)
    assert labiodental_contact(REAL, _clip(lips_lowered_on_f), SEGMENTS).generated.rate == 0.0
    bar = labiodental_bar(REAL)
    median = np.median(inner_lip_opening(REAL))
    assert bar == contact.bar and bar.gap == pytest.approx(0.02 + 0.5 * (median - 0.02))
    assert bar.lower_lip == pytest.approx(MOUTH_Y + 0.5 * (median - 0.02))  # the shut lower lip, plus the margin
    assert count_labiodental_contacts(REAL, SEGMENTS, bar).rate == 1.0


def test_rounding_ratio_is_one_for_the_same_mouth_and_above_one_for_a_wider_one():
    same = lip_rounding(REAL, REAL.copy(), SEGMENTS)
    assert same.ratio == 1.0 and same.frames == 3 and same.real == pytest.approx(0.35, rel=0.02)
    wider = lip_rounding(REAL, _clip(lambda phone: {**_speaker(phone), "width": 0.5}), SEGMENTS)
    assert wider.ratio == pytest.approx(0.5 / 0.35, rel=0.02)
    # only the rounded frames count: a mouth wider everywhere else rounds as much
    elsewhere = _clip(lambda phone: _speaker(phone) if phone == "OW" else {**_speaker(phone), "width": 0.6})
    assert lip_rounding(REAL, elsewhere, SEGMENTS).ratio == 1.0


def test_open_vowel_opening_ratio():
    assert open_vowel_opening(REAL, REAL, SEGMENTS).ratio == 1.0
    half = _clip(lambda phone: {**_speaker(phone), "opening": _speaker(phone)["opening"] / 2})
    result = open_vowel_opening(REAL, half, SEGMENTS)
    assert result.ratio == pytest.approx(0.5) and result.frames == 20
    assert np.isnan(open_vowel_opening(REAL, REAL, [PhoneSegment("P", 0.0, 1.0)]).ratio)  # no open vowel


def _video(count=6, seed=0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 255, (count, 64, 64, 3), dtype=np.uint8)
    landmarks = np.stack([_face(scale=30.0, origin=(32.0, 15.0))] * count)
    return frames, landmarks


def test_flicker_ratio_is_one_for_identical_frames_and_above_one_for_a_flickering_mouth():
    frames, landmarks = _video()
    same = mouth_flicker_ratio(frames, landmarks, frames.copy(), landmarks)
    assert same.ratio == 1.0 and same.frames == 5
    still = np.repeat(frames[:1], 6, axis=0)
    assert mouth_flicker(still, landmarks) == 0.0
    assert mouth_flicker_ratio(still, landmarks, frames, landmarks).real == 0.0
    assert np.isnan(mouth_flicker_ratio(still, landmarks, frames, landmarks).ratio)  # nothing to compare against
    smooth = still // 2 + np.arange(6, dtype=np.uint8)[:, None, None, None]  # one grey level a frame
    flicker = mouth_flicker_ratio(smooth, landmarks, frames, landmarks)
    assert flicker.real == pytest.approx(1.0, abs=0.01) and flicker.ratio > 20
    assert mouth_flicker_ratio(frames, landmarks, frames[:4], landmarks).frames == 3  # the common length
    outside = frames.copy()
    outside[:, :30] = 0  # the mouth box lies in the lower half: the rest of the frame does not count
    assert mouth_flicker_ratio(frames, landmarks, outside, landmarks).ratio == 1.0
    with pytest.raises(TalkheadInputError, match="generated frames must be"):
        mouth_flicker_ratio(frames, landmarks, frames.astype(np.float32), landmarks)


def test_one_clip_and_many_clips():
    frames = np.random.default_rng(0).integers(0, 255, (len(REAL), 300, 300, 3), dtype=np.uint8)
    clip = articulation(REAL, _clip(_never_closing), SEGMENTS, real_frames=frames, generated_frames=frames)
    assert clip.bilabial_closure.generated.rate == 0.0 and clip.mouth_flicker is not None
    assert articulation(REAL, REAL, SEGMENTS).mouth_flicker is None
    nan = MeanComparison(float("nan"), float("nan"), 0)
    shut = articulation(REAL, REAL, SEGMENTS)
    unfinished = ClipArticulation(
        clip.bilabial_closure, clip.labiodental_contact, MeanComparison(1.0, 3.0, 5), nan, None
    )
    summary = aggregate_articulation([clip, shut, unfinished])
    assert summary["clips"] == 3
    closure = summary["bilabial_closure"]
    assert (closure["real_hits"], closure["generated_hits"], closure["segments"]) == (12, 4, 12)
    assert closure["real_rate"] == 1.0 and closure["generated_rate"] == pytest.approx(1 / 3)
    assert summary["rounding"] == {"median_ratio": 1.0, "clips": 3}  # median of 1, 1 and 3
    assert summary["open_vowel_opening"]["clips"] == 2  # the NaN ratio is left out
    assert summary["mouth_flicker"]["clips"] == 1
    assert summary["mouth_flicker"]["median_ratio"] == pytest.approx(1.0, abs=0.05)  # boxes a little apart
    assert aggregate_articulation([])["bilabial_closure"]["segments"] == 0


def test_shut_teeth_sees_a_band_of_teeth_that_the_landmarks_call_shut():
    from talkhead.metrics.articulation import shut_teeth

    segments, _ = _speech(("AA", 4), ("P", 3), ("AA", 4))
    landmarks = np.stack([_face(SHUT)] * 11)
    lips = np.zeros((11, 300, 400, 3), np.uint8)
    lips[:] = (150, 70, 70)  # lip red: not teeth
    teeth = lips.copy()
    line = int(MOUTH_Y * 100 + 150)
    teeth[:, line - 3 : line + 4, 160:240] = 235  # a band of white between lips whose points meet
    shown = shut_teeth(lips, landmarks, teeth, landmarks, segments)
    assert shown.real == 0.0 and shown.generated > 0.1 and shown.frames == 3
