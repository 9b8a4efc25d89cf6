"""The mouth-motion feature extractor: bit for bit the features and predictions of a plain-function reference (the
feature recipe written out below), on a synthetic waveform (no speech synthesiser needed)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from talkhead.models.mouth_motion import (
    MouthMotionConfig,
    MouthMotionFeatureExtractor,
    MouthMotionModel,
    mouth_audio_features,
)
from talkhead.models.mouth_sync import MouthSyncConfig
from talkhead.processing import audio as audio_lib
from talkhead.processing.phones import (
    DEFAULT_LANGUAGE,
    NUM_PHONES,
    PHONE_LOOP_DECODER,
    phone_features,
    phones_available,
)

SHIPPED = Path(__file__).resolve().parents[2] / "hub_configs" / "mouth-motion"
FRAMES, FPS = 50, 25.0


def reference_mouth_audio_features(wave, num_frames, fps, config, phones=None, language=DEFAULT_LANGUAGE):
    """The mouth-motion features as plain numpy: phones, then the mel with its per-clip mean removed (and divided by
    its per-clip std plus 0.1 under ``mean_std``)."""
    parts = []
    if config.use_phones:
        if phones is None:
            phones = phone_features(wave, num_frames, fps, getattr(config, "phone_decoder", "allphone"), language)
        parts.append(np.asarray(phones, np.float32)[:num_frames])
    if config.use_mel:
        mel = audio_lib.mel_per_frame(audio_lib.mel80(wave), num_frames, fps)
        mel = mel - mel.mean(0, keepdims=True)
        if config.mel_normalization == "mean_std":
            mel = mel / (mel.std(0, keepdims=True) + 0.1)
        parts.append(mel)
    return np.concatenate(parts, axis=1).astype(np.float32)


def reference_predict_speech(model, wave, num_frames, fps, from_rest=False, phones=None):
    """``MouthMotionModel.predict_speech`` written out on the reference features: silence blends toward rest."""
    features = reference_mouth_audio_features(wave, num_frames, fps, model.config, phones)
    displacements = model.predict(features, from_rest)
    rest = np.zeros_like(displacements[0]) if from_rest else model.rest_displacement()
    closing = audio_lib.silence_closing_weights(wave, num_frames, fps)[:, None, None]
    return (1 - closing) * displacements + closing * rest


def synthetic_wave(seconds: float = FRAMES / FPS) -> np.ndarray:
    """16 kHz: a 220 Hz tone switched on and off 3 times a second, noise, and a digitally silent 0.5 s."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * 16000)) / 16000
    wave = 0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 3 * t) > 0) + 0.05 * rng.standard_normal(t.size)
    wave[16000:24000] = 0
    return wave.astype(np.float32)


def given_phones(num_frames: int = FRAMES) -> np.ndarray:
    return np.random.default_rng(1).dirichlet(np.ones(NUM_PHONES), num_frames).astype(np.float32)


CONFIGS = {
    "shipped": lambda: MouthMotionConfig.from_pretrained(SHIPPED),
    "tiny": lambda: MouthMotionConfig.from_preset("tiny"),
    "tiny_mean_std": lambda: MouthMotionConfig.from_preset("tiny", mel_normalization="mean_std"),
    "tiny_mel_only": lambda: MouthMotionConfig.from_preset("tiny", use_phones=False),
    "tiny_phones_only": lambda: MouthMotionConfig.from_preset("tiny", use_mel=False),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_extractor_features_equal_the_reference_bit_for_bit(name):
    config = CONFIGS[name]()
    wave, phones = synthetic_wave(), given_phones()
    expected = reference_mouth_audio_features(wave, FRAMES, FPS, config, phones)
    extractor = MouthMotionFeatureExtractor.from_config(config)
    assert extractor.feature_size == config.input_size
    for got in (extractor(wave, FRAMES, FPS, phones=phones), mouth_audio_features(wave, FRAMES, FPS, config, phones)):
        assert got.dtype == np.float32 and got.shape == (FRAMES, config.input_size)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.skipif(not phones_available(), reason="needs pocketsphinx")
def test_extractor_decodes_phones_like_the_reference():
    config = MouthMotionConfig.from_pretrained(SHIPPED)  # the words decoder
    wave = synthetic_wave()
    np.testing.assert_array_equal(
        MouthMotionFeatureExtractor.from_config(config)(wave, FRAMES, FPS),
        reference_mouth_audio_features(wave, FRAMES, FPS, config),
    )


@pytest.mark.parametrize("from_rest", [False, True])
def test_shipped_model_predictions_equal_the_reference(from_rest):
    model = MouthMotionModel.from_pretrained(SHIPPED).eval()
    wave, phones = synthetic_wave(), given_phones()
    got = model.predict_speech(wave, FRAMES, FPS, from_rest=from_rest, phones=phones)
    np.testing.assert_array_equal(got, reference_predict_speech(model, wave, FRAMES, FPS, from_rest, phones))
    np.testing.assert_array_equal(
        got[28:33],
        np.broadcast_to(  # inside the silent gap: at rest
            0 if from_rest else model.rest_displacement(), got[28:33].shape
        ),
    )


def test_tiny_model_predictions_equal_the_reference():
    torch.manual_seed(0)
    model = MouthMotionModel(
        MouthMotionConfig.from_preset("tiny", output_gain=2.0, silence_displacement=[0.01] * 40)
    ).eval()
    wave, phones = synthetic_wave(), given_phones()
    np.testing.assert_array_equal(
        model.predict_speech(wave, FRAMES, FPS, phones=phones),
        reference_predict_speech(model, wave, FRAMES, FPS, phones=phones),
    )


def test_extractor_follows_the_config_and_saves_like_a_transformers_feature_extractor(tmp_path):
    config = MouthMotionConfig.from_preset("tiny", phone_decoder="words", mel_normalization="mean_std")
    extractor = MouthMotionFeatureExtractor.from_config(config)
    assert (
        extractor.use_phones,
        extractor.use_mel,
        extractor.phone_decoder,
        extractor.mel_normalization,
        extractor.sampling_rate,
    ) == (True, True, "words", "mean_std", 16000)
    extractor.save_pretrained(tmp_path)
    assert (tmp_path / "preprocessor_config.json").exists()
    loaded = MouthMotionFeatureExtractor.from_pretrained(tmp_path)
    assert loaded.to_dict() == extractor.to_dict()
    wave, phones = synthetic_wave(), given_phones()
    np.testing.assert_array_equal(loaded(wave, FRAMES, FPS, phones=phones), extractor(wave, FRAMES, FPS, phones=phones))
    # the mouth-sync expert reads the same features from a config without a decoder choice: the default
    sync = MouthMotionFeatureExtractor.from_config(MouthSyncConfig())
    assert sync.phone_decoder == PHONE_LOOP_DECODER == "allphone" and sync.feature_size == NUM_PHONES + 80
