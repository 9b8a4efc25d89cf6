"""The mouth-motion training script, launched with accelerate for 3 steps and resumed; the mel-only row."""

import json

import pytest

from ..conftest import contract_dataset
from .test_train_syncers import ROOT, launch_script

SCRIPT = ROOT / "examples" / "train_mouth_motion.py"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return contract_dataset(tmp_path_factory.mktemp("motion") / "ds", num_clips=4, frames=60, sources=2)


def test_three_steps_then_resume(dataset, tmp_path):
    out = tmp_path / "run"
    common = ["--dataset", str(dataset), "--output_dir", str(out), "--model_config", "tiny", "--batch_size", "2",
              "--window", "30", "--validation_sources", "source1", "--validation_steps", "1", "--checkpointing_steps", "2",
              "--logging_steps", "1"]
    launch_script(SCRIPT, *common, "--max_steps", "2")
    assert (out / "checkpoints" / "step-0000002" / "trainer_state.json").exists()
    assert (out / "av_offsets.json").exists() and (out / "phones_cache.npz").exists()
    result = launch_script(SCRIPT, "--output_dir", str(out), "--resume_from_checkpoint", "latest", "--max_steps", "3")
    assert "resumed from" in result.stdout + result.stderr
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["steps"] == 3 and summary["validation_clips"] == 2 and 0.5 <= summary["output_gain"] <= 4
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "mouth_motion" and config["output_gain"] == summary["output_gain"]
    assert {p.name for p in (out / "plots").iterdir()} == {"loss.png", "validation_lip_follow.png"}


def test_mel_only(dataset, tmp_path):
    out = tmp_path / "mel"
    launch_script(SCRIPT, "--dataset", str(dataset), "--output_dir", str(out), "--model_config", "tiny", "--batch_size", "2",
                  "--window", "30", "--max_steps", "1", "--use_phones", "False", "--align_offsets", "False")
    config = json.loads((out / "config.json").read_text())
    assert config["use_phones"] is False and not (out / "av_offsets.json").exists()
