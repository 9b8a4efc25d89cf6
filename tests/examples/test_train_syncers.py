"""The syncer training script, launched with accelerate for 2 steps and resumed (diffusers-style smoke test)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import contract_dataset

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "train_syncers.py"


def launch_script(script: Path, *args: str) -> subprocess.CompletedProcess:
    """``accelerate launch`` on one CPU process; fails the test with the script's output when it fails."""
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--cpu",
        "--num_processes",
        "1",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        str(script),
        *args,
    ]
    env = {**os.environ, "TQDM_DISABLE": "1", "ACCELERATE_USE_CPU": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def launch(*args: str) -> subprocess.CompletedProcess:
    return launch_script(SCRIPT, *args)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return contract_dataset(tmp_path_factory.mktemp("data") / "ds", num_clips=6, frames=90, sources=3)


def test_two_steps_then_resume(dataset, tmp_path):
    out = tmp_path / "run"
    common = [
        "--dataset",
        str(dataset),
        "--output_dir",
        str(out),
        "--model_config",
        "tiny",
        "--group_size",
        "4",
        "--clips_per_batch",
        "2",
        "--validation_steps",
        "1",
        "--checkpointing_steps",
        "2",
        "--logging_steps",
        "1",
    ]
    launch(*common, "--max_steps", "2")
    state = json.loads(next((out / "checkpoints").glob("checkpoint_2/trainer_state.json")).read_text())
    assert state["step"] == 2
    assert (out / "config.json").exists() and (out / "model.safetensors").exists()
    assert {p.name for p in (out / "plots").iterdir()} == {
        "train_loss.png",
        "validation_loss.png",
        "validation_retrieval.png",
    }
    # resume from the saved arguments alone, with a new step budget
    result = launch("--resume_from_checkpoint", str(out / "checkpoints" / "checkpoint_2"), "--max_steps", "4")
    assert "resumed from" in result.stdout + result.stderr
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["steps"] == 4 and summary["levels"] == [1, 2, 3, 4]
    assert len(summary["held_out_sources"]) >= 1

    from talkhead.models.ms_sync import MSSyncSyncerModel

    model = MSSyncSyncerModel.from_pretrained(out)
    assert model.config.objective == "infonce" and float(model.audio_std.mean()) != 1.0


def test_contrastive_objective_for_one_level(dataset, tmp_path):
    out = tmp_path / "eval"
    launch(
        "--dataset",
        str(dataset),
        "--output_dir",
        str(out),
        "--model_config",
        "tiny",
        "--objective",
        "contrastive",
        "--levels",
        "2",
        "--group_size",
        "3",
        "--clips_per_batch",
        "2",
        "--max_steps",
        "2",
        "--validation_steps",
        "1",
    )
    config = json.loads((out / "config.json").read_text())
    assert config["objective"] == "contrastive" and config["normalize_embeddings"] is False
    assert json.loads((out / "training_summary.json").read_text())["levels"] == [2]
