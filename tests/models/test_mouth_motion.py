"""The mouth-motion model with a tiny config: shapes, masked loss, gain and rest pose (save/load, batching and
gradients: tests/models/test_modeling_common.py)."""

import numpy as np
import pytest
import torch

from talkhead.models.mouth_motion import MouthMotionConfig, MouthMotionModel, mouth_audio_features
from talkhead.models.mouth_motion.modeling_mouth_motion import inner_lip_gap
from talkhead.processing.phones import NUM_PHONES


def tiny(**overrides):
    torch.manual_seed(0)
    return MouthMotionModel(MouthMotionConfig.from_preset("tiny", **overrides))


def test_shapes_and_masked_loss():
    model = tiny().train()
    features = torch.randn(2, 30, model.config.input_size)
    labels = torch.randn(2, 30, 20, 2)
    mask = torch.ones(2, 30)
    mask[1, 20:] = 0
    out = model(features, labels, mask)
    assert out.displacements.shape == (2, 30, 20, 2)
    changed = labels.clone()
    changed[1, 20:] += 100  # padding frames do not count
    torch.testing.assert_close(model.eval()(features, changed, mask).loss, model(features, labels, mask).loss)


def test_inputs_follow_the_config():
    assert MouthMotionConfig(use_mel=False).input_size == NUM_PHONES
    assert MouthMotionConfig(use_phones=False).input_size == 80
    with pytest.raises(ValueError, match="both False"):
        MouthMotionConfig(use_phones=False, use_mel=False)
    config = MouthMotionConfig.from_preset("tiny", use_phones=False)
    wave = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)
    assert mouth_audio_features(wave, 25, 25.0, config).shape == (25, 80)
    phones = np.zeros((25, NUM_PHONES), np.float32)
    both = mouth_audio_features(wave, 25, 25.0, MouthMotionConfig.from_preset("tiny"), phones=phones)
    assert (
        both.shape == (25, NUM_PHONES + 80) and np.abs(both[:, NUM_PHONES:].mean(0)).max() < 1e-5
    )  # mel mean-normalised
    scaled = mouth_audio_features(
        wave, 25, 25.0, MouthMotionConfig.from_preset("tiny", mel_normalization="mean_std"), phones=phones
    )[:, NUM_PHONES:]
    centred = both[:, NUM_PHONES:]
    np.testing.assert_allclose(scaled, centred / (centred.std(0) + 0.1), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="mel_normalization"):
        MouthMotionConfig(mel_normalization="max")


def test_gain_and_rest_pose():
    model = tiny(output_gain=2.0, silence_displacement=[0.01] * 40, opening_loss_weight=5.0)
    features = np.random.default_rng(1).normal(size=(40, model.config.input_size)).astype(np.float32)
    model.config.output_gain = 1.0
    raw = model.predict(features)
    model.config.output_gain = 2.0
    np.testing.assert_allclose(model.predict(features), 2 * raw, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(features, from_rest=True), 2 * raw - 0.02, rtol=1e-5, atol=1e-6)


def test_inner_lip_gap_is_lower_minus_upper_inner_lip():
    shapes = torch.zeros(20, 2)
    shapes[[13, 14, 15], 1] = -1.0  # points 61-63 up
    shapes[[19, 18, 17], 1] = 2.0  # points 65-67 down
    assert float(inner_lip_gap(shapes)) == 3.0


def test_ensemble_averages_members_and_trains_each_on_its_own_loss():
    model = tiny(ensemble_size=3).train()
    assert len(model.members) == 3
    features, labels = torch.randn(2, 20, model.config.input_size), torch.randn(2, 20, 20, 2)
    model.eval()
    members = torch.stack([member(features) for member in model.members])
    torch.testing.assert_close(model(features).displacements, members.mean(0) * model.config.output_gain)
    assert not torch.allclose(members[0], members[1])  # independently initialised
    losses = torch.stack([model._member_loss(out, labels, None) for out in members])
    torch.testing.assert_close(model(features, labels).loss, losses.mean())
    with pytest.raises(ValueError, match="ensemble_size=0"):
        MouthMotionConfig(ensemble_size=0)


def test_opening_correlation_is_pearson_over_the_masked_frames():
    from talkhead.models.mouth_motion.modeling_mouth_motion import opening_correlation

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 30)), rng.normal(size=(2, 30))
    weights = np.ones((2, 30))
    weights[1, 20:] = 0  # padding must not count
    got = opening_correlation(torch.tensor(a), torch.tensor(b), torch.tensor(weights)).numpy()
    assert got[0] == pytest.approx(np.corrcoef(a[0], b[0])[0, 1])
    assert got[1] == pytest.approx(np.corrcoef(a[1, :20], b[1, :20])[0, 1])
    scaled = opening_correlation(torch.tensor(3 * a + 1), torch.tensor(b), torch.tensor(weights)).numpy()
    assert scaled == pytest.approx(got)  # scale-free: it rewards timing, not amplitude


def test_correlation_loss_adds_to_the_regression_loss():
    torch.manual_seed(0)
    features = torch.randn(2, 12, MouthMotionConfig.from_preset("tiny").input_size)
    labels = torch.randn(2, 12, 20, 2)
    plain = MouthMotionModel(MouthMotionConfig.from_preset("tiny"))
    with_correlation = MouthMotionModel(MouthMotionConfig.from_preset("tiny", correlation_loss_weight=1.0))
    with_correlation.load_state_dict(plain.state_dict())
    plain.eval(), with_correlation.eval()
    base, extra = plain(features, labels).loss, with_correlation(features, labels).loss
    assert extra.item() > base.item()  # 1 - correlation of a random model's opening is about 1


def test_phone_decoder_is_checked_and_saved(tmp_path):
    with pytest.raises(ValueError, match="phone_decoder"):
        MouthMotionConfig(phone_decoder="graphemes")
    MouthMotionConfig.from_preset("tiny", phone_decoder="words").save_pretrained(tmp_path)
    assert MouthMotionConfig.from_pretrained(tmp_path).phone_decoder == "words"


def test_silence_pulls_the_predicted_mouth_to_rest():
    """Ten seconds of digital silence bring the mouth to rest: a clip-normalised mel would read silence as speech and
    hold the mouth open."""
    model = tiny(use_phones=False, output_gain=2.0, silence_displacement=[0.01] * 40).eval()
    silence = np.zeros(10 * 16000, np.float32)
    np.testing.assert_allclose(model.predict_speech(silence, 250, 25.0), np.full((250, 20, 2), 0.02))
    np.testing.assert_allclose(model.predict_speech(silence, 250, 25.0, from_rest=True), 0, atol=1e-12)
    rng = np.random.default_rng(0)
    speech = np.concatenate([0.2 * rng.standard_normal(16000), np.zeros(32000)]).astype(np.float32)
    moving = model.predict_speech(speech, 75, 25.0)
    plain = model.predict(mouth_audio_features(speech, 75, 25.0, model.config))
    np.testing.assert_allclose(moving[:20], plain[:20])  # sound: the model's own prediction
    np.testing.assert_allclose(moving[35:], 0.02)  # the silent second: at rest
