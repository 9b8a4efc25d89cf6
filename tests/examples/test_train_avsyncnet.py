"""AVSyncNet / SyncNet-expert training scripts, launched with accelerate for 2 steps and resumed."""

import json

import pytest

from ..conftest import contract_dataset
from .test_train_syncers import ROOT, launch_script

SCRIPT = ROOT / "examples" / "train_avsyncnet.py"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return contract_dataset(tmp_path_factory.mktemp("faces") / "ds", num_clips=4, frames=30, sources=2, faces=True)


def test_two_steps_then_resume(dataset, tmp_path):
    out = tmp_path / "run"
    common = [
        "--dataset",
        str(dataset),
        "--output_dir",
        str(out),
        "--model_config",
        "tiny",
        "--batch_size",
        "4",
        "--validation_steps",
        "1",
        "--validation_samples",
        "8",
        "--checkpointing_steps",
        "2",
        "--logging_steps",
        "1",
    ]
    launch_script(SCRIPT, *common, "--max_steps", "2")
    assert (out / "checkpoints" / "checkpoint_2" / "trainer_state.json").exists()
    assert {p.name for p in (out / "plots").iterdir()} == {"loss.png", "validation_accuracy.png"}
    result = launch_script(SCRIPT, "--output_dir", str(out), "--resume_from_checkpoint", "latest", "--max_steps", "3")
    assert "resumed from" in result.stdout + result.stderr
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["steps"] == 3 and summary["architecture"] == "avsyncnet" and "offset_accuracy" in summary["best"]
    from talkhead.models.avsyncnet import AVSyncNet

    assert AVSyncNet.from_pretrained(out).config.face_size == 32


def test_syncnet_expert_script(dataset, tmp_path):
    out = tmp_path / "expert"
    launch_script(
        ROOT / "examples" / "train_syncnet_expert.py",
        "--dataset",
        str(dataset),
        "--output_dir",
        str(out),
        "--model_config",
        "tiny",
        "--batch_size",
        "2",
        "--max_steps",
        "1",
        "--validation_sources",
        "source1",
        "--objective",
        "bce",
    )
    assert json.loads((out / "config.json").read_text())["model_type"] == "syncnet_expert"


def test_dataset_without_faces_is_a_clear_error(tmp_path):
    import subprocess
    import sys

    plain = contract_dataset(tmp_path / "plain", num_clips=2, frames=30, sources=2)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--dataset", str(plain), "--output_dir", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        env={"ACCELERATE_USE_CPU": "1", "PATH": ""},
    )
    assert result.returncode != 0 and "talkhead preprocess --faces" in result.stderr


def test_offsets_of_training_clips_can_be_undone_first(dataset, tmp_path):
    out = tmp_path / "aligned"
    result = launch_script(
        SCRIPT,
        "--dataset",
        str(dataset),
        "--output_dir",
        str(out),
        "--model_config",
        "tiny",
        "--batch_size",
        "2",
        "--max_steps",
        "1",
        "--validation_sources",
        "source1",
        "--validation_samples",
        "4",
        "--align_offsets",
        "true",
    )
    offsets = json.loads((out / "av_offsets.json").read_text())
    assert set(offsets) == {"clip0", "clip2"} and "offsets undone in" in result.stdout + result.stderr
