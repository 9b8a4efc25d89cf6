"""A trained model as it is published: exported into ``hub_configs/<name>/``, or uploaded at the end of a run.

Weights are stored in float16 to halve the repository size, and ``config.json`` says ``float32``,
so ``from_pretrained`` casts them back and the model runs in float32 on a CPU. Benchmarks load the
exported folder, so every published number is measured on the rounded weights.

``--push_to_hub`` (:func:`push_to_hub`) uploads a training run's output folder as it is, with talkhead's card.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch

from .model_card import save_card, training_card
from .upload import HubUploadError, upload_folder

#: The files a training run writes beside its model (talkhead.training.checkpoints), which a recipe, a card and
#: an upload read: the resolved arguments and the run's summary.
ARGS_FILE = "training_args.json"
SUMMARY_FILE = "training_summary.json"


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
    args = json.loads((run / ARGS_FILE).read_text())
    flags = [f"--{key} {value}" for key, value in args.items() if value is not None and key not in NOT_RECIPE]
    return f"accelerate launch examples/{script} --dataset DATASET --output_dir {run.name} " + " ".join(flags)


#: What ``--push_to_hub`` uploads from OUTPUT_DIR: the model, its card and the run's record (no checkpoints/).
UPLOAD_PATTERNS = ["config.json", "*.safetensors", "README.md", ARGS_FILE, SUMMARY_FILE, "plots/*.png"]


def push_to_hub(model, hub_model_id: str | None, output_dir: str | Path) -> bool:
    """``--push_to_hub``: upload the final model in ``output_dir`` with talkhead's card; returns whether it was
    uploaded.

    The card is ``output_dir/README.md`` when there is one (a publish script's), else the training card of
    :func:`talkhead.hub.model_card.training_card`, written there first. The upload is
    ``HfApi.upload_folder`` of that folder, so transformers' generic card never replaces ours. A failure
    (authentication, network, any other Hub error, told apart) is printed and the run ends cleanly: the
    model stays in ``output_dir``.
    """

    output_dir = Path(output_dir)
    if not (output_dir / "README.md").exists():
        args, summary = (
            {} if not (output_dir / f).exists() else json.loads((output_dir / f).read_text())
            for f in (ARGS_FILE, SUMMARY_FILE)
        )
        save_card(training_card(model, output_dir, args, summary), output_dir)
    repo_id = hub_model_id or output_dir.name
    try:
        url = upload_folder(
            output_dir,
            repo_id,
            allow_patterns=UPLOAD_PATTERNS,
            commit_message=f"talkhead training run {output_dir.name}",
        )
    except HubUploadError as err:
        print(f"push_to_hub failed, {err.kind}: {err}; the model is in {output_dir}")
        return False
    print(f"pushed {output_dir} to {repo_id} ({url})")
    return True
