"""Streaming training: the mouth-motion script reads Parquet shards as it goes, in one process or two; a
run killed with SIGKILL after a checkpoint, or restarted from a copy of one, resumes to the losses of a run that was
never stopped."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from talkhead.data.clips import load_dataset_dict
from talkhead.data.shards import export_shards

from ..conftest import contract_dataset
from .resume_check import assert_resumed_equals, check_resume, kill_after_checkpoint
from .test_train_syncers import ROOT

SCRIPT = ROOT / "examples" / "train_mouth_motion.py"


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("stream")
    dataset = contract_dataset(root / "ds", num_clips=8, frames=60, sources=2)
    return export_shards(load_dataset_dict(dataset), root / "shards", 2)


def streaming_arguments(shards: Path, batch_size: int) -> list[str]:
    """A tiny streamed run's arguments, but its output folder, checkpoints and steps."""
    options = {
        "--dataset": str(shards),
        "--model_config": "tiny",
        "--window": "30",
        "--batch_size": str(batch_size),
        "--validation_sources": "source1",
        "--validation_steps": "2",
        "--logging_steps": "1",
        "--phone_decoder": "allphone",
        "--streaming": "True",
        "--window_buffer": "8",
    }
    return [item for option in options.items() for item in option]


def arguments(shards: Path, output: Path, batch_size: int, steps: int = 4) -> list[str]:
    run = ["--output_dir", str(output), "--checkpointing_steps", "2", "--max_steps", str(steps)]
    return [*streaming_arguments(shards, batch_size), *run]


def launcher(processes: int) -> list[str]:
    distributed = ["--multi_gpu", "--main_process_port", str(free_port())] if processes > 1 else ["--cpu"]
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        *distributed,
        "--num_processes",
        str(processes),
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
    ]


def free_port() -> int:
    """A port no one listens on (a killed run's rendezvous port may linger)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(processes: int, *args: str) -> str:
    env = {**os.environ, "TQDM_DISABLE": "1", "ACCELERATE_USE_CPU": "1"}
    result = subprocess.run(
        [*launcher(processes), str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def losses(output: Path, step: int) -> list[tuple[int, float]]:
    state = json.loads((output / "checkpoints" / f"checkpoint_{step}" / "trainer_state.json").read_text())
    return state["history"]["train"]["loss"]


def test_two_processes_stream_their_own_part(shards, tmp_path):
    printed = run(2, *arguments(shards, tmp_path / "two", batch_size=2, steps=2))
    assert "process 1 of 2" in printed and "phones decoded as clips arrive" in printed
    checkpoint = tmp_path / "two" / "checkpoints" / "checkpoint_2"
    assert [step for step, _ in losses(tmp_path / "two", 2)] == [1, 2]
    summary = json.loads((tmp_path / "two" / "training_summary.json").read_text())
    assert summary["steps"] == 2 and summary["validation_clips"] == 4
    assert (checkpoint / "random_states_1.pkl").exists()  # both processes' state in the checkpoint


@pytest.mark.slow  # two two-process launches and a kill: about two minutes on two cores
def test_a_killed_two_process_run_resumes(shards, tmp_path):
    killed = tmp_path / "killed"
    kill_after_checkpoint(launcher(2), 2, SCRIPT, arguments(shards, killed, 2), tmp_path / "killed.log")
    assert not (killed / "training_summary.json").exists()
    printed = run(2, "--output_dir", str(killed), "--resume_from_checkpoint", "latest")
    assert "at step 2" in printed
    assert [step for step, _ in losses(killed, 4)] == [1, 2, 3, 4]
    assert losses(killed, 4)[:2] == losses(killed, 2)
    assert json.loads((killed / "training_summary.json").read_text())["steps"] == 4


@pytest.mark.slow  # by default: this script's in-memory resume and every other script's streamed one
def test_a_streamed_run_resumes_to_the_losses_of_an_uninterrupted_one(shards, tmp_path):
    """Stopped mid-pass at step 3 (the window buffer full, dropout on), by SIGKILL or by restarting from a copy of
    checkpoint_3: the same states and losses at step 6 as the run that was never stopped (resume_check.py)."""
    common = streaming_arguments(shards, batch_size=2)
    check_resume(SCRIPT, common, tmp_path, every=3, total=6)
    killed = tmp_path / "killed"
    run_killed = [*common, "--output_dir", str(killed), "--checkpointing_steps", "3", "--max_steps", "6"]
    kill_after_checkpoint(launcher(1), 3, SCRIPT, run_killed, tmp_path / "killed.log")
    run(1, "--output_dir", str(killed), "--resume_from_checkpoint", "latest")
    assert_resumed_equals(tmp_path / "full", killed, every=3, total=6)
