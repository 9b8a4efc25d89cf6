"""TrackedClip: one decoding and tracking, the dataset's framing, and what preprocess stores."""

import numpy as np
import pytest

from talkhead.errors import NoFaceError
from talkhead.processing import audio as audio_lib
from talkhead.processing.face_crops import frame_clip
from talkhead.processing.tracked_clip import FrameBuffer, TrackedClip, track_clip

from ..conftest import talking_video, write_av


@pytest.fixture(scope="module")
def clip(tmp_path_factory, astronaut):
    return track_clip(
        talking_video(tmp_path_factory.mktemp("clip") / "talk.mp4", astronaut, num_frames=30), keep_frames=True
    )


def test_one_track_gives_framing_crops_and_mouth(clip):
    assert clip.num_frames == 30 and clip.found.all() and clip.frames.shape[0] == 30
    assert clip.faces.shape == (30, 96, 96, 3) and clip.faces.dtype == np.uint8
    assert clip.mouth_rois.shape == (30, 88, 88)
    framing = frame_clip(clip.pixels)
    np.testing.assert_array_equal(clip.landmarks, framing.landmarks)
    assert ((clip.landmarks > 0) & (clip.landmarks < 1)).all()  # inside the enlarged clip crop
    assert np.isfinite(clip.mouth_opening()).all()


def test_speech_is_fitted_to_whole_frames_and_cut_with_the_frames(clip):
    spoken = clip.with_audio(np.ones(10 * audio_lib.SAMPLES_PER_FRAME + 100, np.float32))
    assert spoken.audio_frames == 10 and spoken.logfbank.shape == (40, audio_lib.LOGFBANK_BANDS)
    longer = clip.with_audio(np.ones(100 * audio_lib.SAMPLES_PER_FRAME, np.float32))
    assert longer.audio_frames == 30  # never longer than the video
    cut = longer.cut(12)
    assert (cut.num_frames, cut.audio_frames, len(cut.frames)) == (12, 12, 12)
    assert cut.framing is not longer.framing  # derived anew from the frames kept


def test_short_gaps_are_filled_and_long_ones_stay_missing():
    landmarks = np.tile(np.arange(136, dtype=np.float32).reshape(68, 2), (10, 1, 1))
    found = np.array([1, 0, 0, 1, 0, 0, 0, 1, 1, 1], bool)
    clip = TrackedClip("x", np.where(found[:, None, None], landmarks, np.nan), found, 25.0)
    filled, valid = clip.short_gaps_filled()
    assert valid.tolist() == [1, 1, 1, 1, 0, 0, 0, 1, 1, 1] and np.isnan(filled[4:7]).all()
    assert np.isfinite(clip.pixels).all()  # every gap filled for the metrics


def test_no_face_is_an_error_only_when_one_is_needed(tmp_path):
    wall = write_av(tmp_path / "wall.mp4", [np.full((64, 64, 3), 128, np.uint8)] * 5, 25)
    clip = track_clip(wall)
    assert not clip.found.any()
    with pytest.raises(NoFaceError, match="no face found in any of the 5 frames"):
        clip.check_face()


def test_frame_buffer_grows_in_place_and_keeps_every_frame():
    frames = [np.full((3, 4, 3), index, np.uint8) for index in range(30)]
    buffer = FrameBuffer(2)  # the estimate is short: it grows
    for frame in frames:
        buffer.append(frame)
    stacked = buffer.array()
    assert stacked.shape == (30, 3, 4, 3) and stacked.flags.owndata and np.array_equal(stacked, np.stack(frames))
    mixed = FrameBuffer(4)
    mixed.append(frames[0])
    with pytest.raises(ValueError):  # frames of another size fail, as np.stack would
        mixed.append(np.zeros((5, 4, 3), np.uint8))
