"""Reading third-party checkpoints for the converters: one message for a file that is not a torch checkpoint."""

from __future__ import annotations

import os
import pickle
import zipfile

import torch

# what torch.load raises on a file that is not a checkpoint: its zip reader, its legacy reader (magic number), the
# unpickler on arbitrary bytes
_NOT_A_CHECKPOINT = (
    RuntimeError,
    EOFError,
    KeyError,
    IndexError,
    TypeError,
    ValueError,
    UnicodeDecodeError,
    zipfile.BadZipFile,
    pickle.UnpicklingError,
)


def load_torch_checkpoint(path: str | os.PathLike, expected: str, **load_arguments):
    """``torch.load(path, map_location="cpu", **load_arguments)``, or a :class:`ValueError` that names ``path`` and
    the file that was ``expected`` when the file cannot be read as a torch checkpoint at all.

    The ``weights_only`` reader's refusal of a checkpoint that holds Python objects (``pickle.UnpicklingError``
    naming an unsupported global) is raised as it is: the callers tell the user about ``--allow-pickle`` for it.
    """
    try:
        return torch.load(path, map_location="cpu", **load_arguments)
    except pickle.UnpicklingError as err:
        if load_arguments.get("weights_only") and "Unsupported global" in str(err):
            raise
        raise _not_a_checkpoint(path, expected, err) from err
    except _NOT_A_CHECKPOINT as err:
        raise _not_a_checkpoint(path, expected, err) from err


def _not_a_checkpoint(path, expected: str, err: BaseException) -> ValueError:
    text = str(err)
    if "WeightsUnpickler error:" in text:  # torch's weights-only refusal: its reason comes after the boilerplate
        text = text.split("WeightsUnpickler error:", 1)[1].strip()
    reason = text.splitlines()[0] if text else type(err).__name__
    return ValueError(f"'{path}' is not a torch checkpoint ({reason[:120]}); expected {expected}")
