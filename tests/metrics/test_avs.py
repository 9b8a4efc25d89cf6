"""AVS_u / AVS_m / AVS_v (Yaman et al., AV-HuBERT expert, eq. 4-6) with a tiny random AV-HuBERT: hand-checkable
cases."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from talkhead.metrics.avs import avs_m, avs_scores, avs_u, avs_v, frame_cosine
from talkhead.models.av_hubert import AVHubertConfig, AVHubertModel


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return AVHubertModel(AVHubertConfig.from_preset("tiny")).eval()


def clip(frames=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(frames, 88, 88)).astype(np.float32), rng.normal(size=(frames, 104)).astype(np.float32)


def test_frame_cosine_is_the_mean_of_per_frame_cosines():
    a = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]]])
    b = torch.tensor([[[2.0, 0.0], [1.0, 0.0], [-1.0, 0.0]]])
    assert float(frame_cosine(a, b)) == pytest.approx((1 + 0 - 1) / 3)


def test_identical_videos_score_one(model):
    rois, audio = clip()
    scores = avs_scores(model, rois, audio, reference_rois=rois.copy())
    assert scores["avs_v"] == pytest.approx(1.0, abs=1e-5) and scores["avs_m"] == pytest.approx(1.0, abs=1e-5)
    assert scores["not_computed"] == {} and scores["frames"] == 8
    other, _ = clip(seed=1)
    assert avs_scores(model, other, audio, reference_rois=rois)["avs_v"] < 0.999


def test_avs_u_is_the_cosine_of_the_video_alone_and_the_audio_alone(model):
    rois, audio = clip()
    video, sound = torch.from_numpy(rois)[None, None], torch.from_numpy(audio)[None]
    with torch.no_grad():
        visual = model(video=video).last_hidden_state[0]
        acoustic = model(audio=sound).last_hidden_state[0]
    by_hand = np.mean([float(F.cosine_similarity(visual[t], acoustic[t], dim=0)) for t in range(8)])
    assert avs_scores(model, rois, audio)["avs_u"] == pytest.approx(by_hand, abs=1e-5)
    assert float(avs_u(model, video, sound)) == pytest.approx(by_hand, abs=1e-5)


def test_batched_functions_give_one_score_per_video(model):
    rois, audio = clip()
    other, _ = clip(seed=2)
    generated = torch.from_numpy(np.stack([rois, other]))  # (B, T, 88, 88) works as well as (B, 1, T, 88, 88)
    reference = torch.from_numpy(np.stack([rois, rois]))
    sound = torch.from_numpy(np.stack([audio, audio]))
    v, m = avs_v(model, generated, reference), avs_m(model, generated, reference, sound)
    assert v.shape == m.shape == (2,)
    assert float(v[0]) == pytest.approx(1.0, abs=1e-5) and float(v[1]) < 0.999
    batch = avs_scores(model, generated, sound, reference_rois=reference)
    assert batch["avs_v"] == pytest.approx(float(v.mean()), abs=1e-6)


def test_what_cannot_be_computed_says_why(model):
    rois, audio = clip()
    only_audio = avs_scores(model, rois, audio)
    assert "avs_u" in only_audio and "avs_m" not in only_audio and "avs_v" not in only_audio
    assert (
        "reference_rois" in only_audio["not_computed"]["avs_m"]
        and "reference_rois" in only_audio["not_computed"]["avs_v"]
    )
    only_reference = avs_scores(model, rois, reference_rois=rois)
    assert set(only_reference["not_computed"]) == {"avs_u", "avs_m"} and "avs_v" in only_reference
    assert "audio_features" in only_reference["not_computed"]["avs_u"]


def test_inputs_of_different_lengths_are_cut_to_the_shortest(model):
    rois, audio = clip(frames=8)
    scores = avs_scores(model, rois, audio[:6], reference_rois=rois[:7])
    assert scores["frames"] == 6
    assert scores["avs_u"] == pytest.approx(avs_scores(model, rois[:6], audio[:6])["avs_u"], abs=1e-6)
