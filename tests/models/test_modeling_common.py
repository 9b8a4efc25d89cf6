"""The common model battery (tests/model_tester.py) for every model class under talkhead.models.

Each class below says only how to build a batch of inputs (and what is frozen); the checks are shared.
``test_every_model_class_has_a_tester`` fails when a model class is added without one.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import torch
from transformers import PreTrainedModel

import talkhead.models
from talkhead.models import (
    AVHubertConfig,
    AVHubertModel,
    AVSyncNet,
    AVSyncNetConfig,
    FaceDiscriminator,
    FaceDiscriminatorConfig,
    MouthInteriorConfig,
    MouthInteriorGenerator,
    MouthMotionConfig,
    MouthMotionModel,
    MouthSyncConfig,
    MouthSyncModel,
    MSSyncDiscriminatorConfig,
    MSSyncDiscriminators,
    MSSyncGenerator,
    MSSyncGeneratorConfig,
    MSSyncSyncerConfig,
    MSSyncSyncerModel,
    StableSyncFaceGenerator,
    StableSyncFaceGeneratorConfig,
    SyncNetExpert,
    SyncNetExpertConfig,
    SyncNetV2Config,
    SyncNetV2Model,
)

from ..model_tester import ModelTesterMixin


def rng(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def landmarks(batch: int, frames: int, generator: torch.Generator) -> torch.Tensor:
    return 0.5 + 0.05 * torch.randn(batch, frames, 68, 2, generator=generator)


class TestMSSyncSyncerModel(ModelTesterMixin):
    model_class, config_class = MSSyncSyncerModel, MSSyncSyncerConfig

    def prepare_model(self, model):
        model.set_input_statistics(
            torch.full((136,), 0.5), torch.full((136,), 0.05), torch.full((26,), -8.0), torch.full((26,), 3.0)
        )

    def get_inputs(self, batch_size, seed=0):
        g = rng(seed)
        return {
            "landmarks": landmarks(batch_size, 40, g),
            "audio": -8 + 3 * torch.randn(batch_size, 160, 26, generator=g),
        }


class TestMSSyncGenerator(ModelTesterMixin):
    model_class, config_class = MSSyncGenerator, MSSyncGeneratorConfig

    def prepare_model(self, model):
        model.set_input_statistics(
            torch.full((136,), 0.5), torch.full((136,), 0.05), torch.zeros(26), torch.full((26,), 2.0)
        )

    def get_inputs(self, batch_size, seed=0):
        g = rng(seed)
        return {
            "warmup_landmarks": landmarks(batch_size, 3, g),
            "audio": torch.randn(batch_size, 4 * 16, 26, generator=g),
        }


class TestMSSyncDiscriminators(ModelTesterMixin):
    model_class, config_class = MSSyncDiscriminators, MSSyncDiscriminatorConfig
    batch_size, unit = 4, 2  # D_s^j scores consecutive pairs (PacGAN-2)

    def prepare_model(self, model):
        model.set_input_statistics(torch.full((136,), 0.5), torch.full((136,), 0.05))

    def get_inputs(self, batch_size, seed=0):
        g = rng(seed)
        return {"warmup": landmarks(batch_size, 3, g), "continuation": landmarks(batch_size, 40, g)}


class TestAVSyncNet(ModelTesterMixin):
    model_class, config_class = AVSyncNet, AVSyncNetConfig

    def get_inputs(self, batch_size, seed=0):
        g = rng(seed)
        return {
            "faces": torch.rand(batch_size, 5, 3, 96, 96, generator=g),
            "mel": torch.randn(batch_size, 1, 80, 16, generator=g),
        }


class TestSyncNetExpert(TestAVSyncNet):
    model_class, config_class = SyncNetExpert, SyncNetExpertConfig


class TestStableSyncFaceGenerator(ModelTesterMixin):
    model_class, config_class = StableSyncFaceGenerator, StableSyncFaceGeneratorConfig
    frozen_modules = ("audio_encoder",)  # the trained AVSyncNet audio tower, copied in

    def get_inputs(self, batch_size, seed=0):
        g = rng(seed)
        faces = torch.rand(batch_size, 3, 96, 96, generator=g)
        pose = torch.rand(batch_size, 3, 96, 96, generator=g)
        pose[..., 48:, :] = 0
        return {"identity": faces, "pose": pose, "mel": torch.randn(batch_size, 1, 80, 16, generator=g)}


class TestFaceDiscriminator(ModelTesterMixin):
    model_class, config_class = FaceDiscriminator, FaceDiscriminatorConfig

    def prepare_model(self, model):
        # torch.nn.utils.spectral_norm starts from random u, v and refines them only in training forwards: a fresh
        # model in eval mode divides by a wrong sigma (logits near 1e10). One training forward settles them, as
        # in any trained checkpoint.
        with torch.no_grad():
            model.train()(torch.rand(2, 3, 96, 96, generator=rng(99)))

    def get_inputs(self, batch_size, seed=0):
        return {"faces": torch.rand(batch_size, 3, 96, 96, generator=rng(seed))}


class TestSyncNetV2Model(ModelTesterMixin):
    model_class, config_class = SyncNetV2Model, SyncNetV2Config

    def get_inputs(self, batch_size, seed=0):
        g = rng(seed)
        return {
            "video": 255 * torch.rand(batch_size, 3, 5, 64, 64, generator=g),
            "audio": torch.randn(batch_size, 13, 20, generator=g),
        }


class TestAVHubertModel(ModelTesterMixin):
    model_class, config_class = AVHubertModel, AVHubertConfig
    atol, rtol = 1e-5, 1e-4

    def get_inputs(self, batch_size, seed=0):
        g = rng(seed)
        return {
            "video": torch.randn(batch_size, 1, 6, 88, 88, generator=g),
            "audio": torch.randn(batch_size, 6, 104, generator=g),
        }


class TestMouthMotionModel(ModelTesterMixin):
    model_class, config_class = MouthMotionModel, MouthMotionConfig

    def get_inputs(self, batch_size, seed=0):
        size = self.get_config().input_size
        return {"audio_features": torch.randn(batch_size, 30, size, generator=rng(seed))}


class TestMouthSyncModel(ModelTesterMixin):
    model_class, config_class = MouthSyncModel, MouthSyncConfig

    def get_inputs(self, batch_size, seed=0):
        config, g = self.get_config(), rng(seed)
        return {
            "mouth_windows": torch.randn(batch_size, config.window, config.mouth_points, 2, generator=g),
            "audio_windows": torch.randn(batch_size, config.window, config.input_size, generator=g),
        }


class TestMouthInteriorGenerator(ModelTesterMixin):
    model_class, config_class = MouthInteriorGenerator, MouthInteriorConfig

    def get_inputs(self, batch_size, seed=0):
        config, g = self.get_config(), rng(seed)
        size = config.mouth_size
        masks = torch.zeros(batch_size, 1, size, size)
        masks[..., size // 3 : 2 * size // 3, size // 4 : 3 * size // 4] = 1  # the inside of an open mouth
        return {
            "crops": torch.rand(batch_size, 3, size, size, generator=g),
            "masks": masks,
            "references": torch.rand(batch_size, 3, size, size, generator=g),
        }


def model_classes_in_package() -> set[type]:
    """Every concrete PreTrainedModel subclass defined in a talkhead.models module."""
    found = set()
    for module_info in pkgutil.walk_packages(talkhead.models.__path__, "talkhead.models."):
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(value, PreTrainedModel)
                and value.__module__ == module.__name__
                and not value.__name__.endswith("PreTrainedModel")
            ):
                found.add(value)
    return found


def test_every_model_class_has_a_tester():
    tested = {
        cls.model_class
        for cls in globals().values()
        if inspect.isclass(cls) and issubclass(cls, ModelTesterMixin) and cls.model_class is not None
    }
    missing = sorted(cls.__name__ for cls in model_classes_in_package() - tested)
    assert not missing, f"model classes without a test class in {__name__}: {missing}"
