"""Export a trained model into ``hub_configs/<name>/`` as it will be published.

Weights are stored in float16 to halve the repository size, and ``config.json`` says ``float32``,
so ``from_pretrained`` casts them back and the model runs in float32 on a CPU. Benchmarks load the
exported folder, so every published number is measured on the rounded weights.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch


def export_checkpoint(model, folder: str | Path, storage_dtype: torch.dtype = torch.float16) -> Path:
    """Save ``model`` to ``folder`` with its floating-point weights in ``storage_dtype``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stored = copy.deepcopy(model).to(storage_dtype)
    stored.save_pretrained(folder)
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())
    config["dtype"] = "float32"
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return folder


#: Arguments a published recipe leaves out: where the run read and wrote, and what does not change the weights.
NOT_RECIPE = (
    "dataset",
    "output_dir",
    "resume_from_checkpoint",
    "push_to_hub",
    "hub_model_id",
    "logging_steps",
    "num_workers",
    "split",
)


def export_run(model_class, run: str | Path, folder: str | Path) -> Path:
    """Export the final weights of a training run (``run``, an ``output_dir``) to ``folder``; prints the size."""
    exported = export_checkpoint(model_class.from_pretrained(run), folder)
    print(f"exported {run} -> {exported} ({(exported / 'model.safetensors').stat().st_size / 1e6:.2f} MB)")
    return exported


def recipe_command(run: str | Path, script: str) -> str:
    """The ``accelerate launch`` line that reproduces ``run``, from its ``training_args.json`` (for a model card)."""
    run = Path(run)
    args = json.loads((run / "training_args.json").read_text())
    flags = [f"--{key} {value}" for key, value in args.items() if value is not None and key not in NOT_RECIPE]
    return f"accelerate launch examples/{script} --dataset DATASET --output_dir {run.name} " + " ".join(flags)
