"""The stabilized-sync training script: G_S for 2 steps, then G_L on top of it for 2 steps, resumed."""

import json

import pytest
import torch

from ..conftest import contract_dataset
from .test_train_syncers import ROOT, launch_script

SCRIPT = ROOT / "examples" / "train_stable_sync.py"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from talkhead.models.avsyncnet import AVSyncNet, AVSyncNetConfig

    root = tmp_path_factory.mktemp("stable")
    dataset = contract_dataset(root / "ds", num_clips=4, frames=30, sources=2, faces=True)
    torch.manual_seed(0)
    AVSyncNet(AVSyncNetConfig.from_preset("tiny")).save_pretrained(root / "avsyncnet")
    return root, dataset


@pytest.mark.slow  # the default suite resumes every script streamed in two processes (test_streaming_scripts.py)
def test_silent_lip_then_talking_face_with_resume(setup):
    root, dataset = setup
    common = [
        "--dataset",
        str(dataset),
        "--avsyncnet",
        str(root / "avsyncnet"),
        "--generator_config",
        "tiny",
        "--discriminator_config",
        "tiny",
        "--batch_size",
        "2",
        "--validation_steps",
        "1",
        "--validation_samples",
        "4",
        "--checkpointing_steps",
        "2",
        "--logging_steps",
        "1",
    ]
    launch_script(SCRIPT, *common, "--stage", "silent-lip", "--output_dir", str(root / "gs"), "--max_steps", "2")
    assert (root / "gs" / "samples" / "step-0000002.png").exists()
    out = root / "gl"
    launch_script(
        SCRIPT,
        *common,
        "--stage",
        "talking-face",
        "--silent_lip",
        str(root / "gs"),
        "--output_dir",
        str(out),
        "--init_generator",
        str(root / "gs"),
        "--max_steps",
        "2",
    )
    history = json.loads((out / "checkpoints" / "checkpoint_2" / "trainer_state.json").read_text())["history"]
    assert {"pixel", "sync", "triplet", "gan", "discriminator"} <= set(history["train"])
    result = launch_script(SCRIPT, "--output_dir", str(out), "--resume_from_checkpoint", "latest", "--max_steps", "3")
    assert "resumed from" in result.stdout + result.stderr
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["steps"] == 3 and summary["sync_loss"] == "stabilized" and summary["perceptual"] is False
    assert {"psnr", "ssim"} <= set(summary["best"])
    from talkhead.models.stable_sync import StableSyncFaceGenerator

    generator = StableSyncFaceGenerator.from_pretrained(out)
    assert generator.config.audio_encoder["face_size"] == 32  # the tiny AVSyncNet's tower was carried over


def test_talking_face_needs_a_silent_lip_generator(setup, tmp_path):
    import subprocess
    import sys

    root, dataset = setup
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--dataset",
            str(dataset),
            "--avsyncnet",
            str(root / "avsyncnet"),
            "--stage",
            "talking-face",
            "--silent_lip",
            "",
            "--output_dir",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
        env={"ACCELERATE_USE_CPU": "1", "PATH": ""},
    )
    assert result.returncode != 0 and "--silent_lip" in result.stderr
