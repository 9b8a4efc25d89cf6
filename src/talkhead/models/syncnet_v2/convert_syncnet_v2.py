"""Convert syncnet_python's released ``syncnet_v2.model`` into a :class:`SyncNetV2Model` folder.

talkhead does not ship these weights (the network behind LSE-D and LSE-C). Get the file with the
``download_model.sh`` of https://github.com/joonson/syncnet_python, which fetches
http://www.robots.ox.ac.uk/~vgg/software/lipsync/data/syncnet_v2.model into ``data/``, then convert it once::

    python -m talkhead.models.syncnet_v2.convert_syncnet_v2 data/syncnet_v2.model checkpoints/syncnet-v2
    talkhead evaluate video VIDEO --syncnet-v2-model checkpoints/syncnet-v2

``SyncNetInstance.loadParameters`` reads the file with ``torch.load`` and copies each entry by name
into ``SyncNetModel.S``; our module names are the same, so the conversion is a checked copy. It writes
``config.json`` and ``model.safetensors`` (``save_pretrained``), loadable with
``SyncNetV2Model.from_pretrained("checkpoints/syncnet-v2")``. syncnet_python's code is MIT; its repository
states no separate terms for the weights, which the authors host at Oxford (VGG): check with them before
redistributing the converted folder or using it commercially.

A state dict loads with ``weights_only=True``. Older checkpoints made with ``torch.save(model)`` hold a
pickled module instead, which can run code when loaded: those need ``allow_pickle=True``
(``--allow-pickle``) and syncnet_python's ``SyncNetModel.py`` importable.
"""

from __future__ import annotations

import argparse
import os
import pickle
from collections.abc import Mapping

import torch
from torch import nn

from ..conversion_utils import load_torch_checkpoint
from .configuration_syncnet_v2 import SyncNetV2Config
from .modeling_syncnet_v2 import SyncNetV2Model

# prefixes a state dict may carry when it was saved from a wrapper instead of SyncNetModel.S itself
_WRAPPER_PREFIXES = ("module.", "__S__.")


def read_original_state_dict(path: str | os.PathLike, allow_pickle: bool = False) -> dict[str, torch.Tensor]:
    """The tensors of a syncnet_python checkpoint, by their ``SyncNetModel.S`` names.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is a pickled module and ``allow_pickle`` is off, its class cannot be
            imported, or it holds no state dict.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"no SyncNet checkpoint at '{path}'; get syncnet_v2.model with syncnet_python's download_model.sh"
        )
    try:
        loaded = load_torch_checkpoint(path, "syncnet_python's syncnet_v2.model", weights_only=True)
    except pickle.UnpicklingError as err:
        if not allow_pickle:
            raise ValueError(
                f"'{path}' is not a plain state dict: it holds pickled Python objects (probably the whole module, "
                "saved with torch.save(model)), and unpickling can run arbitrary code. If you trust the file, pass "
                "allow_pickle=True (--allow-pickle on the command line)."
            ) from err
        try:
            loaded = load_torch_checkpoint(path, "syncnet_python's syncnet_v2.model", weights_only=False)
        except (ModuleNotFoundError, AttributeError) as import_err:
            raise ValueError(
                f"'{path}' is a pickled module whose class cannot be imported ({import_err}). Run the conversion with "
                "syncnet_python's folder on PYTHONPATH (it needs SyncNetModel.py), or re-save the weights there with "
                "torch.save(model.state_dict(), path)."
            ) from import_err
    if isinstance(loaded, nn.Module):
        loaded = loaded.state_dict()
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, Mapping) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise ValueError(f"'{path}' holds a {type(loaded).__name__}, not a SyncNet state dict or module")
    state = {}
    for key, value in loaded.items():
        for prefix in _WRAPPER_PREFIXES:
            key = key.removeprefix(prefix)
        state[key] = value
    return state


def load_original_checkpoint(
    path: str | os.PathLike, allow_pickle: bool = False, config: SyncNetV2Config | None = None
) -> SyncNetV2Model:
    """A :class:`SyncNetV2Model` (eval mode) holding the weights of a syncnet_python checkpoint.

    Every parameter and batch-norm statistic must be in the file with the released shape; only the
    ``num_batches_tracked`` counters may be absent (the released file predates them, and inference
    does not read them).
    """
    state = read_original_state_dict(path, allow_pickle)
    model = SyncNetV2Model(config or SyncNetV2Config())
    own = model.state_dict()
    problems = []
    missing = sorted(k for k in own.keys() - state.keys() if not k.endswith("num_batches_tracked"))
    if missing:
        problems.append(f"missing {missing}")
    unexpected = sorted(state.keys() - own.keys())
    if unexpected:
        problems.append(f"unexpected {unexpected}")
    mismatched = [
        f"{k} {tuple(state[k].shape)} (expected {tuple(own[k].shape)})"
        for k in sorted(state.keys() & own.keys())
        if state[k].shape != own[k].shape
    ]
    if mismatched:
        problems.append(f"wrong shapes {mismatched}")
    if problems:
        raise ValueError(f"'{path}' does not fit SyncNet v2 ({model.config.embed_dim}-d): " + "; ".join(problems))
    model.load_state_dict({**own, **state})
    return model.eval()


def convert(path: str | os.PathLike, output_dir: str | os.PathLike, allow_pickle: bool = False) -> SyncNetV2Model:
    """Load a syncnet_python checkpoint and ``save_pretrained`` it to ``output_dir``."""
    model = load_original_checkpoint(path, allow_pickle)
    model.save_pretrained(output_dir)
    return model


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="syncnet_v2.model (from syncnet_python's download_model.sh)")
    parser.add_argument("output_dir", help="folder to write config.json and model.safetensors to")
    parser.add_argument(
        "--allow-pickle",
        action="store_true",
        help="accept a checkpoint that is a pickled module (it can run code: only for files you trust)",
    )
    args = parser.parse_args(argv)
    try:
        model = convert(args.checkpoint, args.output_dir, args.allow_pickle)
    except (FileNotFoundError, ValueError) as err:
        parser.exit(1, f"error: {err}\n")
    count = sum(p.numel() for p in model.parameters())
    print(f"SyncNet v2 ({count / 1e6:.1f} M parameters) saved to {args.output_dir}")


if __name__ == "__main__":
    main()
