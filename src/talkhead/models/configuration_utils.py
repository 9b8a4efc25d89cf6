"""What every talkhead configuration and model shares: named presets, validation that names the bad values, and
``from_pretrained`` that takes the shipped models' ids (``talkhead/<name>``) offline."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import ClassVar

from ..hub import checkpoint_path, model_id


def resolve_shipped(name_or_path):
    """A shipped model's id or short name -> the folder :mod:`talkhead.hub` resolves it to; anything else as given
    (an existing folder wins, other Hub ids go to ``from_pretrained`` untouched)."""
    if not isinstance(name_or_path, (str, os.PathLike)) or Path(name_or_path).expanduser().is_dir():
        return name_or_path

    return checkpoint_path(name_or_path) if model_id(name_or_path) is not None else name_or_path


class ShippedModelMixin:
    """Put before ``PreTrainedModel`` / ``PretrainedConfig``: ``from_pretrained("talkhead/mouth-motion")`` (or
    ``"mouth-motion"``) loads the shipped copy, or the Hugging Face cache's, with no network, as the pipelines do."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        # a cooperative mixin: the next class in the MRO (PreTrainedModel / PretrainedConfig) defines from_pretrained
        return super().from_pretrained(  # type: ignore[misc]
            resolve_shipped(pretrained_model_name_or_path), *args, **kwargs
        )


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
