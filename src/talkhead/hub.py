"""Where the shipped checkpoints live, and loading them with a clear error.

A checkpoint name resolves, in order, to: an existing folder; ``$TALKHEAD_HUB_CONFIGS/<name>``;
``hub_configs/<name>`` of this checkout (what the CLI uses by default, with no download); or else a
Hub repository id that ``from_pretrained`` fetches where the Hub is reachable.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import TalkheadInputError

HUB_CONFIGS = Path(__file__).resolve().parents[2] / "hub_configs"


def checkpoint_path(name_or_path: str | os.PathLike) -> str:
    """The local folder of ``name_or_path`` if there is one, else the name itself (a Hub id)."""
    path = Path(name_or_path)
    if path.is_dir():
        return str(path)
    for root in (os.environ.get("TALKHEAD_HUB_CONFIGS"), HUB_CONFIGS):
        if root and (Path(root) / str(name_or_path)).is_dir():
            return str(Path(root) / str(name_or_path))
    return str(name_or_path)


def load_pretrained(model_class, name_or_path: str | os.PathLike, **kwargs):
    """``model_class.from_pretrained`` on the resolved checkpoint; a missing one is a clear input error."""
    resolved = checkpoint_path(name_or_path)
    try:
        return model_class.from_pretrained(resolved, **kwargs)
    except OSError as err:
        raise TalkheadInputError(
            f"cannot load checkpoint '{name_or_path}': it is not a folder, not in hub_configs/, and the Hub "
            f"could not provide it ({type(err).__name__}). Give the path of a folder with config.json and "
            f"model.safetensors"
        ) from err
