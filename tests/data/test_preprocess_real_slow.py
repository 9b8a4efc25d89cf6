"""`talkhead preprocess --faces` on all of ../shared/data/raw: every clip holds its arrays in the documented shapes
and a face is found in at least 95 % of frames (about 2 minutes on 2 cores): `pytest -m slow`."""

import numpy as np
import pytest

from talkhead.cli import main
from talkhead.data.clips import iter_clips, load_dataset_dict

from ..conftest import REAL_DATA, requires_real_data


@pytest.mark.slow
@requires_real_data
def test_preprocess_all_real_clips_with_faces(tmp_path, capsys):
    out = tmp_path / "x"
    assert (
        main(
            [
                "preprocess",
                str(REAL_DATA),
                "--output",
                str(out),
                "--faces",
                "--quiet",
                "--test-sources",
                "bytedance__LatentSync",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    dataset = load_dataset_dict(out)
    assert set(dataset) == {"train", "test"}
    assert set(dataset["test"]["source"]) == {"bytedance__LatentSync"}
    frames = found = 0
    for split in dataset.values():
        for clip in iter_clips(split):
            T = clip.num_frames
            assert T >= 25 and clip.fps == 25
            assert clip.landmarks.shape == (T, 68, 2) and clip.landmarks.dtype == np.float32
            assert np.isfinite(clip.landmarks).all() and clip.landmarks.min() >= 0 and clip.landmarks.max() < 1
            assert clip.face_found.dtype == bool and clip.face_found.shape == (T,)
            assert clip.audio.shape == (640 * T,) and np.abs(clip.audio).max() <= 1.0
            assert clip.logfbank.shape == (4 * T, 26) and clip.mel.shape == (1 + 640 * T // 200, 80)
            assert clip.face_boxes.shape == (T, 4) and clip.clip_box.shape == (4,)
            assert clip.faces.shape == (T, 96, 96, 3) and clip.faces.dtype == np.uint8
            frames += T
            found += int(clip.face_found.sum())
    assert found / frames >= 0.95
    assert frames > 15000  # about 11 minutes of video
    assert "face-found rate" in printed
