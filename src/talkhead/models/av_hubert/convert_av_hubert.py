"""Convert an official AV-HuBERT fairseq checkpoint to a :class:`AVHubertModel` folder (config.json +
model.safetensors).

The weights are not shipped with talkhead and cannot be downloaded from here: get them yourself from the
AV-HuBERT model zoo (https://facebookresearch.github.io/av_hubert, linked from
https://github.com/facebookresearch/av_hubert), accepting Meta's AV-HuBERT licence (non-commercial research
only, https://github.com/facebookresearch/av_hubert/blob/main/LICENSE; converted weights stay under it).
Yaman et al. use a lip-reading fine-tuned Base model, e.g. the LRS3-433h visual speech recognition Base
checkpoint (``base_lrs3_433h.pt``, or ``base_vox_433h.pt``, its VoxCeleb2 + LRS3 pre-trained variant). Then::

    python -m talkhead.models.av_hubert.convert_av_hubert base_lrs3_433h.pt checkpoints/av-hubert-base
    talkhead evaluate video VIDEO --av-hubert-model checkpoints/av-hubert-base     # AVS_u (AVS_m, AVS_v)
    accelerate launch examples/train_stable_sync.py ... --sync_loss av_hubert --av_hubert checkpoints/av-hubert-base

and, in Python, ``AVHubertModel.from_pretrained("checkpoints/av-hubert-base")`` with
:func:`talkhead.metrics.avs.avs_scores`. Neither fairseq nor omegaconf is needed: the checkpoint's pickled
configuration is read with stand-ins for classes that are not installed.

What is converted: the encoder path of ``extract_finetune`` (video ResNet front-end, audio projection, fusion
LayerNorm and projection, positional conv, transformer layers, final LayerNorm). Pre-training heads
(``mask_emb``, ``final_proj``, ``label_embs_concat``) and the fine-tuned seq2seq decoder are left out and
reported as unused. Keys of fine-tuned checkpoints carry an ``encoder.w2v_model.`` prefix (seq2seq) or
``w2v_encoder.w2v_model.`` (CTC); both are handled, as are pre-trained checkpoints without a prefix. The
positional conv's weight norm is read from ``weight_g``/``weight_v`` (fairseq of AV-HuBERT's era) or from
torch's ``parametrizations.weight.original0/1`` (newer fairseq).

Layer counts and widths are inferred from tensor shapes. Two settings are not visible in shapes: the number
of attention heads and ``layer_norm_first``. Both are read from the checkpoint's configuration when present;
otherwise heads = hidden size / 64 and ``layer_norm_first = True`` (every released AV-HuBERT Base and Large).
"""

from __future__ import annotations

import argparse
import enum
import os
import pickle
import re
import types
import warnings
from pathlib import Path

import torch

from ..conversion_utils import load_torch_checkpoint
from .configuration_av_hubert import AVHubertConfig
from .modeling_av_hubert import AVHubertModel

FAIRSEQ_CHECKPOINT = "a fairseq AV-HuBERT checkpoint (.pt) from the AV-HuBERT model zoo"
# prefixes that wrap the AV-HuBERT model inside fine-tuned fairseq models (seq2seq, CTC)
WRAPPER_PREFIXES = ("encoder.w2v_model.", "w2v_encoder.w2v_model.")

# fairseq name (after the wrapper prefix) -> ours; a trailing "." maps a whole sub-tree
KEY_MAP = (
    ("feature_extractor_video.resnet.frontend3D.", "video_frontend.stem."),
    ("feature_extractor_video.resnet.trunk.", "video_frontend.trunk."),
    ("feature_extractor_video.proj.", "video_frontend.proj."),
    ("feature_extractor_audio.proj.", "audio_proj."),
    ("layer_norm.", "fusion_norm."),
    ("post_extract_proj.", "fusion_proj."),
    ("encoder.pos_conv.0.weight_g", "encoder.pos_conv.weight_g"),
    ("encoder.pos_conv.0.weight_v", "encoder.pos_conv.weight_v"),
    ("encoder.pos_conv.0.parametrizations.weight.original0", "encoder.pos_conv.weight_g"),
    ("encoder.pos_conv.0.parametrizations.weight.original1", "encoder.pos_conv.weight_v"),
    ("encoder.pos_conv.0.bias", "encoder.pos_conv.bias"),
    ("encoder.layer_norm.", "encoder.layer_norm."),
    ("encoder.layers.", "encoder.layers."),
)


