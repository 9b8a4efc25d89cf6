"""What every talkhead configuration shares: named presets and validation that names the bad values."""

from __future__ import annotations

import json
from pathlib import Path


class PresetConfigMixin:
    """``Config.from_preset("small", **overrides)`` over a class-level ``presets`` dict.

    Presets follow one pattern across the package: ``paper`` (the published size, the defaults),
    ``small`` (what we train on this CPU) and ``tiny`` (for tests).
    """

    presets: dict[str, dict] = {}

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
