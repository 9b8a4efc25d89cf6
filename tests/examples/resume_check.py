"""Resume = uninterrupted: a training script's checkpoint resumed gives the same states and losses as never stopping.

:func:`check_resume` runs a script for ``total`` steps with a checkpoint every ``every`` steps, then restarts it from
a copy of the checkpoint at ``every`` (what the disk holds after a crash between the two) in a fresh output folder,
and compares, at step ``total``, the accelerate state of both runs (model, optimiser, scheduler tensors) and the
training losses logged after the restart. The accelerate state includes the objects registered for checkpointing
(the trainer state and the EMA weights, ``custom_checkpoint_*.pkl``); the wall-clock time is the one thing allowed to
differ. :func:`kill_after_checkpoint` stops a run with SIGKILL right after one of its checkpoints
(pause_after_checkpoint.py holds it still there, so the kill falls between that checkpoint and the next step however
fast the steps are).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import torch

from .test_train_syncers import ROOT, launch_script

PAUSE = ROOT / "tests" / "examples" / "pause_after_checkpoint.py"

# written before the first step and read back by a resumed run (the caches are deterministic functions of the data)
SIDE_FILES = ("training_args.json", "av_offsets.json", "phones_cache.npz")


def state_tensors(checkpoint: Path) -> dict[str, torch.Tensor]:
    """Every tensor of an accelerate checkpoint folder (weights, optimiser moments, scheduler), by file and key."""
    from safetensors.torch import load_file

    found = {}
    for path in sorted(checkpoint.iterdir()):
        if path.suffix == ".safetensors":
            content = load_file(path)
        elif path.suffix in (".bin", ".pkl"):
            content = torch.load(path, map_location="cpu", weights_only=False)
        else:
            continue
        found.update(flatten(content, path.name))
    return {key: value for key, value in found.items() if "wall_seconds" not in key}


def flatten(value, prefix: str) -> dict[str, torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return {prefix: value}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {prefix: torch.tensor(value, dtype=torch.float64)}
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else ()
    found = {}
    for key, item in items:
        found.update(flatten(item, f"{prefix}/{key}"))
    return found


def train_losses(history: dict) -> dict:
    """The logged training losses (a list of (step, value) or a dict of such lists per loss)."""
    train = history["train"]
    return (
        {name: [tuple(entry) for entry in values] for name, values in train.items()}
        if isinstance(train, dict)
        else {"loss": [tuple(entry) for entry in train]}
    )


def assert_resumed_equals(full: Path, resumed: Path, every: int, total: int) -> None:
    """The checkpoint of step ``total`` of a run resumed at ``every`` holds the state of the uninterrupted run's, and
    the losses both logged (those after the restart included) are the same."""
    end = f"checkpoint_{total}"
    expected, restored = state_tensors(full / "checkpoints" / end), state_tensors(resumed / "checkpoints" / end)
    assert expected and restored.keys() == expected.keys()
    for key, value in expected.items():
        torch.testing.assert_close(
            restored[key], value, equal_nan=True, msg=lambda m, key=key: f"{key} after the resume: {m}"
        )
    histories = [
        json.loads((run / "checkpoints" / end / "trainer_state.json").read_text())["history"] for run in (full, resumed)
    ]
    losses = [train_losses(history) for history in histories]
    assert any(step > every for values in losses[0].values() for step, _ in values), "no loss logged after the restart"
    assert losses[1] == losses[0]


def check_resume(script: Path, args: list[str], root: Path, every: int = 2, total: int = 4) -> None:
    full, resumed = root / "full", root / "resumed"
    launch_script(
        script, *args, "--output_dir", str(full), "--checkpointing_steps", str(every), "--max_steps", str(total)
    )
    start = full / "checkpoints" / f"checkpoint_{every}"
    shutil.copytree(start, resumed / "checkpoints" / start.name)
    for name in SIDE_FILES:
        if (full / name).exists():
            shutil.copy(full / name, resumed / name)
    result = launch_script(script, "--output_dir", str(resumed), "--resume_from_checkpoint", "latest")
    assert f"at step {every}" in result.stdout + result.stderr
    assert_resumed_equals(full, resumed, every, total)


def kill_after_checkpoint(
    launch: list[str], step: int, script: Path, args: list[str], log_path: Path, deadline: float = 300
) -> None:
    """Run ``script`` with ``launch`` (the ``accelerate launch ...`` command before the script), paused after the
    checkpoint of ``step``; wait for the pause, SIGKILL its whole process group."""
    env = {**os.environ, "TQDM_DISABLE": "1", "ACCELERATE_USE_CPU": "1"}
    with open(log_path, "w") as log:
        command = [*launch, str(PAUSE), str(step), str(script), *args]
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    started = time.monotonic()
    try:
        while f"paused at {step}" not in log_path.read_text():
            assert process.poll() is None, f"the run ended before its pause: {log_path.read_text()[-3000:]}"
            assert time.monotonic() - started < deadline, "the run never reached its pause"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
