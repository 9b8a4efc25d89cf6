"""The mouth-sync training script, launched with accelerate for 2 steps and resumed to 3."""

import json

from ..conftest import contract_dataset
from .test_train_syncers import ROOT, launch_script

SCRIPT = ROOT / "examples" / "train_mouth_sync.py"


def test_two_steps_then_resume(tmp_path):
    dataset = contract_dataset(tmp_path / "ds", num_clips=4, frames=60, sources=2)
    out = tmp_path / "run"
    launch_script(
        SCRIPT,
        "--dataset",
        str(dataset),
        "--output_dir",
        str(out),
        "--model_config",
        "tiny",
        "--batch_size",
        "2",
        "--validation_sources",
        "source1",
        "--validation_steps",
        "1",
        "--validation_samples",
        "4",
        "--checkpointing_steps",
        "2",
        "--logging_steps",
        "1",
        "--max_steps",
        "2",
    )
    assert (out / "checkpoints" / "checkpoint_2" / "trainer_state.json").exists()
    offsets = json.loads((out / "av_offsets.json").read_text())
    assert len(offsets) == 4 and all("undone" in row for row in offsets.values())
    result = launch_script(SCRIPT, "--output_dir", str(out), "--resume_from_checkpoint", "latest", "--max_steps", "3")
    assert "resumed from" in result.stdout + result.stderr
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["steps"] == 3 and summary["validation_clips"] == 2 and summary["best"]["samples"] == 4
    assert json.loads((out / "config.json").read_text())["model_type"] == "mouth_sync"
    assert {p.name for p in (out / "plots").iterdir()} == {"loss.png", "validation_accuracy.png"}
