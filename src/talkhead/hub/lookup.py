"""Model ids, and the folder each one loads from, with no network.

Every model talkhead ships has a Hub-style id, ``talkhead/<name>`` (``talkhead/mouth-motion``,
``talkhead/stable-sync-face``, ...), ``<name>`` being its folder in the repository's ``hub_configs/``; the
bare name (``mouth-motion``) means the same model, so the CLI, :func:`pipeline` and the Space take either.
:func:`checkpoint_path` turns a name into a folder, in this order:

1. an existing local folder (a path, a training run's ``--output_dir``): what the user points at wins, as in
   ``from_pretrained``;
2. the Hugging Face cache (``HF_HOME`` / ``HF_HUB_CACHE``), read with ``snapshot_download(...,
   local_files_only=True)``: a model downloaded (or updated) from the Hub is used before the shipped copy,
   and nothing is fetched, so loading a default never touches the network;
3. the copy shipped inside the package (``talkhead/hub_configs/`` of an installed wheel, ``hub_configs/`` of a
   source checkout), so a plain ``pip install talkhead`` works offline, with no Hub account.

Any other Hub id (``someone/their-model``) that is not in the cache is returned as given: ``from_pretrained``
downloads it where the Hub is reachable and ``HF_HUB_OFFLINE`` is unset, because the user named it. A name that
is none of these is an error listing the known names.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

from ..errors import TalkheadInputError

NAMESPACE = "talkhead"
PACKAGE = Path(__file__).resolve().parents[1]
# a wheel carries the folders as package data (setup.cfg maps hub_configs/ to talkhead.hub_configs); a source
# checkout (editable install) has them at the repository root, two levels above the package (src/talkhead)
SHIPPED_ROOTS = (PACKAGE / "hub_configs", PACKAGE.parents[1] / "hub_configs")


def shipped_root() -> Path | None:
    """The folder holding the shipped model folders, or ``None`` for an install without them."""
    return next((root for root in SHIPPED_ROOTS if root.is_dir()), None)


def shipped_names() -> list[str]:
    """The short names of the shipped models (folders with a config.json), sorted."""
    root = shipped_root()
    return sorted(p.name for p in root.iterdir() if (p / "config.json").is_file()) if root else []


def model_id(name: str | os.PathLike) -> str | None:
    """``talkhead/<name>`` for a shipped model's short name or id; ``None`` for anything else."""
    short = str(name).removeprefix(f"{NAMESPACE}/")
    return f"{NAMESPACE}/{short}" if "/" not in short and short in shipped_names() else None


def cached_snapshot(repo_id: str, cache_dir: str | os.PathLike | None = None) -> Path | None:
    """The Hugging Face cache's snapshot folder of ``repo_id`` (default branch), or ``None``; never downloads.

    ``cache_dir`` overrides the cache ``huggingface_hub`` reads from ``HF_HUB_CACHE`` / ``HF_HOME``.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, local_files_only=True, cache_dir=cache_dir))
    except (LocalEntryNotFoundError, HFValidationError):
        return None


def _complete(snapshot: Path, shipped: Path | None) -> bool:
    """A cached snapshot has config.json and every weight file of the shipped copy: a partial download (only the
    config fetched with ``hf_hub_download``) must not hide the shipped weights."""
    needed = {"config.json"} | ({p.name for p in shipped.glob("*.safetensors")} if shipped else set())
    return all((snapshot / name).is_file() for name in needed)


def _is_repo_id(text: str) -> bool:

    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(text)
    except HFValidationError:
        return False
    return "/" in text


def checkpoint_path(name_or_path: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> str:
    """The folder to load ``name_or_path`` from (see the module docstring for the order), or a Hub id that is
    not ours, as given, for ``from_pretrained`` to fetch."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return str(path)
    text = str(name_or_path)
    repo_id = model_id(text)
    if repo_id is None and not _is_repo_id(text):
        if text.startswith((".", "/", "~")) or text.count("/") > 1 or os.sep in text:
            raise TalkheadInputError(
                f"cannot load checkpoint '{text}': no such model folder; give a folder with config.json and "
                f"model.safetensors, or a model name ({', '.join(shipped_names())})"
            )
        raise TalkheadInputError(
            f"unknown model '{text}': it is not a folder, nor a talkhead model, nor a Hub id (owner/name). "
            f"Known models: {', '.join(shipped_names()) or 'none shipped with this install'} (each also as "
            f"{NAMESPACE}/<name>); or give a folder with config.json and model.safetensors"
        )
    shipped = shipped_root() / repo_id.split("/", 1)[1] if repo_id else None
    snapshot = cached_snapshot(repo_id or text, cache_dir)
    if snapshot is not None and _complete(snapshot, shipped):
        return str(snapshot)
    return str(shipped) if shipped is not None else text


