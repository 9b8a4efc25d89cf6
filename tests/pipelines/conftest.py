"""Fixtures of the pipeline tests: tiny random models saved to disk, a photo, speech, talking videos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from ..conftest import speech_like, write_wav


@pytest.fixture(scope="session")
def generator_path(tmp_path_factory):
    """A tiny random MS-Sync generator with plausible input statistics."""
    from talkhead.models.ms_sync import MSSyncGenerator, MSSyncGeneratorConfig

    torch.manual_seed(0)
    generator = MSSyncGenerator(MSSyncGeneratorConfig.from_preset("tiny"))
    generator.set_input_statistics(
        torch.full((136,), 0.5), torch.full((136,), 0.1), torch.full((26,), -8.0), torch.full((26,), 3.0)
    )
    path = tmp_path_factory.mktemp("generator")
    generator.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def face_generator_path(tmp_path_factory):
    """A tiny random stabilized-sync face generator (G_L and G_S share the class)."""
    from talkhead.models.stable_sync import StableSyncFaceGenerator, StableSyncFaceGeneratorConfig

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("face generator")
    StableSyncFaceGenerator(StableSyncFaceGeneratorConfig.from_preset("tiny")).save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def photo(tmp_path_factory, astronaut):
    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="session")
def speech(tmp_path_factory):
    return write_wav(tmp_path_factory.mktemp("speech") / "speech.wav", speech_like(2.0))


def gray_frames(count: int, size: int = 256) -> list[np.ndarray]:
    return [np.full((size, size, 3), 128, np.uint8) for _ in range(count)]


def save_listening_mouth_model(path, output_gain: float):
    """A tiny random mouth-motion model whose phones come from the word recogniser, as the shipped one's do, saved
    in ``path``."""
    from talkhead.models.mouth_motion import MouthMotionConfig, MouthMotionModel

    torch.manual_seed(0)
    config = MouthMotionConfig.from_preset("tiny", phone_decoder="words", output_gain=output_gain)
    MouthMotionModel(config).save_pretrained(path)
    return path
