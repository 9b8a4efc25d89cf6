"""The cleaning filters of preprocessing: scene cuts, small faces, audio-video offsets (undone or dropped), counted."""

import numpy as np
import pytest

from talkhead.data import clip_rows
from talkhead.data.clip_rows import PreprocessOptions, process_clip
from talkhead.data.discovery import discover
from talkhead.data.filters import face_sizes, scene_cuts, shifted_ranges, split_at
from talkhead.processing import audio as audio_lib

from ..conftest import talking_video


def face_track(frames: int = 60, jump_at: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.uniform(100, 200, (68, 2))
    track = np.stack([base + [0.5 * t, 0.2 * t] for t in range(frames)])  # a head drifting half a pixel a frame
    if jump_at is not None:
        track[jump_at:] += [150, 0]  # another shot: the face elsewhere
    return track


def test_scene_cuts_find_a_jump_and_nothing_in_smooth_motion():
    found = np.ones(60, bool)
    assert scene_cuts(face_track(), found, 0.3) == []
    assert scene_cuts(face_track(jump_at=25), found, 0.3) == [25]
    assert scene_cuts(face_track(jump_at=25), found, 0) == []  # off
    found[23:25] = False  # a jump across a short detection gap is still a cut
    assert scene_cuts(face_track(jump_at=25), found, 0.3) == [25]
    grown = face_track()
    grown[40:] = grown[40:].mean(1, keepdims=True) + 2 * (grown[40:] - grown[40:].mean(1, keepdims=True))
    assert scene_cuts(grown, np.ones(60, bool), 0.3) == [40]  # a zoom-in cut: the face doubles


def test_split_sizes_and_shifts():
    assert split_at([(0, 50), (60, 90)], [20, 70, 95]) == [(0, 20), (20, 50), (60, 70), (70, 90)]
    assert np.allclose(face_sizes(np.array([[[0, 0], [10, 4]], [[0, 0], [3, 8]]])), [10, 8])
    assert shifted_ranges(10, 60, 3) == (13, 60, 10)  # the mouth 3 frames late: video from 13 with sound from 10
    assert shifted_ranges(10, 60, -2) == (10, 58, 12)
    assert shifted_ranges(10, 60, 0) == (10, 60, 10)


@pytest.fixture(scope="module")
def clip(tmp_path_factory, astronaut):
    root = tmp_path_factory.mktemp("clip")
    (root / "speaker").mkdir()
    talking_video(root / "speaker" / "talk.mp4", astronaut, num_frames=50)
    return discover([root]).clips[0]


def test_small_faces_are_dropped_and_counted(clip):
    rows, report = process_clip(clip, PreprocessOptions(min_face_size=10_000))
    assert rows == [] and "min_face_size=10000" in report.skipped
    assert report.filters["small_face"] == {"segments": 1, "frames": 50}
    rows, report = process_clip(clip, PreprocessOptions(min_face_size=20))
    assert len(rows) == 1 and "small_face" not in report.filters


@pytest.mark.parametrize("offset", [2, -3])
def test_a_small_offset_is_undone(clip, monkeypatch, offset):
    reference, _ = process_clip(clip, PreprocessOptions())
    monkeypatch.setattr(clip_rows, "av_offset", lambda *args: {"offset": offset, "confidence": 0.9})
    rows, report = process_clip(clip, PreprocessOptions(), expert=object())
    assert report.filters["av_offset"] == {"measured": 1, "unmeasured": 0, "shifted": 1}
    (row,), (whole,) = rows, reference
    frames, spf = len(whole["landmarks"]), audio_lib.SAMPLES_PER_FRAME
    assert len(row["landmarks"]) == frames - abs(offset) and len(row["audio"]) == (frames - abs(offset)) * spf
    kept = frames - abs(offset)
    video_start, _, audio_start = shifted_ranges(0, frames, offset)
    np.testing.assert_array_equal(row["face_found"], whole["face_found"][video_start : video_start + kept])
    np.testing.assert_array_equal(row["audio"], whole["audio"][audio_start * spf : (audio_start + kept) * spf])


def test_a_large_or_unsure_offset(clip, monkeypatch):
    monkeypatch.setattr(clip_rows, "av_offset", lambda *args: {"offset": 6, "confidence": 0.9})
    rows, report = process_clip(clip, PreprocessOptions(max_av_shift=3), expert=object())
    assert rows == [] and "max_av_shift=3" in report.skipped
    assert report.filters["av_offset"]["dropped"] == 1
    rows, report = process_clip(clip, PreprocessOptions(min_av_confidence=0.95), expert=object())
    assert len(rows) == 1 and report.filters["av_offset"]["unsure"] == 1  # not trusted: kept as filmed


def test_the_shipped_expert_measures_a_segment(clip):
    from talkhead.data.filters import av_offset

    options = PreprocessOptions(av_offset_model="mouth-sync", max_av_lag=5)
    expert = clip_rows.load_offset_expert(options)
    (row,), _ = process_clip(clip, PreprocessOptions())
    landmarks = row["landmarks"] * 256
    found = np.asarray(row["face_found"])
    measured = av_offset(expert, row["audio"], landmarks, found, 5)
    assert set(measured) == {"offset", "confidence"} and abs(measured["offset"]) <= 5
    assert av_offset(expert, row["audio"], landmarks[:30], found[:30], 5) is None  # too short to search ±5
    rows, report = process_clip(clip, options, expert=expert)
    assert report.filters["av_offset"]["measured"] == 1 and len(rows) == 1
