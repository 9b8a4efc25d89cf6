"""The stabilized-sync training script with the AV-HuBERT lip-sync loss (Yaman et al., AV-HuBERT expert, eq. 1):
2 steps with a tiny random AV-HuBERT (resuming is the same code path as the other sync losses, tested in
test_train_stable_sync.py)."""

import json

import torch

from ..conftest import contract_dataset
from .test_train_syncers import ROOT, launch_script

SCRIPT = ROOT / "examples" / "train_stable_sync.py"


def test_talking_face_with_the_av_hubert_loss(tmp_path):
    from talkhead.models.av_hubert import AVHubertConfig, AVHubertModel
    from talkhead.models.avsyncnet import AVSyncNet, AVSyncNetConfig
    from talkhead.models.stable_sync import StableSyncFaceGenerator, StableSyncFaceGeneratorConfig

    dataset = contract_dataset(tmp_path / "ds", num_clips=4, frames=30, sources=2, faces=True)
    torch.manual_seed(0)
    AVSyncNet(AVSyncNetConfig.from_preset("tiny")).save_pretrained(tmp_path / "avsyncnet")
    StableSyncFaceGenerator(StableSyncFaceGeneratorConfig.from_preset("tiny")).save_pretrained(tmp_path / "gs")
    AVHubertModel(AVHubertConfig.from_preset("tiny")).save_pretrained(tmp_path / "av_hubert")
    out = tmp_path / "gl"
    launch_script(
        SCRIPT,
        "--dataset",
        str(dataset),
        "--avsyncnet",
        str(tmp_path / "avsyncnet"),
        "--generator_config",
        "tiny",
        "--discriminator_config",
        "tiny",
        "--batch_size",
        "2",
        "--validation_steps",
        "100",
        "--validation_samples",
        "2",
        "--checkpointing_steps",
        "2",
        "--logging_steps",
        "1",
        "--stage",
        "talking-face",
        "--silent_lip",
        str(tmp_path / "gs"),
        "--sync_loss",
        "av_hubert",
        "--av_hubert",
        str(tmp_path / "av_hubert"),
        "--av_hubert_variant",
        "multimodal",
        "--triplet_weight",
        "0",
        "--output_dir",
        str(out),
        "--max_steps",
        "2",
    )
    history = json.loads((out / "checkpoints" / "checkpoint_2" / "trainer_state.json").read_text())["history"]
    assert {"pixel", "sync", "gan"} <= set(history["train"]) and "triplet" not in history["train"]
    assert len(history["train"]["sync"]) == 2  # one logged value a step
    arguments = json.loads((out / "training_args.json").read_text())
    # Yaman et al., AV-HuBERT expert, eq. 3; resolved from the default and saved for a resume
    assert arguments["sync_weight"] == 0.5
    summary = json.loads((out / "training_summary.json").read_text())
    assert (
        summary["steps"] == 2 and summary["sync_loss"] == "av_hubert" and summary["av_hubert_variant"] == "multimodal"
    )
