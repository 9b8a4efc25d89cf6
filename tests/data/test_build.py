import json
import subprocess
import sys
import time

import numpy as np
import pytest

from talkhead.cli import main
from talkhead.data import clip_rows
from talkhead.data.build import PreprocessOptions, build_dataset
from talkhead.data.clips import iter_clips, load_dataset_dict, read_clip
from talkhead.errors import TalkheadInputError
from talkhead.processing.landmarks import denormalize_landmarks

from ..conftest import REAL_DATA, requires_real_data, talking_video, write_av, write_wav


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory, astronaut):
    root = tmp_path_factory.mktemp("videos")
    for source, names in {"speaker_a": ["a1", "a2"], "speaker_b": ["b1"]}.items():
        (root / source).mkdir()
        for name in names:
            talking_video(root / source / f"{name}.mp4", astronaut, num_frames=40, fps=30 if name == "a2" else 25)
    (root / "speaker_c").mkdir()
    write_av(
        root / "speaker_c" / "no_face.mp4",
        [np.full((128, 128, 3), 90, np.uint8)] * 30,
        25,
        np.random.default_rng(0).standard_normal(19200).astype(np.float32) * 0.1,
    )
    talking_video(root / "speaker_c" / "mute.mp4", astronaut, num_frames=30, with_audio=False)
    write_wav(root / "speaker_c" / "mute.wav", np.zeros(19200, np.float32))
    return root


