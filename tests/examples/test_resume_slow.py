"""Resume = uninterrupted (resume_check.py) for the training scripts other than the mouth-motion one, whose check runs
in the default suite. Opt-in (``pytest -m slow``): a full run and a restarted one each, about a minute a script.

train_syncers.py resumes in the middle of a batch of clips: its groups are drawn from a generator seeded by the pass
and the batch, and the trainer state holds how many groups of the batch were done.
"""

import pytest
import torch

from ..conftest import contract_dataset
from .resume_check import check_resume
from .test_train_syncers import ROOT

pytestmark = pytest.mark.slow


def test_avsyncnet_resumes_exactly(tmp_path):
    dataset = contract_dataset(tmp_path / "ds", num_clips=4, frames=30, sources=2, faces=True)
    check_resume(
        ROOT / "examples" / "train_avsyncnet.py",
        [
            "--dataset",
            str(dataset),
            "--model_config",
            "tiny",
            "--batch_size",
            "4",
            "--validation_steps",
            "1",
            "--validation_samples",
            "8",
            "--logging_steps",
            "1",
        ],
        tmp_path,
    )


def test_mouth_sync_resumes_exactly(tmp_path):
    dataset = contract_dataset(tmp_path / "ds", num_clips=4, frames=60, sources=2)
    check_resume(
        ROOT / "examples" / "train_mouth_sync.py",
        [
            "--dataset",
            str(dataset),
            "--model_config",
            "tiny",
            "--batch_size",
            "2",
            "--validation_sources",
            "source1",
            "--validation_steps",
            "1",
            "--validation_samples",
            "4",
            "--logging_steps",
            "1",
        ],
        tmp_path,
    )


def test_stable_sync_resumes_exactly(tmp_path):
    from talkhead.models.avsyncnet import AVSyncNet, AVSyncNetConfig

    dataset = contract_dataset(tmp_path / "ds", num_clips=4, frames=30, sources=2, faces=True)
    torch.manual_seed(0)
    AVSyncNet(AVSyncNetConfig.from_preset("tiny")).save_pretrained(tmp_path / "avsyncnet")
    check_resume(
        ROOT / "examples" / "train_stable_sync.py",
        [
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
            "1",
            "--validation_samples",
            "4",
            "--logging_steps",
            "1",
            "--stage",
            "silent-lip",
        ],
        tmp_path,
    )


def test_ms_sync_resumes_exactly(tmp_path):
    from talkhead.models.ms_sync import MSSyncSyncerConfig, MSSyncSyncerModel

    dataset = contract_dataset(tmp_path / "ds", num_clips=6, frames=60, sources=3)
    torch.manual_seed(0)
    for name, objective in (("loss", "infonce"), ("eval", "contrastive")):
        MSSyncSyncerModel(
            MSSyncSyncerConfig.from_preset("tiny", objective=objective, normalize_embeddings=objective == "infonce")
        ).save_pretrained(tmp_path / name)
    check_resume(
        ROOT / "examples" / "train_ms_sync.py",
        [
            "--dataset",
            str(dataset),
            "--generator_config",
            "tiny",
            "--discriminator_config",
            "tiny",
            "--loss_syncers",
            str(tmp_path / "loss"),
            "--eval_syncers",
            str(tmp_path / "eval"),
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
        ],
        tmp_path,
    )


def test_syncers_resume_exactly(tmp_path):
    dataset = contract_dataset(tmp_path / "ds", num_clips=6, frames=90, sources=3)
    check_resume(
        ROOT / "examples" / "train_syncers.py",
        [
            "--dataset",
            str(dataset),
            "--model_config",
            "tiny",
            "--group_size",
            "4",
            "--clips_per_batch",
            "2",
            "--validation_steps",
            "1",
            "--logging_steps",
            "1",
        ],
        tmp_path,
    )
