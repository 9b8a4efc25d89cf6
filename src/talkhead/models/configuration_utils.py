"""What every talkhead configuration and model shares: named presets, validation that names the bad values, and
``from_pretrained`` that takes the shipped models' ids (``talkhead/<name>``) offline, on talkhead's classes and on
transformers' ``AutoConfig`` / ``AutoModel``."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any, ClassVar

from ..hub import checkpoint_path, model_id


def resolve_shipped(name_or_path, cache_dir: str | os.PathLike | None = None):
    """A shipped model's id or short name -> the folder :mod:`talkhead.hub` resolves it to (``cache_dir``: the Hugging
    Face cache to look in first); anything else as given (an existing folder wins, other Hub ids go to
    ``from_pretrained`` untouched)."""
    if not isinstance(name_or_path, (str, os.PathLike)) or Path(name_or_path).expanduser().is_dir():
        return name_or_path

    return checkpoint_path(name_or_path, cache_dir) if model_id(name_or_path) is not None else name_or_path


class ShippedModelMixin:
    """Put before ``PreTrainedModel`` / ``PretrainedConfig``: ``from_pretrained("talkhead/mouth-motion")`` (or
    ``"mouth-motion"``) loads the shipped copy, or the Hugging Face cache's, with no network, as the pipelines do."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        # a cooperative mixin: the next class in the MRO (PreTrainedModel / PretrainedConfig) defines from_pretrained
        return super().from_pretrained(  # type: ignore[misc]
            resolve_shipped(pretrained_model_name_or_path, kwargs.get("cache_dir")), *args, **kwargs
        )


# the Auto classes whose from_pretrained resolves shipped names already
_RESOLVING_AUTO_CLASSES: set[type] = set()


def resolve_shipped_in_auto_class(auto_class: Any) -> None:
    """Make ``auto_class.from_pretrained`` (``AutoConfig``, ``AutoModel``) take the shipped models' ids and short names
    offline, as :class:`ShippedModelMixin` does for talkhead's own classes; calling it again changes nothing.

    transformers has no registry for where a name loads from, and its Auto classes ask the Hub about a name (its
    revision, an adapter config, the config) before they know the model type, so registering the classes is not
    enough: the name is resolved before transformers sees it. Only shipped names change (the folder, or the Hugging
    Face cache's copy); a folder and every other Hub id reach transformers as given.
    """
    if auto_class in _RESOLVING_AUTO_CLASSES:
        return
    load = auto_class.from_pretrained.__func__

    @functools.wraps(load)
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        return load(cls, resolve_shipped(pretrained_model_name_or_path, kwargs.get("cache_dir")), *args, **kwargs)

    auto_class.from_pretrained = classmethod(from_pretrained)
    _RESOLVING_AUTO_CLASSES.add(auto_class)


class PresetConfigMixin(ShippedModelMixin):
    """``Config.from_preset("small", **overrides)`` over a class-level ``presets`` dict.

    Presets follow one pattern across the package: ``paper`` (the published size, the defaults),
    ``small`` (what we train on this CPU) and ``tiny`` (for tests).
    """

    presets: dict[str, dict] = {}
    model_type: ClassVar[str]  # set by each configuration class, as PretrainedConfig requires

    @classmethod
    def from_preset(cls, name: str, **overrides):
        if name not in cls.presets:
            raise ValueError(f"unknown {cls.model_type} preset {name!r}; choose one of {sorted(cls.presets)}")
        return cls(**{**cls.presets[name], **overrides})

    @classmethod
    def from_preset_or_file(cls, value: str, **overrides):
        """What a training script's ``--*_config`` flag names: a preset, or a config.json to read."""
        if value.endswith(".json"):
            return cls(**{**json.loads(Path(value).read_text()), **overrides})
        return cls.from_preset(value, **overrides)


def raise_problems(config_name: str, problems: list[str]) -> None:
    """One ValueError listing every invalid setting of a configuration."""
    if problems:
        raise ValueError(f"invalid {config_name}: " + "; ".join(problems))