@pytest.fixture(scope="module")
def built(clip_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "dataset"
    summary = build_dataset(
        [clip_folder],
        out,
        options=PreprocessOptions(faces=True, phones=True, mouths=True),
        test_sources=["speaker_b"],
        progress=False,
    )
    return out, summary


def test_dataset_follows_the_data_contract(built):
    out, _ = built
    dataset = load_dataset_dict(out)
    assert set(dataset) == {"train", "test"}
    assert sorted(dataset["train"]["clip_id"]) == ["a1", "a2"] and dataset["test"]["clip_id"] == ["b1"]
    for clip in iter_clips(dataset["train"]):
        T = clip.num_frames
        assert clip.fps == 25
        assert clip.landmarks.shape == (T, 68, 2) and clip.landmarks.dtype == np.float32
        assert 0 <= clip.landmarks.min() and clip.landmarks.max() < 1
        assert clip.face_found.shape == (T,) and clip.face_found.all()
        assert clip.audio.shape == (640 * T,) and clip.audio.dtype == np.float32
        assert clip.logfbank.shape == (4 * T, 26) and clip.mel.shape == (1 + 640 * T // 200, 80)
        assert clip.face_boxes.shape == (T, 4) and clip.clip_box.shape == (4,)
        assert clip.faces.shape == (T, 96, 96, 3) and clip.faces.dtype == np.uint8
        side = clip.clip_box[2] - clip.clip_box[0]
        assert side == pytest.approx(clip.clip_box[3] - clip.clip_box[1])
        assert clip.faces.mean() > 40  # real pixels, not the zero fill
        assert clip.phones.shape == (T, 40) and np.allclose(clip.phones.sum(1), 1, atol=1e-5)
        assert clip.mouths.shape == (T, 64, 64, 3) and clip.mouths.dtype == np.uint8 and clip.mouths.mean() > 40
        pixels = denormalize_landmarks(clip.landmarks, clip.clip_box)
        centres = (clip.mouth_boxes[:, :2] + clip.mouth_boxes[:, 2:]) / 2
        np.testing.assert_allclose(centres, pixels[:, 48:68].mean(1), atol=2.0)  # boxes on the mouth


def test_30_fps_source_is_resampled_to_25(built):
    out, _ = built
    dataset = load_dataset_dict(out)["train"]
    lengths = dict(
        zip(dataset["clip_id"], (read_clip(dataset, i).num_frames for i in range(len(dataset))), strict=True)
    )
    assert lengths["a1"] == 40
    # 40 frames at 30 fps last 1.333 s: 34 frames at 25 fps (k / 25 < 1.333), but the audio covers 33.3
    # frames, and rows keep only frames with audio
    assert lengths["a2"] == 33


def test_summary_reports_skips_and_totals(built):
    out, summary = built
    assert summary.splits == {"train": 2, "test": 1}
    assert summary.frames == 40 + 33 + 40
    assert summary.face_found_rate > 0.8
    reasons = {path.split("/")[-1]: reason for path, reason in summary.skipped()}
    assert reasons == {"no_face.mp4": "no face found in any frame", "mute.mp4": "the audio is silent"}
    saved = json.loads((out / "talkhead_preprocess.json").read_text())
    assert saved["rows"] == 3 and len(saved["skipped"]) == 2


def test_parallel_workers_give_the_same_rows(clip_folder, tmp_path, built):
    out, _ = built
    parallel = build_dataset([clip_folder / "speaker_a"], tmp_path / "p", num_proc=2, progress=False)
    assert parallel.splits == {"train": 2}
    serial = load_dataset_dict(out)["train"]
    again = load_dataset_dict(tmp_path / "p")["train"]
    by_id = {c.clip_id: c for c in iter_clips(serial)}
    for clip in iter_clips(again):
        np.testing.assert_allclose(clip.landmarks, by_id[clip.clip_id].landmarks, atol=1e-6)
        np.testing.assert_array_equal(clip.logfbank, by_id[clip.clip_id].logfbank)


def test_a_failed_run_leaves_nothing_behind(clip_folder, tmp_path, monkeypatch):
    calls = []

    def exploding_row(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_row(*args, **kwargs)

    real_row = clip_rows._row
    monkeypatch.setattr(clip_rows, "_row", exploding_row)
    with pytest.raises(Exception, match="disk full"):
        build_dataset([clip_folder / "speaker_a"], tmp_path / "out", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_the_cache_of_a_run_killed_with_sigkill_is_removed_by_the_next_run(clip_folder, tmp_path):
    """``kill -9`` skips every clean-up: the next run over the same output removes what the dead one left."""
    script = (
        "import sys, time; from talkhead.data import clip_rows; from talkhead.data.build import build_dataset\n"
        "real = clip_rows._row\n"
        "def slow(*a, **k):\n    row = real(*a, **k); time.sleep(60); return row\n"
        "clip_rows._row = slow\n"
        "build_dataset([sys.argv[1]], sys.argv[2], progress=False)\n"
    )
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-c", script, str(clip_folder / "speaker_a"), str(out)])
    try:
        deadline = time.monotonic() + 60
        while not [p for p in tmp_path.iterdir() if "cache" in p.name] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [p for p in tmp_path.iterdir() if "cache" in p.name], "the killed run never made its cache"
    finally:
        run.kill()
        run.wait()
    build_dataset([clip_folder / "speaker_a"], out, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_unmatched_test_source_is_an_error(clip_folder, tmp_path):
    with pytest.raises(TalkheadInputError, match="matches no source; the sources are: speaker_a"):
        build_dataset([clip_folder], tmp_path / "out", test_sources=["speaker_z"], progress=False)


def test_cli_prints_a_summary_and_fails_cleanly(clip_folder, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["preprocess", str(clip_folder / "speaker_b"), "--output", str(out), "--quiet", "--num-proc", "1"]) == 0
    printed = capsys.readouterr().out
    assert "clips (rows)" in printed and "face-found rate" in printed and "100.00 %" in printed
    # the output exists now: a second run needs --overwrite
    assert main(["preprocess", str(clip_folder / "speaker_b"), "--output", str(out), "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["preprocess", str(empty), "--output", str(tmp_path / "never"), "--quiet"]) == 2
    assert "no videos found" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()
    # every input unusable: a clear error listing them, and no output
    assert (
        main(
            [
                "preprocess",
                str(clip_folder / "speaker_c"),
                "--output",
                str(tmp_path / "none"),
                "--quiet",
                "--num-proc",
                "1",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "every input was skipped" in err and "no face found" in err
    assert not (tmp_path / "none").exists()


@requires_real_data
def test_two_real_clips(tmp_path):
    video = REAL_DATA / "FuxiVirtualHuman__styletalk" / "samples" / "source_video" / "video" / "feifeili_clip3.mp4"
    speech = REAL_DATA / "FuxiVirtualHuman__styletalk" / "samples" / "source_video" / "wav" / "feifeili_clip3.wav"
    other = REAL_DATA / "wyhsirius__LIA" / "data" / "vox" / "driving2.mp4"
    summary = build_dataset([video, speech, other], tmp_path / "real", progress=False, num_proc=1)
    assert summary.splits == {"train": 2}
    assert summary.face_found_rate >= 0.95
    dataset = load_dataset_dict(tmp_path / "real")["train"]
    clips = {c.clip_id: c for c in iter_clips(dataset)}
    assert set(clips) == {"feifeili_clip3", "driving2"}
    assert clips["feifeili_clip3"].num_frames == pytest.approx(7.0 * 25, abs=3)  # 30 fps source, 7 s of speech
    assert clips["driving2"].num_frames == 221  # its video stream holds 221 frames (8.84 s)
    for clip in clips.values():
        assert clip.logfbank.shape == (4 * clip.num_frames, 26)
        assert 0 < clip.landmarks.min() and clip.landmarks.max() < 1
