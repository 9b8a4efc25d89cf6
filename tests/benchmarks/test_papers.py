import json

import pytest
import torch

from talkhead.cli import main
from talkhead.models.ms_sync import MSSyncGenerator, MSSyncGeneratorConfig, MSSyncSyncerConfig, MSSyncSyncerModel

from ..conftest import contract_dataset


def test_benchmark_ms_sync_rows_and_columns(tmp_path, capsys):
    torch.manual_seed(0)
    data = contract_dataset(tmp_path / "ds", num_clips=2, frames=90, test_clips=2)
    MSSyncSyncerModel(
        MSSyncSyncerConfig.from_preset("tiny", objective="contrastive", normalize_embeddings=False)
    ).save_pretrained(tmp_path / "eval")
    for name, branches in (("full", 4), ("single-branch", 1)):
        MSSyncGenerator(MSSyncGeneratorConfig.from_preset("tiny", num_branches=branches)).save_pretrained(
            tmp_path / name
        )
    out = tmp_path / "report.json"
    from talkhead.models.mouth_motion import MouthMotionConfig, MouthMotionModel

    MouthMotionModel(MouthMotionConfig.from_preset("tiny", use_phones=False, output_gain=5.0)).save_pretrained(
        tmp_path / "mm"
    )
    assert (
        main(
            [
                "benchmark",
                "ms-sync",
                "--data",
                str(data),
                "--split",
                "test",
                "--head-model",
                str(tmp_path / "full"),
                "--head-model",
                str(tmp_path / "single-branch"),
                "--eval-syncers-model",
                str(tmp_path / "eval"),
                "--mouth-model",
                str(tmp_path / "mm"),
                "--json",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert report["clips"] == 2 and set(report["rows"]) == {
        "static",
        "ground_truth",
        "full",
        "single-branch",
        "full+mouth",
        "single-branch+mouth",
    }
    assert report["rows"]["full+mouth"]["frechet"] != report["rows"]["full"]["frechet"]  # the mouth was replaced
    columns = set(report["rows"]["full"])
    assert columns == {f"av_{k}_{i}" for k in ("off", "conf") for i in range(1, 5)} | {"frechet"}
    assert report["rows"]["ground_truth"]["frechet"]["mean"] < 1e-6 < report["rows"]["static"]["frechet"]["mean"]
    assert "| static |" in capsys.readouterr().out


def test_benchmark_lip_sync_rows_columns_and_ground_truth_is_perfect(tmp_path, capsys):
    from talkhead.models.avsyncnet import AVSyncNetConfig
    from talkhead.models.stable_sync import StableSyncFaceGenerator, StableSyncFaceGeneratorConfig
    from talkhead.models.syncnet_expert import SyncNetExpert, SyncNetExpertConfig

    torch.manual_seed(0)
    data = contract_dataset(tmp_path / "ds", num_clips=1, frames=30, test_clips=1, faces=True)
    SyncNetExpert(SyncNetExpertConfig.from_preset("tiny")).save_pretrained(tmp_path / "expert")
    config = StableSyncFaceGeneratorConfig.from_preset("tiny", audio_encoder=AVSyncNetConfig.presets["tiny"])
    StableSyncFaceGenerator(config).save_pretrained(tmp_path / "face")
    StableSyncFaceGenerator(config).save_pretrained(tmp_path / "silent")
    out = tmp_path / "table1.json"
    assert (
        main(
            [
                "benchmark",
                "lip-sync",
                "--data",
                str(data),
                "--face-generator-model",
                str(tmp_path / "face"),
                "--silent-lip-model",
                str(tmp_path / "silent"),
                "--sync-expert-model",
                str(tmp_path / "expert"),
                "--chunk-frames",
                "12",
                "--json",
                str(out),
            ]
        )
        == 2
    )  # the video-resolution mouth table needs the raw videos
    assert "talkhead_preprocess.json is missing" in capsys.readouterr().err and not out.exists()
    assert (
        main(
            [
                "benchmark",
                "lip-sync",
                "--data",
                str(data),
                "--face-generator-model",
                str(tmp_path / "face"),
                "--silent-lip-model",
                str(tmp_path / "silent"),
                "--sync-expert-model",
                str(tmp_path / "expert"),
                "--chunk-frames",
                "12",
                "--no-mouth-table",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert report["chunks"] == 2 and set(report["rows"]) == {"ground_truth", "reference_copy", "face"}
    columns = {"ssim", "psnr", "lmd", "ifc", "identity", "sync_conf", "sync_dist", "sync_off"}
    assert set(report["rows"]["ground_truth"]) == columns
    assert set(report["rows"]["face"]) == columns | {"speech_closed", "silence_closed"}
    truth = report["rows"]["ground_truth"]
    assert truth["ssim"]["mean"] == 1.0 and truth["lmd"]["mean"] == 0.0 and truth["ifc"]["mean"] == 0.0
    assert truth["psnr"] == {"mean": float("inf"), "std": 0.0}  # identical frames: no stand-in value
    assert report["rows"]["reference_copy"]["ssim"]["mean"] < 1.0
    table = capsys.readouterr().out
    assert "| reference_copy |" in table and "silence_closed |" in table
    plain = contract_dataset(tmp_path / "plain", num_clips=1, frames=30, test_clips=1)
    assert (
        main(
            [
                "benchmark",
                "lip-sync",
                "--data",
                str(plain),
                "--sync-expert-model",
                str(tmp_path / "expert"),
                "--no-mouth-table",
                "--json",
                str(tmp_path / "x.json"),
            ]
        )
        == 2
    )
    assert "--faces" in capsys.readouterr().err


def test_means_leave_out_infinite_psnr():
    from talkhead.benchmarks.papers import _mean_std, markdown_table

    rows = _mean_std([{"psnr": 30.0, "ssim": 0.5}, {"psnr": float("inf"), "ssim": 1.0}, {"psnr": 40.0, "ssim": 0.9}])
    assert rows["psnr"] == {"mean": 35.0, "std": 5.0} and rows["ssim"]["mean"] == pytest.approx(0.8)
    perfect = _mean_std([{"psnr": float("inf")}, {"psnr": float("inf")}])
    assert perfect["psnr"] == {"mean": float("inf"), "std": 0.0}
    assert "| truth | inf |" in markdown_table({"rows": {"truth": perfect}})
