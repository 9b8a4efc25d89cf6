"""Checkpointing and resuming shared by the training scripts in examples/.

Layout of an output folder::

    OUTPUT_DIR/
      training_args.json        the resolved arguments (a run resumes from these)
      config.json, model.safetensors, README.md   the final model (save_pretrained + model card)
      checkpoints/checkpoint_1000/  accelerate state, the trainer state among its custom objects, trainer_state.json
      logs/                     TensorBoard events (``--report_to``)
      plots/*.png

Checkpoints are accelerate's own: ``ProjectConfiguration(automatic_checkpoint_naming=True, total_limit=...)``
names them ``checkpoint_<iteration>`` (the iteration is set to the step before each save, so the name is the
step) and removes the oldest; the trainer state (step, history) and the EMA weights are registered with
``register_for_checkpointing``, so ``load_state`` restores them with the model, optimiser, scheduler and RNG
state. ``trainer_state.json``, a readable copy of the trainer state, is written last: a folder without it is
a checkpoint a crash interrupted, and ``--resume_from_checkpoint latest`` passes it over.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import sys
from pathlib import Path

from ..errors import TalkheadInputError
from ..hub.model_export import ARGS_FILE, SUMMARY_FILE

CHECKPOINTS = "checkpoints"
STATE_FILE = "trainer_state.json"
#: accelerate's automatic checkpoint names, and the names older talkhead runs used
_CHECKPOINT_NAME = re.compile(r"^(?:checkpoint_|step-)(\d+)$")


def checkpoint_step(path: str | Path) -> int | None:
    """The step of a checkpoint folder (``checkpoint_N``, or ``step-000000N`` of older runs); None for other names."""
    match = _CHECKPOINT_NAME.match(Path(path).name)
    return int(match.group(1)) if match else None


def checkpoint_dirs(output_dir: str | Path) -> list[Path]:
    """The complete checkpoints of a run (with their ``trainer_state.json``), oldest first."""
    root = Path(output_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if checkpoint_step(p) is not None and (p / STATE_FILE).exists()]
    return sorted(found, key=checkpoint_step)


def checkpoint_at(output_dir: str | Path, step: int) -> Path:
    """The complete checkpoint of ``step`` in a run; FileNotFoundError when there is none."""
    for path in checkpoint_dirs(output_dir):
        if checkpoint_step(path) == step:
            return path
    raise FileNotFoundError(f"{output_dir}: no complete checkpoint of step {step} under {CHECKPOINTS}/")


def latest_trainer_state(output_dir: str | Path) -> dict:
    """The trainer state (step, history, ...) of a run's newest complete checkpoint."""
    found = checkpoint_dirs(output_dir)
    if not found:
        raise FileNotFoundError(f"{output_dir}: no complete checkpoint under {CHECKPOINTS}/")
    return json.loads((found[-1] / STATE_FILE).read_text())


def resolve_checkpoint(output_dir: str | Path, resume: str | None) -> Path | None:
    """The checkpoint folder ``resume`` names: ``latest`` (None if there is none yet) or a path."""
    if not resume:
        return None
    if resume == "latest":
        found = checkpoint_dirs(output_dir)
        return found[-1] if found else None
    path = Path(resume)
    if not (path / STATE_FILE).exists():
        raise FileNotFoundError(
            f"--resume_from_checkpoint {resume}: no {STATE_FILE} there (an interrupted save?); "
            "give a checkpoints/checkpoint_N folder or 'latest'"
        )
    return path


def save_checkpoint(accelerator, state) -> Path:
    """Save the accelerate state at ``state.step`` (registered objects included), then ``trainer_state.json``.

    accelerate names the folder from its save iteration, set here to the step; a folder of that name left by a save
    a crash interrupted is removed first (accelerate refuses to overwrite one).
    """
    root = Path(accelerator.project_dir) / CHECKPOINTS
    path = root / f"checkpoint_{state.step}"
    if accelerator.is_main_process and path.exists():
        shutil.rmtree(path)
    accelerator.wait_for_everyone()
    accelerator.project_configuration.iteration = state.step
    accelerator.save_state()
    if accelerator.is_main_process:
        (path / STATE_FILE).write_text(json.dumps(state.state_dict(), indent=1))
    accelerator.wait_for_everyone()
    return path


def load_checkpoint(accelerator, path: Path) -> None:
    """Restore everything ``save_checkpoint`` saved (the registered trainer state included) from ``path``."""
    if not any(path.glob("custom_checkpoint_*.pkl")):
        raise SystemExit(
            f"error: {path} was written by an older talkhead (no registered trainer state); "
            "resume it with the version that wrote it"
        )
    try:
        accelerator.load_state(str(path))
    except TalkheadInputError as err:  # a registered object refuses the checkpoint (its data, its processes)
        raise SystemExit(f"error: --resume_from_checkpoint {path}: {err}") from err


def saved_arguments(argv: list[str] | None = None) -> dict:
    """The arguments a run saved, when ``argv`` resumes a checkpoint or points at an output folder.

    Lets ``train_x.py --resume_from_checkpoint OUT/checkpoints/checkpoint_N`` (or ``--output_dir OUT
    --resume_from_checkpoint latest``) resume with nothing else on the command line; flags that are
    given still override the saved values.
    """
    argv = sys.argv[1:] if argv is None else argv
    values = dict(zip(argv, argv[1:], strict=False))
    candidates = []
    if values.get("--resume_from_checkpoint") not in (None, "latest"):
        candidates.append(Path(values["--resume_from_checkpoint"]).parent.parent / ARGS_FILE)
    if "--output_dir" in values:
        candidates.append(Path(values["--output_dir"]) / ARGS_FILE)
    for candidate in candidates:
        if candidate.exists():
            return json.loads(candidate.read_text())
    return {}


def parse_arguments(dataclass_type, argv: list[str] | None = None):
    """Parse a training-arguments dataclass with HfArgumentParser, defaulting to a resumed run's saved values.

    A single ``.json`` argument is read as the whole configuration.
    """
    from transformers import HfArgumentParser

    argv = sys.argv[1:] if argv is None else argv
    parser = HfArgumentParser(dataclass_type)
    if len(argv) == 1 and argv[0].endswith(".json"):
        (args,) = parser.parse_json_file(argv[0])
        return args
    known = {field.name for field in dataclasses.fields(dataclass_type)}
    parser.set_defaults(**{k: v for k, v in saved_arguments(argv).items() if k in known})
    (args,) = parser.parse_args_into_dataclasses(args=argv)
    return args


def save_arguments(args, output_dir: str | Path) -> None:
    path = Path(output_dir) / ARGS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dataclasses.asdict(args), indent=2))


def save_final(model, output_dir: str | Path, summary: dict, best_dir: str | None = None):
    """The end of a run: the best validated weights (``output_dir/best_dir``, when saved) replace the last ones,
    the model is saved to ``output_dir`` with ``training_summary.json`` beside it. Returns the saved model."""
    output_dir = Path(output_dir)
    if best_dir is not None and (output_dir / best_dir).exists():
        model = type(model).from_pretrained(output_dir / best_dir)
    model.save_pretrained(output_dir)
    (output_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
    return model
