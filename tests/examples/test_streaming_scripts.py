"""Every training script streams its data (``--streaming`` on Parquet shards): two processes under bf16, each reading
its own Parquet file, restarted mid-pass from their step-2 checkpoint, reach the states and losses of the run that
was never stopped. train_mouth_motion.py has its own tests (test_train_streaming.py)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from talkhead.data.clips import load_dataset_dict
from talkhead.data.shards import export_shards

from ..conftest import contract_dataset
from .resume_check import SIDE_FILES, assert_resumed_equals
from .test_train_streaming import free_port
from .test_train_syncers import ROOT

EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Shards of 6 clips of 60 frames with faces and mouth crops (source1 held out), and the tiny frozen models the
    GANs and experts read."""
    from talkhead.models.avsyncnet import AVSyncNet, AVSyncNetConfig
    from talkhead.models.ms_sync import MSSyncSyncerConfig, MSSyncSyncerModel

    root = tmp_path_factory.mktemp("streamed")
    dataset = contract_dataset(root / "ds", num_clips=6, frames=60, sources=2, faces=True, mouths=True)
    export_shards(load_dataset_dict(dataset), root / "shards", 2)
    torch.manual_seed(0)
    AVSyncNet(AVSyncNetConfig.from_preset("tiny")).save_pretrained(root / "avsyncnet")
    for name, objective in (("loss", "infonce"), ("eval", "contrastive")):
        config = MSSyncSyncerConfig.from_preset(
            "tiny", objective=objective, normalize_embeddings=objective == "infonce"
        )
        MSSyncSyncerModel(config).save_pretrained(root / name)
    return root


def script_arguments(root: Path) -> dict[str, tuple[Path, list[str]]]:
    """Each script and its tiny streamed run's own arguments."""
    tiny_gan = ["--generator_config", "tiny", "--discriminator_config", "tiny", "--batch_size", "2"]
    experts = ["--model_config", "tiny", "--batch_size", "2", "--validation_samples", "4"]
    return {
        "syncers": (
            EXAMPLES / "train_syncers.py",
            ["--model_config", "tiny", "--group_size", "4", "--clips_per_batch", "2"],
        ),
        "ms_sync": (
            EXAMPLES / "train_ms_sync.py",
            [*tiny_gan, "--loss_syncers", str(root / "loss"), "--eval_syncers", str(root / "eval")]
            + ["--sequence_length", "30", "--validation_clip_frames", "40"],
        ),
        "avsyncnet": (EXAMPLES / "train_avsyncnet.py", experts),
        "syncnet_expert": (EXAMPLES / "train_syncnet_expert.py", [*experts, "--objective", "bce"]),
        "stable_sync": (
            EXAMPLES / "train_stable_sync.py",
            [*tiny_gan, "--avsyncnet", str(root / "avsyncnet"), "--stage", "silent-lip", "--validation_samples", "4"],
        ),
        "mouth_sync": (EXAMPLES / "train_mouth_sync.py", experts),
        "mouth_interior": (EXAMPLES / "train_mouth_interior.py", [*experts, "--gan_start_step", "1"]),
    }


SCRIPTS = list(script_arguments(Path()))
# the scripts share one accelerate skeleton: a GAN (two optimizers) and a contrastive expert run by default, the others
# with `pytest -m slow` (each takes about 45 s of both cores; the default suite must stay under 10 minutes)
DEFAULT_SCRIPTS = ("ms_sync", "syncers")


def streamed(root: Path, name: str) -> tuple[Path, list[str]]:
    script, own = script_arguments(root)[name]
    shared = ["--dataset", str(root / "shards"), "--streaming", "True", "--window_buffer", "4"]
    shared += ["--validation_sources", "source1", "--validation_steps", "2", "--logging_steps", "1"]
    return script, [*shared, *own, "--report_to", "none"]


def run(script: Path, args: list[str], precision: str = "bf16", processes: int = 1) -> str:
    """The script in ``processes`` CPU processes under ``precision``: one runs it as ``accelerate launch
    --mixed_precision`` would (the launcher's environment, without the launcher's start-up), two through
    ``accelerate launch --multi_gpu``."""
    env = {**os.environ, "TQDM_DISABLE": "1", "ACCELERATE_USE_CPU": "1", "ACCELERATE_MIXED_PRECISION": precision}
    if processes == 1:
        command = [sys.executable, str(script), *args]
    else:
        launch = ["--multi_gpu", "--main_process_port", str(free_port()), "--num_processes", str(processes)]
        launch += ["--num_machines", "1", "--mixed_precision", precision, "--dynamo_backend", "no"]
        command = [sys.executable, "-m", "accelerate.commands.launch", *launch, str(script), *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.mark.parametrize(
    "name", [name if name in DEFAULT_SCRIPTS else pytest.param(name, marks=pytest.mark.slow) for name in SCRIPTS]
)
def test_two_processes_stream_their_own_parts_and_resume_mid_pass_to_the_same_losses(inputs, tmp_path, name):
    """Two processes under bf16, each streaming its own Parquet file, restarted from their step-2 checkpoint (what
    the disk holds after a kill at step 3), reach the states and losses of the run that was never stopped."""
    script, args = streamed(inputs, name)
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    every = ["--checkpointing_steps", "2", "--max_steps", "4"]
    printed = run(script, [*args, "--output_dir", str(full), *every], processes=2)
    assert "process 1 of 2" in printed or "streamed" in printed
    start = full / "checkpoints" / "checkpoint_2"
    shutil.copytree(start, resumed / "checkpoints" / start.name)
    for side in SIDE_FILES:
        if (full / side).exists():
            shutil.copy(full / side, resumed / side)
    streams = torch.load(start / "custom_checkpoint_1.pkl", weights_only=False)
    assert streams["world_size"] == 2 and len(streams["processes"]) == 2
    assert (start / "random_states_1.pkl").exists()
    if name == "syncers":  # the place held before the batch whose groups the steps were taking
        assert json.loads((start / "trainer_state.json").read_text())["position"] == [0, 2]
    else:
        assert all(p["epoch"] == 0 and p["buffer"] for p in streams["processes"]), "inside the first pass"
    printed = run(script, ["--output_dir", str(resumed), "--resume_from_checkpoint", "latest"], processes=2)
    assert "at step 2" in printed
    assert_resumed_equals(full, resumed, every=2, total=4)
    summary = json.loads((resumed / "training_summary.json").read_text())
    assert summary["steps"] == 4 and summary["train_clips"] is None and summary["validation_clips"] == 3
