"""The MS-Sync GAN training script, launched with accelerate for 2 steps and resumed."""

import json

import pytest
import torch

from ..conftest import contract_dataset
from .test_train_syncers import ROOT, launch_script

SCRIPT = ROOT / "examples" / "train_ms_sync.py"


def make_inputs(root):
    """A 6-clip dataset and tiny random loss (``root/loss``) and evaluation (``root/eval``) syncers; returns the
    dataset."""
    from talkhead.models.ms_sync import MSSyncSyncerConfig, MSSyncSyncerModel

    dataset = contract_dataset(root / "ds", num_clips=6, frames=60, sources=3)
    torch.manual_seed(0)
    for name, objective in (("loss", "infonce"), ("eval", "contrastive")):
        MSSyncSyncerModel(
            MSSyncSyncerConfig.from_preset("tiny", objective=objective, normalize_embeddings=objective == "infonce")
        ).save_pretrained(root / name)
    return dataset


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("gan")
    return root, make_inputs(root)


@pytest.mark.slow  # the default suite resumes every script streamed in two processes (test_streaming_scripts.py)
def test_two_steps_render_a_sample_then_resume(setup):
    root, dataset = setup
    out = root / "run"
    common = [
        "--dataset",
        str(dataset),
        "--output_dir",
        str(out),
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
        "--checkpointing_steps",
        "2",
        "--logging_steps",
        "1",
    ]
    launch_script(SCRIPT, *common, "--max_steps", "2")
    assert (out / "checkpoints" / "checkpoint_2" / "trainer_state.json").exists()
    assert (out / "samples" / "step-0000002.mp4").stat().st_size > 1000
    assert {p.name for p in (out / "plots").iterdir()} == {
        "losses.png",
        "validation_av_conf.png",
        "validation_av_off.png",
    }
    result = launch_script(
        SCRIPT,
        "--resume_from_checkpoint",
        str(out / "checkpoints" / "checkpoint_2"),
        "--max_steps",
        "3",
        "--checkpointing_steps",
        "3",
    )
    assert "resumed from" in result.stdout + result.stderr
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["steps"] == 3 and summary["best"]["step"] in (1, 2, 3) and "av_conf_4" in summary["ground_truth"]

    from talkhead.models.ms_sync import MSSyncGenerator

    generator = MSSyncGenerator.from_pretrained(out)
    assert generator.config.num_branches == 4


def test_ablation_switches(setup):
    root, dataset = setup
    out = root / "ablation"
    launch_script(
        SCRIPT,
        "--dataset",
        str(dataset),
        "--output_dir",
        str(out),
        "--generator_config",
        "tiny",
        "--discriminator_config",
        "tiny",
        "--loss_syncers",
        str(root / "loss"),
        "--eval_syncers",
        "",
        "--sequence_length",
        "30",
        "--batch_size",
        "2",
        "--max_steps",
        "1",
        "--single_branch",
        "--sync_levels",
        "1",
    )
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["single_branch"] is True and summary["sync_levels"] == [1] and summary["best"] is None
    assert json.loads((out / "config.json").read_text())["num_branches"] == 1
