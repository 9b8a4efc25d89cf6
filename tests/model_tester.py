"""The checks every talkhead model must pass, in the manner of transformers' ``ModelTesterMixin``.

A test class per model (``tests/models/test_modeling_common.py``) names the model and config classes and
says how to build inputs for a batch; the mixin then checks, on the ``tiny`` preset:

* config round trip: ``to_dict`` / ``from_dict``, ``save_pretrained`` / ``from_pretrained``, ``AutoConfig``,
  and ``from_preset_or_file`` on the saved ``config.json`` (what ``--model_config`` of a training script reads);
* save/load round trip: ``from_pretrained`` (and ``AutoModel``) restores every parameter and buffer with no
  missing or unexpected key, and gives the same outputs;
* batch = singles: in eval mode, a batch gives the outputs of each of its samples alone (``unit`` samples at a
  time: 2 for a PacGAN pair discriminator), and the samples' outputs differ (the check is not vacuous);
* gradients: in train mode a loss on every differentiable output reaches every trainable parameter; the
  parameters under ``frozen_modules`` are exactly the untrainable ones, get no gradient, and their buffers
  (batch-norm statistics) do not move.
"""

from __future__ import annotations

import json

import torch
from transformers import AutoConfig, AutoModel

import talkhead.models  # noqa: F401  (registers the Auto classes)


def output_tensors(output, prefix: str = "") -> dict[str, torch.Tensor]:
    """Every tensor of a model output (a ModelOutput, tuple or tensor), nested tuples flattened, by name."""
    if isinstance(output, torch.Tensor):
        return {prefix or "output": output}
    if isinstance(output, dict):  # ModelOutput is an OrderedDict of its non-None fields
        items = output.items()
    elif isinstance(output, (tuple, list)):
        items = ((str(index), value) for index, value in enumerate(output))
    else:
        return {}
    found = {}
    for name, value in items:
        found.update(output_tensors(value, f"{prefix}.{name}" if prefix else str(name)))
    return found


def settings(config) -> dict:
    """A configuration's values, without where it was read from."""
    return {k: v for k, v in config.to_dict().items() if k != "_name_or_path"}


