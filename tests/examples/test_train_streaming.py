"""Streaming training (issue #28): the mouth-motion script reads Parquet shards as it goes, in one process or two,
and a two-process run killed with SIGKILL after a checkpoint resumes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from talkhead.data.clips import load_dataset_dict
from talkhead.data.shards import export_shards

from ..conftest import contract_dataset
from .test_train_syncers import ROOT

SCRIPT = ROOT / "examples" / "train_mouth_motion.py"
PAUSE = ROOT / "tests" / "examples" / "pause_after_checkpoint.py"


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("stream")
    dataset = contract_dataset(root / "ds", num_clips=8, frames=60, sources=2)
    return export_shards(load_dataset_dict(dataset), root / "shards", 2)


def arguments(shards: Path, output: Path, batch_size: int, steps: int = 4) -> list[str]:
    return ["--dataset", str(shards), "--output_dir", str(output), "--model_config", "tiny", "--window", "30",
            "--batch_size", str(batch_size), "--validation_sources", "source1", "--validation_steps", "2",
            "--logging_steps", "1", "--checkpointing_steps", "2", "--max_steps", str(steps), "--phone_decoder",
            "allphone", "--streaming", "True", "--window_buffer", "8"]


def launcher(processes: int) -> list[str]:
    distributed = ["--multi_gpu", "--main_process_port", str(free_port())] if processes > 1 else ["--cpu"]
    return [sys.executable, "-m", "accelerate.commands.launch", *distributed, "--num_processes", str(processes),
            "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]


def free_port() -> int:
    """A port no one listens on (a killed run's rendezvous port may linger)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(processes: int, *args: str) -> str:
    env = {**os.environ, "TQDM_DISABLE": "1", "ACCELERATE_USE_CPU": "1"}
    result = subprocess.run([*launcher(processes), str(SCRIPT), *args], capture_output=True, text=True, env=env,
                            timeout=600)
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
    env = {**os.environ, "TQDM_DISABLE": "1", "ACCELERATE_USE_CPU": "1"}
    log_path = tmp_path / "killed.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([*launcher(2), str(PAUSE), "2", str(SCRIPT), *arguments(shards, killed, 2)],
                                   stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    started = time.monotonic()
    try:
        while "paused at 2" not in log_path.read_text():
            assert process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() - started < 300, "the run never reached its pause"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert not (killed / "training_summary.json").exists()
    printed = run(2, "--output_dir", str(killed), "--resume_from_checkpoint", "latest")
    assert "at step 2" in printed
    assert [step for step, _ in losses(killed, 4)] == [1, 2, 3, 4]
    assert losses(killed, 4)[:2] == losses(killed, 2)
    assert json.loads((killed / "training_summary.json").read_text())["steps"] == 4
