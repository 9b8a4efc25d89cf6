"""`talkhead evaluate video VIDEO ...`, and `talkhead evaluate landmarks ...` beside it under one parser."""

import json

import pytest

from talkhead.cli import main
from talkhead.evaluation.verdict import VERDICT_KINDS

from .evaluation.test_evaluate import media, tiny_models  # noqa: F401  (session fixtures)


def test_evaluate_video_with_every_option(media, tiny_models, tmp_path, capsys):  # noqa: F811
    out, plot = tmp_path / "report.json", tmp_path / "confidence.png"
    assert (
        main(
            [
                "evaluate",
                "video",
                str(media["talk"]),
                "--reference",
                str(media["talk"]),
                "--json",
                str(out),
                "--plot",
                str(plot),
                "--metrics",
                "expert_sync,syncnet_v2,avs,ssim",
                "--sync-expert-model",
                tiny_models["expert"],
                "--syncnet-v2-model",
                tiny_models["syncnet_v2"],
                "--av-hubert-model",
                tiny_models["av_hubert"],
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert {k: report[k] for k in ("video", "audio", "reference", "frames", "fps")} == {
        "video": str(media["talk"]),
        "audio": str(media["talk"]),
        "reference": str(media["talk"]),
        "frames": 50,
        "fps": 25,
    }
    assert list(report["metrics"]) == ["expert_sync", "syncnet_v2", "avs_u", "avs_m", "avs_v", "ssim"]
    assert all(entry["status"] == "computed" for entry in report["metrics"].values())
    assert plot.read_bytes()[:4] == b"\x89PNG" and plot.stat().st_size > 20_000
    assert not list(tmp_path.glob(".*partial*"))
    captured = capsys.readouterr()
    assert "syncnet_v2   computed" in captured.out and f"report written to {out}, plot to {plot}" in captured.out
    assert "avs_m: computed" in captured.err  # status lines on stderr


def test_shipped_models_30fps_video_and_48k_stereo_audio(media, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "evaluate",
                "video",
                str(media["silent30"]),
                "--audio",
                str(media["stereo48k"]),
                "--metrics",
                "expert_sync,syncnet_v2",
                "--json",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert report["source_fps"] == 30.0 and report["frames"] == 50 and report["audio_frames"] == 25
    assert report["metrics"]["expert_sync"]["status"] == "computed"
    assert report["metrics"]["expert_sync"]["model"].endswith("syncnet-eval")
    assert report["metrics"]["syncnet_v2"]["reason"].startswith("SyncNet v2 weights not given: --syncnet-v2-model DIR")
    assert capsys.readouterr().err == ""


def test_no_face_unknown_metric_and_missing_weights_exit_2_without_a_report(media, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "r.json"
    assert main(["evaluate", "video", str(media["wall"]), "--json", str(out), "--quiet"]) == 2
    assert "error: no face found in any of the 30 frames" in capsys.readouterr().err
    assert main(["evaluate", "video", str(media["talk"]), "--metrics", "ssim,lse_c", "--json", str(out)]) == 2
    assert "error: unknown metric(s) 'lse_c'; known: expert_sync, syncnet_v2, ms_sync" in capsys.readouterr().err
    nope = str(tmp_path / "nope")
    assert main(["evaluate", "video", str(media["talk"]), "--av-hubert-model", nope, "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no such model folder" in err and "python -m talkhead.models.av_hubert.convert_av_hubert" in err
    assert main(["evaluate", "video", str(media["talk"]), "--sync-expert-model", nope, "--json", str(out)]) == 2
    assert "error: cannot load checkpoint" in capsys.readouterr().err
    assert not out.exists()


def test_help_bare_command_and_the_landmarks_form(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "-h"])
    assert exit_.value.code == 0 and "talkhead evaluate landmarks" in capsys.readouterr().out
    assert main(["evaluate"]) == 2 and "talkhead evaluate video VIDEO" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "video", "-h"])
    assert exit_.value.code == 0 and "--reference GT_VIDEO" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:  # the landmark form keeps its own options and its required --json
        main(["evaluate", "landmarks", "--video", "x.mp4"])
    assert exit_.value.code == 2 and "talkhead evaluate landmarks" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["evaluate", "video", str(tmp_path / "v.mp4")])  # --json is required
    assert "the following arguments are required: --json" in capsys.readouterr().err


def test_bad_max_side_and_chunk_exit_2_with_one_error_line(media, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "r.json"
    for value in ("0", "-3", "64"):
        assert main(["evaluate", "video", str(media["talk"]), "--max-side", value, "--json", str(out)]) == 2
        captured = capsys.readouterr()
        assert captured.err.startswith("error: --max-side must be an integer of at least 96")
        assert captured.err.count("\n") == 1 and captured.out == ""
    assert main(["evaluate", "landmarks", "--video", str(media["talk"]), "--chunk", "0", "--json", str(out)]) == 2
    assert capsys.readouterr().err == "error: --chunk must be at least 1 frame, got 0\n"
    assert not out.exists()


def test_the_verdict_comes_first_and_names_the_mouth_sync_expert(media, tiny_models, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "report.json"
    assert (
        main(
            [
                "evaluate",
                "video",
                str(media["talk"]),
                "--metrics",
                "expert_sync,mouth_sync",
                "--sync-expert-model",
                tiny_models["expert"],
                "--mouth-sync-model",
                tiny_models["mouth_sync"],
                "--json",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    found, verdict = report["metrics"]["mouth_sync"], report["verdict"]
    assert found["status"] == "computed" and found["values"]["frames"] == 50 and len(found["scores"]) == 31
    assert verdict["expert"] == "mouth_sync" and verdict["offset"] == found["values"]["offset"]
    assert verdict["confidence"] == found["values"]["confidence"] and verdict["kind"] in VERDICT_KINDS
    first = capsys.readouterr().out.splitlines()[0]  # the table and the report path follow
    assert first.startswith("verdict: ") and "; mouth_sync expert" in first


def test_a_clip_too_short_for_the_mouth_sync_expert_still_writes_the_report(media, tiny_models, tmp_path, capsys):  # noqa: F811
    # the shipped expert reads 1 s windows and searches ±15 frames: 56 frames (2.24 s); this clip has 50
    out = tmp_path / "short.json"
    command = ["evaluate", "video", str(media["talk"]), "--metrics", "expert_sync,mouth_sync,image"]
    assert main([*command, "--sync-expert-model", tiny_models["expert"], "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["metrics"]["expert_sync"]["status"] == "computed"
    reason = report["metrics"]["mouth_sync"]["reason"]
    assert report["metrics"]["mouth_sync"]["status"] == "unavailable" and "needs at least 56" in reason
    assert report["verdict"] == {
        "kind": "cannot_tell",
        "offset": None,
        "confidence": None,
        "expert": "mouth_sync",
        "reason": reason,
    }
    captured = capsys.readouterr()
    assert captured.out.startswith(f"verdict: cannot tell: {reason}; mouth_sync expert\n")
    # each unavailable metric is said once, in the table, with its reason
    printed = captured.out + captured.err
    assert printed.count(reason) == 2  # the verdict and the table
    assert printed.count("needs --reference (the ground-truth video)") == 5 and "unavailable" not in captured.err


def test_a_missing_speaker_video_is_an_error_before_any_work(media, tmp_path, capsys):  # noqa: F811
    out, nope = tmp_path / "r.json", tmp_path / "speaker.mp4"
    assert main(["evaluate", "video", str(media["talk"]), "--speaker-video", str(nope), "--json", str(out)]) == 2
    assert capsys.readouterr().err == f"error: no such file for --speaker-video: '{nope}'\n" and not out.exists()
