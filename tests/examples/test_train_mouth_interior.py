"""The mouth-interior training script, launched with accelerate for 2 steps (the discriminator joining at step 1)
and resumed to 3."""

import json

from ..conftest import contract_dataset
from .test_train_syncers import ROOT, launch_script

SCRIPT = ROOT / "examples" / "train_mouth_interior.py"


def test_two_steps_then_resume(tmp_path):
    dataset = contract_dataset(tmp_path / "ds", num_clips=4, frames=60, sources=2, mouths=True)
    out = tmp_path / "run"
    common = ["--validation_steps", "1", "--checkpointing_steps", "2", "--logging_steps", "1"]
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
        "--validation_samples",
        "4",
        "--gan_start_step",
        "1",
        "--max_steps",
        "2",
        "--feature_matching_weight",
        "1",
        "--discriminator_mask",
        "True",
        "--discriminator_layers",
        "3",
        *common,
    )
    assert (out / "checkpoints" / "checkpoint_2" / "trainer_state.json").exists()
    assert (out / "samples" / "step-0000002.png").exists()
    result = launch_script(SCRIPT, "--output_dir", str(out), "--resume_from_checkpoint", "latest", "--max_steps", "3")
    assert "resumed from" in result.stdout + result.stderr
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["steps"] == 3 and summary["validation_clips"] == 2
    history = json.loads((out / "checkpoints" / "checkpoint_3" / "trainer_state.json").read_text())
    assert "discriminator" in json.dumps(history)  # the discriminator trained after --gan_start_step
    assert "feature_matching" in json.dumps(history)
    assert json.loads((out / "config.json").read_text())["model_type"] == "mouth_interior"
    assert {p.name for p in (out / "plots").iterdir()} >= {"loss.png", "validation_interior_error.png"}
