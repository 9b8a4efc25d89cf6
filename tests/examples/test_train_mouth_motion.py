"""The mouth-motion training script with accelerate: a resumed run equals an uninterrupted one; the mel-only row."""

import json

import pytest

from ..conftest import contract_dataset
from .resume_check import check_resume
from .test_train_syncers import ROOT, launch_script

SCRIPT = ROOT / "examples" / "train_mouth_motion.py"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return contract_dataset(tmp_path_factory.mktemp("motion") / "ds", num_clips=4, frames=60, sources=2)


def test_a_resumed_run_equals_an_uninterrupted_one(dataset, tmp_path):
    """4 steps straight against 2 steps, a crash, and a restart from the step-2 checkpoint with the saved arguments
    alone: the same weights, optimiser moments, scheduler and losses at step 4 (resume_check.py)."""
    # the phone loop, not the default word recogniser: 20x faster, and what the checkpoints' resume is about is the same
    common = [
        "--dataset",
        str(dataset),
        "--model_config",
        "tiny",
        "--batch_size",
        "2",
        "--window",
        "30",
        "--validation_sources",
        "source1",
        "--validation_steps",
        "1",
        "--logging_steps",
        "1",
        "--phone_decoder",
        "allphone",
    ]
    check_resume(SCRIPT, common, tmp_path, every=2, total=4)
    out = tmp_path / "resumed"
    assert (out / "av_offsets.json").exists() and (out / "phones_cache.npz").exists()
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["steps"] == 4 and summary["validation_clips"] == 2
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "mouth_motion" and config["output_gain"] == summary["output_gain"]
    assert {p.name for p in (out / "plots").iterdir()} == {"loss.png", "validation_lip_follow.png"}


def test_mel_only(dataset, tmp_path):
    out = tmp_path / "mel"
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
        "--window",
        "30",
        "--max_steps",
        "1",
        "--use_phones",
        "False",
        "--align_offsets",
        "False",
    )
    config = json.loads((out / "config.json").read_text())
    assert config["use_phones"] is False and not (out / "av_offsets.json").exists()


def test_a_sync_expert_that_hears_other_phones_is_refused(dataset, tmp_path):
    """The mouth-sync expert decodes phones with the phone loop; a model trained on word phones must not be taught
    by it."""
    import runpy

    from talkhead.models.mouth_sync import MouthSyncConfig, MouthSyncModel
    from talkhead.processing.phones import phones_available

    if not phones_available():
        pytest.skip("pocketsphinx is not installed")
    MouthSyncModel(MouthSyncConfig.from_preset("tiny")).save_pretrained(tmp_path / "expert")
    main = runpy.run_path(str(SCRIPT), run_name="talkhead_test")["main"]
    with pytest.raises(SystemExit, match="reads other audio features.*phone_decoder=allphone"):
        main(
            [
                "--dataset",
                str(dataset),
                "--output_dir",
                str(tmp_path / "run"),
                "--model_config",
                "tiny",
                "--phone_decoder",
                "words",
                "--sync_expert",
                str(tmp_path / "expert"),
                "--sync_loss_weight",
                "0.1",
                "--max_steps",
                "1",
                "--align_offsets",
                "False",
                "--report_to",
                "none",
            ]
        )


def test_fit_speech_opening_std_sets_the_field(dataset, tmp_path):
    import subprocess
    import sys

    from talkhead.models.mouth_motion import MouthMotionConfig

    MouthMotionConfig.from_preset("tiny").save_pretrained(tmp_path / "model")
    script = ROOT / "examples" / "fit_speech_opening_std.py"
    done = subprocess.run(
        [sys.executable, str(script), "--dataset", str(dataset), "--model", str(tmp_path / "model")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    value = json.loads((tmp_path / "model" / "config.json").read_text())["speech_opening_std"]
    assert 0 < value < 1 and "median of 4 clips" in done.stdout
    assert MouthMotionConfig.from_pretrained(tmp_path / "model").speech_opening_std == value
