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