class ModelTesterMixin:
    """Subclass with a ``Test...`` class that sets the attributes below and implements :meth:`get_inputs`."""

    model_class: type = None
    config_class: type = None
    preset = "tiny"
    config_overrides: dict = {}
    frozen_modules: tuple[str, ...] = ()  # submodules that must not train (e.g. a frozen backbone)
    batch_size = 2
    unit = 1  # samples that belong together (2 for a pair discriminator)
    atol, rtol = 1e-5, 1e-5

    # ---- what a model's test class provides --------------------------------------------------------

    def get_inputs(self, batch_size: int, seed: int = 0) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def prepare_model(self, model) -> None:
        """Put non-default values in buffers a checkpoint must carry (input statistics...)."""

    # ---- helpers ---------------------------------------------------------------------------------------

    def get_config(self):
        return self.config_class.from_preset(self.preset, **self.config_overrides)

    def get_model(self, seed: int = 0):
        torch.manual_seed(seed)
        model = self.model_class(self.get_config())
        self.prepare_model(model)
        return model

    def split(self, inputs: dict, start: int, stop: int) -> dict:
        return {k: v[start:stop] if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}

    # ---- the checks ------------------------------------------------------------------------------------

    def test_config_round_trip(self, tmp_path):
        config = self.get_config()
        preset = self.config_class.presets[self.preset]
        assert preset, f"{self.config_class.__name__} has no {self.preset!r} preset"
        for key, value in preset.items():
            if not isinstance(value, dict):  # nested configs are stored completed
                assert getattr(config, key) == value, key
        expected = settings(config)
        assert settings(self.config_class.from_dict(config.to_dict())) == expected
        config.save_pretrained(tmp_path)
        assert settings(self.config_class.from_pretrained(tmp_path)) == expected
        auto = AutoConfig.from_pretrained(tmp_path)
        assert type(auto) is self.config_class and settings(auto) == expected
        assert settings(self.config_class.from_preset_or_file(str(tmp_path / "config.json"))) == expected
        assert json.loads((tmp_path / "config.json").read_text())["model_type"] == self.config_class.model_type

    def test_save_load_round_trip(self, tmp_path):
        model = self.get_model().eval()
        inputs = self.get_inputs(self.batch_size)
        model.save_pretrained(tmp_path)
        loaded, info = self.model_class.from_pretrained(tmp_path, output_loading_info=True)
        assert not any(info.values()), info  # missing, unexpected, mismatched keys, errors
        auto = AutoModel.from_pretrained(tmp_path)
        assert type(auto) is self.model_class
        expected = model.state_dict()
        for restored in (loaded.state_dict(), auto.state_dict()):
            assert restored.keys() == expected.keys()
            for key, value in expected.items():
                torch.testing.assert_close(restored[key], value, rtol=0, atol=0, msg=lambda m, key=key: f"{key}: {m}")
        with torch.no_grad():
            reference = output_tensors(model(**inputs))
            outputs = output_tensors(loaded.eval()(**inputs))
        assert reference and outputs.keys() == reference.keys()
        for name, value in reference.items():
            torch.testing.assert_close(outputs[name], value, msg=lambda m, name=name: f"{name}: {m}")

    def test_batch_equals_singles(self):
        model = self.get_model().eval()
        inputs = self.get_inputs(self.batch_size)
        with torch.no_grad():
            batch = output_tensors(model(**inputs))
            singles = [
                output_tensors(model(**self.split(inputs, start, start + self.unit)))
                for start in range(0, self.batch_size, self.unit)
            ]
        compared = 0
        for name, value in batch.items():
            if value.dim() == 0:  # a loss over the batch: not per sample
                continue
            parts = [single[name] for single in singles]
            torch.testing.assert_close(
                value, torch.cat(parts), atol=self.atol, rtol=self.rtol, msg=lambda m, name=name: f"{name}: {m}"
            )
            assert not torch.allclose(parts[0], parts[1]), f"{name}: different samples give the same output"
            compared += 1
        assert compared, "no per-sample output to compare"

    def test_gradients_reach_trainable_parameters_only(self):
        model = self.get_model()  # as built: a training script's first step comes before any .train() call
        assert model.training
        inputs = self.get_inputs(self.batch_size)
        frozen_names = {
            name
            for name, _ in model.named_parameters()
            if any(name.startswith(prefix + ".") for prefix in self.frozen_modules)
        }
        untrainable = {name for name, p in model.named_parameters() if not p.requires_grad}
        assert untrainable == frozen_names, (
            f"untrainable {sorted(untrainable)} but frozen_modules {self.frozen_modules}"
        )
        frozen_buffers = {
            name: value.clone()
            for name, value in model.state_dict().items()
            if any(name.startswith(prefix + ".") for prefix in self.frozen_modules)
        }
        generator = torch.Generator().manual_seed(0)
        outputs = [t for t in output_tensors(model(**inputs)).values() if t.requires_grad]
        assert outputs, "no output carries a gradient"
        # a random projection of every output: no gradient can cancel by symmetry
        loss = sum((t * torch.randn(t.shape, generator=generator)).sum() for t in outputs)
        loss.backward()
        silent = [
            name
            for name, p in model.named_parameters()
            if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)
        ]
        assert not silent, f"no gradient reaches {silent}"
        touched = [name for name, p in model.named_parameters() if not p.requires_grad and p.grad is not None]
        assert not touched, f"frozen parameters got a gradient: {touched}"
        state = model.state_dict()
        moved = [name for name, value in frozen_buffers.items() if not torch.equal(state[name], value)]
        assert not moved, f"frozen state changed in a training step: {moved}"
