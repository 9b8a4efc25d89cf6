"""Resume = uninterrupted (resume_check.py) for the training scripts other than the mouth-motion one (whose check runs in
the default suite). Opt-in (``pytest -m slow``): a full and a restarted run each.

These scripts do not resume exactly yet: after a restart each begins a fresh pass over its loader (the windows or
groups already drawn in the interrupted pass come again, and a new loader iterator draws from the global RNG that
dropout uses), so the weights at the next checkpoint differ by about 1e-4. ``strict=True``: when a script is fixed
as train_mouth_motion.py was, its check passes and the xfail has to go.
"""

import pytest

from ..conftest import contract_dataset
from .resume_check import check_resume
from .test_train_syncers import ROOT

NOT_EXACT = pytest.mark.xfail(strict=True, reason="the data stream restarts with a fresh pass at a resume")


@pytest.mark.slow
@NOT_EXACT
def test_syncers_resume_exactly(tmp_path):
    dataset = contract_dataset(tmp_path / "ds", num_clips=6, frames=90, sources=3)
    check_resume(ROOT / "examples" / "train_syncers.py", ["--dataset", str(dataset), "--model_config", "tiny",
                 "--group_size", "4", "--clips_per_batch", "2", "--validation_steps", "1", "--logging_steps", "1"], tmp_path)


@pytest.mark.slow
@NOT_EXACT
def test_avsyncnet_resumes_exactly(tmp_path):
    dataset = contract_dataset(tmp_path / "ds", num_clips=4, frames=30, sources=2, faces=True)
    check_resume(ROOT / "examples" / "train_avsyncnet.py", ["--dataset", str(dataset), "--model_config", "tiny",
                 "--batch_size", "4", "--validation_steps", "1", "--validation_samples", "8", "--logging_steps", "1"], tmp_path)


@pytest.mark.slow
@NOT_EXACT
def test_mouth_sync_resumes_exactly(tmp_path):
    dataset = contract_dataset(tmp_path / "ds", num_clips=4, frames=60, sources=2)
    check_resume(ROOT / "examples" / "train_mouth_sync.py", ["--dataset", str(dataset), "--model_config", "tiny",
                 "--batch_size", "2", "--validation_sources", "source1", "--validation_steps", "1",
                 "--validation_samples", "4", "--logging_steps", "1"], tmp_path)
