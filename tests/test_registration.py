"""``import talkhead`` registers the models and the two tasks with transformers, lazily, in either import order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHECK = """
import sys
{imports}
from transformers import AutoConfig, AutoModel, pipeline
from transformers.pipelines import PIPELINE_REGISTRY
from talkhead.hub import checkpoint_path

folder = checkpoint_path("talkhead/syncnet-eval")
print(type(AutoConfig.from_pretrained(folder)).__name__, type(AutoModel.from_pretrained(folder)).__name__)
print(sorted(task for task in PIPELINE_REGISTRY.get_supported_tasks() if task in ("lip-sync", "talking-head")))
"""


def run_python(code: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()


def test_import_talkhead_is_light():
    """The hook, not the registration, runs on import: no torch, no transformers until they are used."""
    heavy = run_python("import sys, talkhead; print(sorted({'torch', 'transformers', 'cv2'} & set(sys.modules)))")
    assert heavy == ["[]"]


@pytest.mark.parametrize(
    "imports",
    [
        "import talkhead",
        "import transformers.pipelines\nimport talkhead",
        "from transformers import AutoModel\nimport talkhead",
    ],
)
def test_plain_import_registers_models_and_tasks(imports):
    assert run_python(CHECK.format(imports=imports)) == [
        "SyncNetExpertConfig SyncNetExpert",
        "['lip-sync', 'talking-head']",
    ]


def test_without_talkhead_transformers_does_not_know_the_models():
    """What the tests above would see without the registration (so they can fail)."""
    folder = Path(__file__).resolve().parents[1] / "hub_configs" / "syncnet-eval"
    code = (
        f"from transformers import AutoConfig\ntry:\n    AutoConfig.from_pretrained({str(folder)!r})\n"
        "except ValueError as err:\n    print('unknown' if 'syncnet' in str(err) else err)"
    )
    assert run_python(code) == ["unknown"]


def test_short_name_in_pipeline_constructs():
    import talkhead
    from talkhead.models.stable_sync import StableSyncFaceGenerator
    from talkhead.pipelines import LipSyncPipeline

    dubbing = talkhead.pipeline("lip-sync", model="stable-sync-face")
    assert isinstance(dubbing, LipSyncPipeline) and isinstance(dubbing.model, StableSyncFaceGenerator)
    assert isinstance(dubbing.silent_lip, StableSyncFaceGenerator)  # its G_S, by its default id


def test_transformers_pipeline_default_is_the_shipped_mouth_motion():
    from transformers import pipeline

    from talkhead.models.mouth_motion import MouthMotionModel

    dubbing = pipeline("lip-sync")
    assert isinstance(dubbing.model, MouthMotionModel) and dubbing.silent_lip is None
