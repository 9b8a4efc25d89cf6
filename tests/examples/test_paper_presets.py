"""The papers' model sizes (the ``paper`` presets) train: each training script that has one runs two steps with it on
tiny made-up data, streamed, under bf16 (slow: the paper-size models are up to hundreds of MB)."""

import json
from pathlib import Path

import pytest

from .test_streaming_scripts import inputs, run, script_arguments, streamed  # noqa: F401 (inputs is a fixture)

pytestmark = pytest.mark.slow

# the configuration flags that take the paper presets; train_mouth_sync.py and train_mouth_interior.py train models of
# this library's own, which have no paper size
PAPER_FLAGS = ("--model_config", "--generator_config", "--discriminator_config")
SCRIPTS = ["syncers", "ms_sync", "avsyncnet", "syncnet_expert", "stable_sync"]


def with_paper_presets(args: list[str]) -> list[str]:
    return ["paper" if index and args[index - 1] in PAPER_FLAGS else value for index, value in enumerate(args)]


def test_every_paper_script_is_listed():
    assert set(SCRIPTS) <= set(script_arguments(Path()))


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_paper_preset_trains_two_steps(inputs, tmp_path, name):  # noqa: F811
    script, args = streamed(inputs, name)
    args = with_paper_presets(args)
    assert args.count("paper") >= 1
    output = tmp_path / "paper"
    run(script, [*args, "--output_dir", str(output), "--max_steps", "2", "--validation_steps", "100"])
    summary = json.loads((output / "training_summary.json").read_text())
    assert summary["steps"] == 2
    config = json.loads(next((output / "checkpoints").rglob("trainer_state.json")).read_text())
    assert config["step"] == 2