# config.json keys naming Python modules of the checkpoint itself, which transformers imports under trust_remote_code
CODE_KEYS = ("auto_map", "custom_pipelines")


def refuse_checkpoint_code(name_or_path, folder: str, argument: str = "") -> None:
    """Refuse a checkpoint whose config.json asks to run Python code of its own folder.

    Such a config (an ``auto_map`` for an unknown ``model_type``) makes transformers ask on stdin whether to import
    the folder's modules, and a "y" there runs them. talkhead's checkpoints never need that, so talkhead refuses
    them whatever stdin says, before transformers reads them; ``trust_remote_code=False`` at every Auto call is
    the second guard, for Hub ids that are not a local folder yet. ``argument`` names what gave the checkpoint.
    """
    config = Path(folder) / "config.json"
    try:
        fields = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # no local config, or an unreadable one: transformers reports it, and runs nothing
    found = [key for key in CODE_KEYS if isinstance(fields, dict) and key in fields]
    if found:
        given = f"{argument}='{name_or_path}'" if argument else f"checkpoint '{name_or_path}'"
        raise TalkheadInputError(
            f"refusing {given}: its config.json has {' and '.join(found)}, which asks to run Python code from "
            f"the folder, and talkhead never runs a checkpoint's own code; give a talkhead model name "
            f"({', '.join(shipped_names())}) or a folder written by talkhead's save_pretrained"
        )


def load_pretrained(model_class, name_or_path: str | os.PathLike, **kwargs):
    """``model_class.from_pretrained`` on the resolved checkpoint; a missing one is a clear input error."""
    resolved = checkpoint_path(name_or_path)
    refuse_checkpoint_code(name_or_path, resolved)
    try:
        return model_class.from_pretrained(resolved, **kwargs)
    except pickle.UnpicklingError as err:  # torch's weights-only loader refused objects that could run code
        raise TalkheadInputError(
            f"refusing checkpoint '{name_or_path}': its pytorch_model.bin holds pickled Python objects, not only "
            "tensors, and unpickling them could run any code. If you trust it, convert it to safetensors once "
            "(in a sandbox: MODEL_CLASS.from_pretrained(FOLDER, weights_only=False).save_pretrained(NEW_FOLDER))"
            " and load the model.safetensors it writes"
        ) from err
    except OSError as err:
        raise TalkheadInputError(
            f"cannot load checkpoint '{name_or_path}' (looked for {resolved}): it is not a folder, not a shipped "
            f"model ({', '.join(shipped_names())}), not in the Hugging Face cache, and the Hub could not provide "
            f"it ({type(err).__name__}: {err}). Give the path of a folder with config.json and model.safetensors"
        ) from err


def pipeline(task: str, model=None, **kwargs):
    """``transformers.pipeline(task, model, **kwargs)`` with talkhead's model names resolved first.

    transformers' own ``pipeline`` reads a string ``model`` as a folder or a Hub repository and asks the Hub for
    it, so ``pipeline("lip-sync", model="stable-sync-face")`` cannot work there; here the name (short, id, folder)
    goes through :func:`checkpoint_path` and transformers gets the folder. The extra models of a task
    (``silent_lip=``, ``mouth_model=``, ...) take the same names. ``model=None`` is the task's default.
    """
    from transformers import pipeline as transformers_pipeline

    if kwargs.pop("trust_remote_code", False):
        raise TalkheadInputError(
            "trust_remote_code=True: talkhead.pipeline never runs a checkpoint's own code; leave trust_remote_code "
            "out, or call transformers.pipeline yourself for a model whose code you have read and trust"
        )
    if isinstance(model, (str, os.PathLike)):
        folder = checkpoint_path(model)
        refuse_checkpoint_code(model, folder, "model")
        model = folder
    return transformers_pipeline(task, model=model, trust_remote_code=False, **kwargs)
