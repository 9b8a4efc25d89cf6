import json

import numpy as np
import pytest
import torch

from talkhead.cli import main
from talkhead.models.ms_sync import MSSyncSyncerConfig, MSSyncSyncerModel

from ..conftest import talking_video, write_av, write_wav


@pytest.fixture(scope="module")
def eval_syncers(tmp_path_factory):
    torch.manual_seed(0)
    model = MSSyncSyncerModel(
        MSSyncSyncerConfig.from_preset("tiny", normalize_embeddings=False, objective="contrastive")
    )
    model.set_input_statistics(np.full(136, 0.5), np.full(136, 0.05), np.full(26, -8.0), np.full(26, 3.0))
    path = tmp_path_factory.mktemp("syncers")
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def video(tmp_path_factory, astronaut):
    return talking_video(tmp_path_factory.mktemp("video") / "talk.mp4", astronaut, num_frames=50)


def test_evaluate_landmarks_of_a_video_writes_json_and_plot(video, eval_syncers, tmp_path, capsys):
    out, plot = tmp_path / "report.json", tmp_path / "curves.png"
    assert (
        main(
            [
                "evaluate",
                "landmarks",
                "--video",
                str(video),
                "--eval-syncers-model",
                str(eval_syncers),
                "--json",
                str(out),
                "--plot",
                str(plot),
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert report["frames"] == 50 and report["landmarks_source"] == "tracked" and report["face_found_rate"] == 1.0
    assert set(report["levels"]) == {"level_1", "level_2", "level_3", "level_4"}
    level = report["levels"]["level_2"]
    assert len(level["distances"]) == 31 and level["step_ms"] == 80 and level["abs_offset"] == abs(level["offset"])
    assert set(report["summary"]) == {f"av_{k}_{i}" for k in ("off", "conf") for i in range(1, 5)}
    assert plot.stat().st_size > 10_000
    assert "AV-Conf" in capsys.readouterr().out


def test_evaluate_given_landmarks_with_separate_audio_and_chunks(eval_syncers, tmp_path):
    rng = np.random.default_rng(0)
    landmarks = 0.5 + 0.05 * rng.standard_normal((100, 68, 2)).astype(np.float32)
    np.savez(tmp_path / "pred.npz", landmarks=landmarks, fps=25)
    speech = write_wav(tmp_path / "speech.wav", (0.2 * rng.standard_normal(64000)).astype(np.float32))
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "evaluate",
                "landmarks",
                "--landmarks",
                str(tmp_path / "pred.npz"),
                "--audio",
                str(speech),
                "--eval-syncers-model",
                str(eval_syncers),
                "--chunk",
                "40",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert report["frames"] == 100 and report["chunks"]["count"] == 2 and "av_conf_4" in report["chunks"]["std"]


def test_bad_inputs_are_clear_errors(eval_syncers, tmp_path, astronaut, capsys):
    short = talking_video(tmp_path / "short.mp4", astronaut, num_frames=20)
    common = ["--eval-syncers-model", str(eval_syncers), "--json", str(tmp_path / "x.json")]
    assert main(["evaluate", "landmarks", "--video", str(short), *common]) == 2
    assert "needs at least 33 frames (1.32 s)" in capsys.readouterr().err
    faceless = write_av(
        tmp_path / "wall.mp4",
        [np.full((64, 64, 3), 128, np.uint8)] * 40,
        25,
        (0.1 * np.random.default_rng(0).standard_normal(25600)).astype(np.float32),
    )
    assert main(["evaluate", "landmarks", "--video", str(faceless), *common]) == 2
    assert "no face found in any of the 40 frames" in capsys.readouterr().err
    np.savez(tmp_path / "lm.npz", landmarks=np.full((60, 68, 2), 0.5, np.float32))
    silent = write_wav(tmp_path / "silent.wav", np.zeros(48000, np.float32))
    assert (
        main(["evaluate", "landmarks", "--landmarks", str(tmp_path / "lm.npz"), "--audio", str(silent), *common]) == 2
    )
    assert "is silent" in capsys.readouterr().err
    assert main(["evaluate", "landmarks", "--landmarks", str(tmp_path / "lm.npz"), *common]) == 2
    assert "give --audio" in capsys.readouterr().err
    assert (
        main(
            [
                "evaluate",
                "landmarks",
                "--video",
                str(short),
                "--eval-syncers-model",
                str(tmp_path / "nope"),
                "--json",
                str(tmp_path / "y.json"),
            ]
        )
        == 2
    )
    assert "cannot load checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "y.json").exists()


def test_tracked_landmarks_score_as_evaluate_scores_them(video, eval_syncers, tmp_path):
    """`evaluate landmarks --video` and `evaluate video --metrics ms_sync` read the same landmarks, so
    the two reports agree."""
    from talkhead.evaluation.evaluate import EvaluateOptions, evaluate_video
    from talkhead.evaluation.landmarks_report import evaluate_landmarks

    landmarks_report = evaluate_landmarks(str(video), model=str(eval_syncers))
    video_report = evaluate_video(video, metrics="ms_sync", options=EvaluateOptions(eval_syncers=str(eval_syncers)))
    assert video_report["metrics"]["ms_sync"]["values"] == landmarks_report["summary"]