def _strip_wrapper(key: str) -> str:
    return next((key[len(p) :] for p in WRAPPER_PREFIXES if key.startswith(p)), key)


def _map_key(key: str) -> str | None:
    for source, target in KEY_MAP:
        if source.endswith("."):
            if key.startswith(source):
                return target + key[len(source) :]
        elif key == source:
            return target
    return None


def convert_fairseq_state_dict(state_dict: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """fairseq AV-HuBERT (pre-trained or fine-tuned) state dict -> (our state dict, the fairseq keys left unused)."""
    prefix = next((p for p in WRAPPER_PREFIXES if any(k.startswith(p) for k in state_dict)), "")
    ours, unused = {}, []
    for key, value in state_dict.items():
        mapped = _map_key(key[len(prefix) :]) if key.startswith(prefix) else None
        if mapped is None:
            unused.append(key)
        else:
            ours[mapped] = value
    return ours, unused


def to_fairseq_state_dict(state_dict: dict[str, torch.Tensor], prefix: str = "") -> dict[str, torch.Tensor]:
    """Our state dict -> fairseq names (AV-HuBERT-era ``weight_g``/``weight_v``), under ``prefix``
    (e.g. ``"encoder.w2v_model."``). The inverse of :func:`convert_fairseq_state_dict`."""
    inverse = [(t, s) for s, t in KEY_MAP if "parametrizations" not in s]
    result = {}
    for key, value in state_dict.items():
        for target, source in inverse:
            if (target.endswith(".") and key.startswith(target)) or key == target:
                result[prefix + source + key[len(target) :]] = value
                break
        else:
            raise KeyError(f"no fairseq name for {key!r}")
    return result


def _count(state_dict: dict, pattern: str) -> int:
    indices = {int(m.group(1)) for k in state_dict if (m := re.match(pattern, k))}
    return max(indices) + 1 if indices else 0


def infer_config(state_dict: dict[str, torch.Tensor], settings: dict | None = None) -> AVHubertConfig:
    """The :class:`AVHubertConfig` of a converted state dict, from its shapes (and ``settings``, the
    checkpoint's own model configuration, for heads and ``layer_norm_first``)."""
    settings = settings or {}
    required = (
        "fusion_proj.weight",
        "fusion_norm.weight",
        "audio_proj.weight",
        "encoder.pos_conv.weight_v",
        "encoder.layers.0.fc1.weight",
        "video_frontend.stem.0.weight",
    )
    missing = [k for k in required if k not in state_dict]
    if missing:
        raise ValueError(f"not an AV-HuBERT state dict: no {missing}")
    hidden = state_dict["fusion_proj.weight"].shape[0]
    if state_dict["fusion_norm.weight"].shape[0] != 2 * hidden:
        raise ValueError(
            "only modality_fuse='concat' checkpoints are supported (the fusion LayerNorm is not 2 x hidden)"
        )
    widths = [state_dict[f"video_frontend.trunk.layer{i}.0.conv1.weight"].shape[0] for i in range(1, 5)]
    if state_dict["video_frontend.stem.0.weight"].shape[0] != widths[0]:
        raise ValueError("the 3D stem and the first ResNet stage have different widths")
    pos_conv = state_dict["encoder.pos_conv.weight_v"]
    heads = settings.get("encoder_attention_heads") or max(1, hidden // 64)
    return AVHubertConfig(
        hidden_size=hidden,
        num_hidden_layers=_count(state_dict, r"encoder\.layers\.(\d+)\."),
        num_attention_heads=int(heads),
        intermediate_size=state_dict["encoder.layers.0.fc1.weight"].shape[0],
        layer_norm_first=bool(settings.get("layer_norm_first", True)),
        audio_feature_size=state_dict["audio_proj.weight"].shape[1],
        resnet_widths=widths,
        resnet_blocks=[_count(state_dict, rf"video_frontend\.trunk\.layer{i}\.(\d+)\.") for i in range(1, 5)],
        conv_pos_kernel=pos_conv.shape[2],
        conv_pos_groups=hidden // pos_conv.shape[1],
    )


# ---- reading fairseq checkpoints without fairseq or omegaconf ------------------------------------


class _Missing:
    """Stand-in for a pickled object whose class is not importable here (omegaconf, fairseq): keeps its state."""

    _origin = "?"

    def __init__(self, *args, **kwargs):
        self._args, self._kwargs = args, kwargs

    def __setstate__(self, state):
        self._state = state


# what a checkpoint's pickle may resolve to by default: torch's tensor and storage rebuilders and plain containers;
# every other class or function becomes an inert _Missing that records its arguments, so no code in the file runs
_SAFE_GLOBALS = {
    ("collections", "OrderedDict"),
    ("argparse", "Namespace"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch.nn.parameter", "Parameter"),
    ("torch", "Size"),
    ("torch._tensor", "_rebuild_from_type_v2"),
    ("torch.serialization", "_get_layout"),
    *(("builtins", name) for name in ("set", "frozenset", "slice", "complex")),
}


def _safe_global(module: str, name: str) -> bool:
    import torch

    if (module, name) in _SAFE_GLOBALS:
        return True

    value = getattr(torch, name, None) if module == "torch" else None
    return isinstance(value, torch.dtype) or (name.endswith("Storage") and isinstance(value, type))


def _stand_in(module: str, name: str) -> type:
    return type(name, (_Missing,), {"_origin": f"{module}.{name}"})


class _SafeUnpickler(pickle.Unpickler):
    """Resolves only :data:`_SAFE_GLOBALS`, torch dtypes and storages; the rest become stand-ins."""

    def find_class(self, module: str, name: str):
        return super().find_class(module, name) if _safe_global(module, name) else _stand_in(module, name)


class _LenientUnpickler(pickle.Unpickler):
    """Everything importable resolves (``--allow-pickle``); only what is not installed becomes a stand-in."""

    def find_class(self, module: str, name: str):
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):
            return _stand_in(module, name)


class _PickleModule(types.ModuleType):
    """The ``pickle_module`` torch.load is given: what it uses of ``pickle`` (``Unpickler``, ``load``), with ours."""

    def __init__(self, unpickler: type[pickle.Unpickler]):
        super().__init__(f"talkhead_{unpickler.__name__}")
        self.Unpickler = unpickler

    def load(self, file, **kwargs):
        return self.Unpickler(file, **kwargs).load()


_safe_pickle, _lenient_pickle = _PickleModule(_SafeUnpickler), _PickleModule(_LenientUnpickler)


def _plain(value, depth: int = 0):
    """Configuration objects (omegaconf DictConfig, their stand-ins, argparse Namespaces) -> dicts and lists."""
    if depth > 50:
        return None
    if isinstance(value, dict):
        return {k: _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, argparse.Namespace):
        return _plain(vars(value), depth + 1)
    if isinstance(value, enum.Enum):
        return value.value
    state = getattr(value, "_state", None) if isinstance(value, _Missing) else None
    if state is None and type(value).__module__.startswith("omegaconf"):  # installed: read its fields directly
        state = vars(value)
    if isinstance(state, tuple) and state and isinstance(state[0], dict):  # (dict, slots) pickles
        state = state[0]
    if isinstance(state, dict):
        if "_content" in state:  # omegaconf containers
            return _plain(state["_content"], depth + 1)
        if "_val" in state:  # omegaconf value nodes
            return _plain(state["_val"], depth + 1)
        return {k: _plain(v, depth + 1) for k, v in state.items() if not str(k).startswith("_")}
    if isinstance(value, _Missing):
        return _plain(value._args[0], depth + 1) if len(value._args) == 1 else None
    return value


def model_settings(checkpoint: dict) -> dict:
    """The AV-HuBERT model settings stored in a fairseq checkpoint (``cfg`` or legacy ``args``); fine-tuned
    checkpoints keep the encoder's under ``model.w2v_args.model``. Empty when none can be read."""
    cfg = _plain(checkpoint.get("cfg")) or {}
    model = cfg.get("model") if isinstance(cfg, dict) else None
    if not isinstance(model, dict):
        model = _plain(checkpoint.get("args")) or {}
    inner = model.get("w2v_args") if isinstance(model, dict) else None
    if isinstance(inner, dict) and isinstance(inner.get("model"), dict):
        model = inner["model"]
    return model if isinstance(model, dict) else {}


def read_fairseq_checkpoint(path: str | os.PathLike, allow_pickle: bool = False) -> dict:
    """``torch.load`` of a fairseq checkpoint, which is always a pickle (its configuration is omegaconf objects).

    By default no code in the file runs: only torch's tensor rebuilders and plain containers resolve, every other
    class (omegaconf, fairseq, or a payload's ``os.system``) becomes an inert stand-in that keeps its arguments, so
    the weights and the configuration values still come through. ``allow_pickle=True`` unpickles for real (classes
    that are not installed still become stand-ins), with a warning: only for a file you trust.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no AV-HuBERT checkpoint at '{path}'; get one from the AV-HuBERT model zoo")
    if not allow_pickle:
        return load_torch_checkpoint(path, FAIRSEQ_CHECKPOINT, weights_only=False, pickle_module=_safe_pickle)
    warnings.warn(
        f"unpickling '{path}' with allow_pickle=True: a crafted checkpoint can run any code while it loads; "
        "do this only for files from a source you trust",
        stacklevel=2,
    )
    return load_torch_checkpoint(path, FAIRSEQ_CHECKPOINT, weights_only=False, pickle_module=_lenient_pickle)


def load_fairseq_checkpoint(path: str | os.PathLike, allow_pickle: bool = False) -> AVHubertModel:
    """An :class:`AVHubertModel` in eval mode with the weights of a fairseq AV-HuBERT checkpoint
    (``allow_pickle``: see :func:`read_fairseq_checkpoint`).

    Raises:
        ValueError: the checkpoint is not an AV-HuBERT model, or some of our weights have no source in it.
    """
    checkpoint = read_fairseq_checkpoint(path, allow_pickle)
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("model"), dict):
        raise ValueError(f"'{path}' is not a fairseq checkpoint (no 'model' entry)")
    ours, unused = convert_fairseq_state_dict(checkpoint["model"])
    config = infer_config(ours, model_settings(checkpoint))
    model = AVHubertModel(config)
    missing, unexpected = model.load_state_dict(ours, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(
            f"'{path}' does not fit AV-HuBERT {config.num_hidden_layers} layers x {config.hidden_size}: "
            f"missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    model.unused_fairseq_keys = unused
    return model.eval()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="fairseq .pt file (pre-trained or lip-reading fine-tuned AV-HuBERT)")
    parser.add_argument("output_dir", help="folder to write config.json and model.safetensors to")
    parser.add_argument(
        "--allow-pickle",
        action="store_true",
        help="unpickle the file for real (it can run code): only if the safe reader fails on a file you trust",
    )
    args = parser.parse_args(argv)
    try:
        model = load_fairseq_checkpoint(args.checkpoint, args.allow_pickle)
    except (OSError, ValueError, pickle.UnpicklingError) as err:
        raise SystemExit(f"error: {err}") from err
    model.save_pretrained(args.output_dir)
    config = model.config
    skipped = sorted({_strip_wrapper(k).split(".")[0] for k in model.unused_fairseq_keys})
    print(
        f"AV-HuBERT {config.num_hidden_layers} layers x {config.hidden_size} ({config.num_attention_heads} heads, "
        f"{'pre' if config.layer_norm_first else 'post'}-LN) saved to {Path(args.output_dir)}; "
        f"left out: {', '.join(skipped) or 'nothing'}"
    )


if __name__ == "__main__":
    main()
