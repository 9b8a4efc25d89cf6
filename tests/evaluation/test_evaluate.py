"""talkhead.evaluation.evaluate: every metric of one video, with tiny random models (no number here means anything)."""

import json

import numpy as np
import pytest
import torch

from talkhead.errors import MediaDecodeError, NoFaceError, TalkheadInputError
from talkhead.evaluation.evaluate import METRICS, EvaluateOptions, evaluate_video, select_metrics
from talkhead.evaluation.inputs import KEYWORDS, folder_has_no_audio
from talkhead.evaluation.report import format_table, plot_confidence

from ..conftest import face_frame, speech_like, talking_video, write_av, write_wav


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Folders of tiny random models: our expert, MS-Sync eval syncers, SyncNet v2, AV-HuBERT and the mouth-sync
    expert (9-frame windows: a ±15-frame search fits in 2 s)."""
    from talkhead.models.av_hubert import AVHubertConfig, AVHubertModel
    from talkhead.models.mouth_sync import MouthSyncConfig, MouthSyncModel
    from talkhead.models.ms_sync import MSSyncSyncerConfig, MSSyncSyncerModel
    from talkhead.models.syncnet_expert import SyncNetExpert, SyncNetExpertConfig
    from talkhead.models.syncnet_v2 import SyncNetV2Config, SyncNetV2Model

    root = tmp_path_factory.mktemp("tiny_models")
    torch.manual_seed(0)
    SyncNetExpert(SyncNetExpertConfig.from_preset("tiny")).save_pretrained(root / "expert")
    syncers = MSSyncSyncerModel(
        MSSyncSyncerConfig.from_preset("tiny", normalize_embeddings=False, objective="contrastive")
    )
    syncers.set_input_statistics(np.full(136, 0.5), np.full(136, 0.05), np.full(26, -8.0), np.full(26, 3.0))
    syncers.save_pretrained(root / "syncers")
    SyncNetV2Model(SyncNetV2Config.from_preset("tiny")).save_pretrained(root / "syncnet_v2")
    AVHubertModel(AVHubertConfig.from_preset("tiny")).save_pretrained(root / "av_hubert")
    MouthSyncModel(MouthSyncConfig.from_preset("tiny", use_phones=False)).save_pretrained(root / "mouth_sync")
    return {name: str(root / name) for name in ("expert", "syncers", "syncnet_v2", "av_hubert", "mouth_sync")}


@pytest.fixture(scope="session")
def media(tmp_path_factory, astronaut):
    """A 2 s talking clip at 25 fps with audio, the same at 30 fps without audio, 1 s of 48 kHz stereo speech, a
    wall."""
    root = tmp_path_factory.mktemp("evaluate_media")
    wave = speech_like(1.0, 48000, seed=3)
    return {
        "talk": talking_video(root / "talk.mp4", astronaut, num_frames=50),
        "silent30": talking_video(root / "silent30.mp4", astronaut, num_frames=60, fps=30, with_audio=False),
        "stereo48k": write_wav(root / "stereo48k.wav", np.stack([wave, 0.5 * wave], axis=1), 48000),
        "wall": write_av(
            root / "wall.mp4",
            [np.full((64, 64, 3), 128, np.uint8)] * 30,
            25,
            (0.1 * np.random.default_rng(0).standard_normal(19200)).astype(np.float32),
        ),
    }


def tiny_options(tiny_models, **overrides) -> EvaluateOptions:
    values = {
        "expert": tiny_models["expert"],
        "eval_syncers": tiny_models["syncers"],
        "syncnet_v2": tiny_models["syncnet_v2"],
        "av_hubert": tiny_models["av_hubert"],
        "mouth_sync": tiny_models["mouth_sync"],
        **overrides,
    }
    return EvaluateOptions(**values)


def test_every_metric_is_computed_with_weights_audio_and_a_reference(media, tiny_models):
    lines = []
    report = evaluate_video(media["talk"], reference=media["talk"], options=tiny_options(tiny_models), log=lines.append)
    json.dumps(report)  # JSON-ready as it is
    assert list(report["metrics"]) == list(METRICS)
    assert {name: entry["status"] for name, entry in report["metrics"].items()} == {
        name: "computed" for name in METRICS
    }
    assert (report["frames"], report["fps"], report["audio_frames"], report["reference_frames"]) == (50, 25, 50, 50)
    assert report["face_found_rate"] == 1.0 and len(report["audio_envelope"]) == 50
    metrics = {name: entry["values"] for name, entry in report["metrics"].items()}
    assert set(metrics["expert_sync"]) == {"offset", "confidence", "distance", "face_found_rate"}
    assert set(metrics["syncnet_v2"]) == {"offset", "lse_d", "lse_c", "face_found_rate"}
    assert "max_side 640" in report["metrics"]["syncnet_v2"]["note"] and report["max_side"] == 640
    assert set(metrics["ms_sync"]) == {f"av_{k}_{i}" for k in ("off", "conf") for i in range(1, 5)}
    assert set(metrics["mouth_sync"]) == {"offset", "confidence", "frames"} and metrics["mouth_sync"]["frames"] == 50
    assert report["metrics"]["mouth_sync"]["windows"] == 42 and len(report["metrics"]["mouth_sync"]["scores"]) == 31
    assert set(report["verdict"]) == {"kind", "offset", "confidence", "expert", "reason"}
    assert (
        report["verdict"]["expert"] == "mouth_sync" and report["verdict"]["offset"] == metrics["mouth_sync"]["offset"]
    )
    # the video against itself: identical crops and mouth regions
    assert metrics["ssim"]["ssim"] == pytest.approx(1.0) and metrics["psnr"]["psnr"] == float("inf")
    assert metrics["lmd"]["lmd"] == 0.0 and metrics["ifc"]["ifc"] == 0.0
    assert metrics["identity"]["identity"] == pytest.approx(1.0, abs=1e-6) and metrics["identity"]["frames"] == 10
    assert metrics["avs_m"]["avs_m"] == pytest.approx(1.0, abs=1e-5) and metrics["avs_v"]["avs_v"] == pytest.approx(
        1.0, abs=1e-5
    )
    # per-window curves: SyncNet-style windows of 5 frames centred at (t + 2.5) / 25 s; AV-HuBERT per frame
    # (SyncNet v2 counts min(frames, samples / 640) - 5 windows, as SyncNetInstance.evaluate: one short of the last)
    for name, windows in (("expert_sync", 46), ("syncnet_v2", 45)):
        curve = report["metrics"][name]["curve"]
        assert len(curve["values"]) == windows and curve["seconds"][:2] == [0.1, 0.14]
    cosine = report["metrics"]["avs_u"]["curve"]["values"]
    assert len(cosine) == 50 and np.mean(cosine) == pytest.approx(metrics["avs_u"]["avs_u"], abs=1e-4)
    assert lines[0].startswith("tracked 50 frames") and [line.split(":")[0] for line in lines[-len(METRICS) :]] == list(
        METRICS
    )
    table = format_table(report)
    assert table.startswith("verdict: ") and "talk.mp4: 50 frames" in table and all(name in table for name in METRICS)


def test_unavailable_metrics_say_why(media, tmp_path):
    # 30 fps without audio, no weights (a SyncNet v2 folder with config.json only), no reference
    from talkhead.models.syncnet_v2 import SyncNetV2Config

    SyncNetV2Config().save_pretrained(tmp_path / "syncnet-v2")
    report = evaluate_video(media["silent30"], options=EvaluateOptions(syncnet_v2=str(tmp_path / "syncnet-v2")))
    assert (report["frames"], report["source_fps"], report["audio"], report["audio_frames"]) == (50, 30.0, None, 0)
    reasons = {name: entry["reason"] for name, entry in report["metrics"].items()}
    assert all(entry["status"] == "unavailable" for entry in report["metrics"].values())
    assert reasons["expert_sync"].startswith("no audio:") and "give audio" in reasons["ms_sync"]
    assert report["verdict"] == {
        "kind": "cannot_tell",
        "offset": None,
        "confidence": None,
        "expert": "mouth_sync",
        "reason": reasons["mouth_sync"],
    }
    assert "syncnet-v2' holds no weights" in reasons["syncnet_v2"] and "convert_syncnet_v2" in reasons["syncnet_v2"]
    for name in ("avs_u", "avs_m", "avs_v"):
        assert reasons[name].startswith("AV-HuBERT weights not given: av_hubert=DIR")
    for name in ("ssim", "psnr", "lmd", "ifc", "identity"):
        assert reasons[name] == "needs reference (the ground-truth video)"
    assert "audio_envelope" not in report
    report = evaluate_video(media["silent30"], metrics="syncnet_v2")
    assert report["metrics"]["syncnet_v2"]["reason"].startswith("SyncNet v2 weights not given: syncnet_v2=DIR (convert")


def test_48k_stereo_audio_overrides_the_track_and_a_short_clip_is_a_reason(media, tiny_models):
    report = evaluate_video(
        media["silent30"],
        audio=media["stereo48k"],
        metrics="sync,avs_v",
        options=tiny_options(tiny_models, curves=False),
    )
    assert report["audio"] == str(media["stereo48k"]) and report["audio_frames"] == 25  # 1 s at 16 kHz: 25 frames
    metrics = report["metrics"]
    assert list(metrics) == ["expert_sync", "syncnet_v2", "ms_sync", "mouth_sync", "avs_u", "avs_v"]
    assert (
        metrics["expert_sync"]["status"] == metrics["syncnet_v2"]["status"] == metrics["avs_u"]["status"] == "computed"
    )
    assert metrics["avs_u"]["values"]["frames"] == 25 and "curve" not in metrics["expert_sync"]
    assert metrics["syncnet_v2"]["note"].startswith("face crops from frames decoded at max_side 640, not at full")
    assert "needs at least 33 frames" in metrics["ms_sync"]["reason"]  # the tiny syncers' 1600 ms window
    assert "needs at least 40" in metrics["mouth_sync"]["reason"]  # 9-frame windows, offsets up to ±15 frames
    assert report["verdict"]["kind"] == "cannot_tell" and report["verdict"]["reason"] == metrics["mouth_sync"]["reason"]
    assert metrics["avs_v"]["reason"].startswith("needs reference")


def test_an_input_problem_of_one_metric_leaves_the_others_computed(media, tiny_models, monkeypatch):
    from talkhead.evaluation.video_metrics import VideoMetrics

    def too_short(self, *args):
        raise TalkheadInputError("AV-HuBERT needs more frames")

    monkeypatch.setattr(VideoMetrics, "av_hubert", too_short)
    lines = []
    report = evaluate_video(
        media["talk"], metrics="expert_sync,avs", options=tiny_options(tiny_models), log=lines.append
    )
    assert report["metrics"]["expert_sync"]["status"] == "computed"
    for name in ("avs_u", "avs_m", "avs_v"):
        assert report["metrics"][name] == {"status": "unavailable", "reason": "AV-HuBERT needs more frames"}
    assert [line.split(":")[0] for line in lines[1:]] == ["expert_sync"]  # the table says the reasons, once


def test_metric_names_and_groups():
    assert select_metrics(None) == list(METRICS)
    assert select_metrics("image, expert_sync") == ["expert_sync", "ssim", "psnr", "lmd", "ifc", "identity"]
    assert select_metrics(["avs"]) == ["avs_u", "avs_m", "avs_v"]
    with pytest.raises(TalkheadInputError, match="unknown metric\\(s\\) 'lse', 'fid'; known: expert_sync, syncnet_v2"):
        select_metrics("lse,ssim,fid")
    with pytest.raises(TalkheadInputError, match="no metric selected"):
        select_metrics(" , ")


def test_no_face_and_missing_files_are_errors(media, tmp_path):
    with pytest.raises(NoFaceError, match="no face found in any of the 30 frames"):
        evaluate_video(media["wall"], metrics="expert_sync")
    with pytest.raises(FileNotFoundError, match="no such video"):
        evaluate_video(tmp_path / "nope.mp4")
    with pytest.raises(FileNotFoundError, match="for reference"):
        evaluate_video(media["talk"], reference=tmp_path / "gt.mp4")
    # talkhead ships no SyncNet v2 or AV-HuBERT weights: a bare name is a folder still to convert
    with pytest.raises(FileNotFoundError, match="no such model folder: 'syncnet-v2'.*convert_syncnet_v2"):
        evaluate_video(media["talk"], metrics="syncnet_v2", options=EvaluateOptions(syncnet_v2="syncnet-v2"))
    with pytest.raises(FileNotFoundError, match="no such model folder: 'av-hubert-base'.*convert_av_hubert"):
        evaluate_video(media["talk"], metrics="avs_u", options=EvaluateOptions(av_hubert="av-hubert-base"))


def test_plot_without_curves_or_audio_still_draws(tmp_path):
    report = {
        "video": "v.mp4",
        "fps": 25,
        "seconds": 2.0,
        "metrics": {"expert_sync": {"status": "unavailable", "reason": "x"}},
    }
    path = plot_confidence(report, tmp_path / "sub" / "plot.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and not list((tmp_path / "sub").glob(".*partial*"))


def test_avs_v_is_not_cut_to_the_audio_but_avs_m_is(media, tiny_models):
    # 50 frames, a 50-frame reference, 1 s (25 frames) of audio: AVS_v compares the videos over all 50
    report = evaluate_video(
        media["silent30"],
        audio=media["stereo48k"],
        reference=media["talk"],
        metrics="avs",
        options=tiny_options(tiny_models, curves=False),
    )
    assert (report["frames"], report["audio_frames"], report["reference_frames"]) == (50, 25, 50)
    frames = {name: entry["values"]["frames"] for name, entry in report["metrics"].items()}
    assert frames == {"avs_u": 25, "avs_m": 25, "avs_v": 50}


def test_a_frame_folder_without_audio_and_an_undecodable_track_are_reasons(media, astronaut, tmp_path, monkeypatch):
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    for index in range(8):
        cv2.imwrite(str(folder / f"{index:04d}.png"), cv2.cvtColor(face_frame(astronaut, 128), cv2.COLOR_RGB2BGR))
    report = evaluate_video(folder, metrics="expert_sync,ms_sync,ssim")
    assert report["frames"] == 8 and report["audio"] is None
    assert (
        report["metrics"]["expert_sync"]
        == report["metrics"]["ms_sync"]
        == {"status": "unavailable", "reason": folder_has_no_audio(KEYWORDS)}
    )

    from talkhead.io import audio as audio_io

    def broken(path, *args, **kwargs):
        raise MediaDecodeError(f"cannot decode '{path}': invalid data")

    monkeypatch.setattr(audio_io, "load_audio", broken)
    report = evaluate_video(media["talk"], metrics="expert_sync")
    reason = report["metrics"]["expert_sync"]["reason"]
    assert reason.startswith("the audio of ") and "invalid data" in reason and reason.endswith("give audio")


def test_max_side_below_96_is_an_input_error(media):
    for bad in (0, -5, 95):
        with pytest.raises(TalkheadInputError, match="max_side must be an integer of at least 96"):
            evaluate_video(media["talk"], metrics="expert_sync", options=EvaluateOptions(max_side=bad))
