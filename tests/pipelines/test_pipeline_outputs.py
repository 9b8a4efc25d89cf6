"""What ``pipeline("lip-sync")`` and ``pipeline("talking-head")`` return: arrays, and without ``output=`` the
frames, with no file left behind."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest

from talkhead.errors import TalkheadInputError
from talkhead.io.video import read_video

from ..conftest import speech_like, talking_video, write_wav


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """The folder Python's ``tempfile`` writes to, for this test alone."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture(scope="module")
def lip_syncer(tmp_path_factory):
    """``pipeline("lip-sync")`` with a tiny random mouth-motion model (mel only: no phone recogniser)."""
    import torch
    from transformers import pipeline

    import talkhead.pipelines  # noqa: F401  (registers the tasks)
    from talkhead.models.mouth_motion import MouthMotionConfig, MouthMotionModel

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("mouth motion")
    MouthMotionModel(MouthMotionConfig.from_preset("tiny", use_phones=False, output_gain=30.0)).save_pretrained(folder)
    return pipeline("lip-sync", model=str(folder))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, astronaut):
    folder = tmp_path_factory.mktemp("inputs")
    return {
        "video": str(talking_video(folder / "video.mp4", astronaut, num_frames=25)),
        "audio": str(write_wav(folder / "speech.wav", speech_like(1.0))),
    }


def test_lip_sync_without_output_returns_the_frames_and_leaves_no_file(lip_syncer, inputs, scratch, tmp_path):
    report = lip_syncer(inputs, progress=False)
    frames = report["video_frames"]
    assert report["video"] is None and list(scratch.iterdir()) == []
    assert isinstance(frames, np.ndarray) and frames.dtype == np.uint8 and frames.shape == (25, 256, 256, 3)
    written = lip_syncer(inputs, output=str(tmp_path / "dubbed.mp4"), progress=False)
    assert written["video"] == str(tmp_path / "dubbed.mp4") and written["video_frames"] is None
    np.testing.assert_array_equal(read_video(written["video"], fps=written["fps"]), frames)  # the file's frames


def test_a_failed_run_without_output_leaves_no_folder(lip_syncer, inputs, scratch, tmp_path):
    too_short = write_wav(tmp_path / "short.wav", speech_like(0.05))
    with pytest.raises(TalkheadInputError):
        lip_syncer({"video": inputs["video"], "audio": str(too_short)}, progress=False)
    assert list(scratch.iterdir()) == []


def test_talking_head_landmarks_are_an_array_and_frames_come_back(generator_path, photo, scratch):
    from transformers import pipeline

    import talkhead.pipelines  # noqa: F401  (registers the tasks)

    animator = pipeline("talking-head", model=str(generator_path), mouth_model=None, mouth_interior=None)
    report = animator({"image": str(photo), "audio": speech_like(1.0)}, progress=False, repaint=False)
    landmarks, frames = report["landmarks"], report["video_frames"]
    assert isinstance(landmarks, np.ndarray) and landmarks.dtype == np.float32 and landmarks.shape == (25, 68, 2)
    assert report["video"] is None and list(scratch.iterdir()) == []
    assert frames.dtype == np.uint8 and frames.shape[0] == 25 and frames.shape[3] == 3
