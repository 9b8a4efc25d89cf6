"""A training run killed with SIGKILL right after its step-2 checkpoint resumes to the state and losses of a run that
was never stopped.

The run is train_ms_sync.py, launched with examples/accelerate_config.yaml: the GAN (two optimisers, the critic's
gradients kept out of the generator's backward), the EMA of the generator, two schedules and gradient accumulation
over two batches are all in the state a resume has to find again. pause_after_checkpoint.py holds the run still
once checkpoint_2 is written, so the kill falls there however fast the steps are.
"""

import json
import sys

import pytest

from .resume_check import assert_resumed_equals, kill_after_checkpoint
from .test_train_ms_sync import make_inputs
from .test_train_syncers import ROOT, launch_script

SCRIPT = ROOT / "examples" / "train_ms_sync.py"
CONFIG = ROOT / "examples" / "accelerate_config.yaml"
LAUNCH = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(CONFIG)]


@pytest.fixture(scope="module")
def arguments(tmp_path_factory):
    root = tmp_path_factory.mktemp("killed")
    dataset = make_inputs(root)
    return [
        "--dataset",
        str(dataset),
        "--generator_config",
        "tiny",
        "--discriminator_config",
        "tiny",
        "--loss_syncers",
        str(root / "loss"),
        "--eval_syncers",
        str(root / "eval"),
        "--sequence_length",
        "30",
        "--batch_size",
        "2",
        "--validation_steps",
        "1",
        "--validation_clip_frames",
        "40",
        "--logging_steps",
        "1",
        "--gradient_accumulation_steps",
        "2",
        "--max_steps",
        "4",
        "--checkpointing_steps",
        "2",
    ]


@pytest.mark.slow  # the slowest of the default suite, which must stay under 10 minutes on 2 cores
def test_a_run_killed_after_step_2_resumes_to_the_same_losses(arguments, tmp_path):
    full, killed = tmp_path / "full", tmp_path / "killed"
    launch_script(SCRIPT, *arguments, "--output_dir", str(full))
    kill_after_checkpoint(LAUNCH, 2, SCRIPT, [*arguments, "--output_dir", str(killed)], tmp_path / "killed.log")
    assert sorted(p.name for p in (killed / "checkpoints").iterdir()) == ["checkpoint_2"]
    assert not (killed / "training_summary.json").exists()

    result = launch_script(SCRIPT, "--output_dir", str(killed), "--resume_from_checkpoint", "latest")
    assert "at step 2" in result.stdout + result.stderr
    assert_resumed_equals(full, killed, every=2, total=4)
    summaries = [json.loads((run / "training_summary.json").read_text()) for run in (full, killed)]
    assert summaries[0]["steps"] == summaries[1]["steps"] == 4 and summaries[1]["best"] == summaries[0]["best"]
    history = json.loads((killed / "checkpoints" / "checkpoint_4" / "trainer_state.json").read_text())["history"]
    assert [step for step, _ in history["train"]["sync"]] == [1, 2, 3, 4]
    assert {"validation", "validation_ema"} <= set(history) and (killed / "ema_model" / "model.safetensors").exists()
