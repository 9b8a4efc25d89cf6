import pytest
import torch

from talkhead.errors import TalkheadInputError
from talkhead.models.ms_sync import MSSyncSyncerConfig, MSSyncSyncerModel


@pytest.fixture()
def tiny():
    torch.manual_seed(0)
    model = MSSyncSyncerModel(MSSyncSyncerConfig.from_preset("tiny")).eval()
    model.set_input_statistics(
        torch.full((136,), 0.5), torch.full((136,), 0.1), torch.full((26,), -8.0), torch.full((26,), 3.0)
    )
    return model


def test_paper_size_level_maps_windows_to_unit_512_vectors():
    model = MSSyncSyncerModel(MSSyncSyncerConfig(num_levels=1)).eval()
    with torch.no_grad():
        e_x, e_a = model.embed_windows(torch.rand(3, 5, 136), torch.randn(3, 20, 26), 1)
    assert e_x.shape == e_a.shape == (3, 512)
    torch.testing.assert_close(e_x.norm(dim=-1), torch.ones(3))
    assert sum(p.numel() for p in model.parameters()) > 10_000_000  # the paper's encoders, not a toy


def test_evaluation_syncers_keep_unnormalised_embeddings():
    model = MSSyncSyncerModel(
        MSSyncSyncerConfig.from_preset("tiny", normalize_embeddings=False, objective="contrastive")
    )
    e_x, _ = model.embed_windows(torch.rand(4, 5, 68, 2), torch.randn(4, 20, 26), 2)
    assert not torch.allclose(e_x.norm(dim=-1), torch.ones(4))


def test_forward_embeds_every_window_of_every_level(tiny):
    landmarks, audio = torch.rand(2, 80, 68, 2), torch.randn(2, 320, 26)
    with torch.no_grad():
        out = tiny(landmarks, audio)
    assert out.levels == (1, 2, 3, 4)
    assert [tuple(e.shape) for e in out.landmark_embeddings] == [(2, 76, 16), (2, 36, 16), (2, 16, 16), (2, 6, 16)]
    assert [tuple(s.shape) for s in out.scores] == [(2, 76), (2, 36), (2, 16), (2, 6)]
    # window t of level 1 is landmarks[t:t+5] against audio[4t:4t+20]
    with torch.no_grad():
        e_x, e_a = tiny.embed_windows(landmarks[:, 7:12], audio[:, 28:48], 1)
    torch.testing.assert_close(out.landmark_embeddings[0][:, 7], e_x)
    torch.testing.assert_close(out.audio_embeddings[0][:, 7], e_a)


def test_odd_lengths_and_short_audio_are_padded(tiny):
    with torch.no_grad():
        out = tiny(torch.rand(1, 81, 68, 2), torch.randn(1, 300, 26), levels=[2, 4])
    assert out.levels == (2, 4) and out.scores[0].shape == (1, 37) and out.scores[1].shape == (1, 7)


def test_windows_of_one_level_train_that_level_only(tiny):
    """(Batching, save/load and gradients of the whole pyramid: tests/models/test_modeling_common.py.)"""
    tiny.train()
    e_x, e_a = tiny.embed_windows(torch.rand(6, 5, 68, 2), torch.randn(6, 20, 26), 3)
    (e_x * e_a).sum().backward()
    trained = {index for index, level in enumerate(tiny.levels) if any(p.grad is not None for p in level.parameters())}
    assert trained == {2}


def test_a_clip_shorter_than_a_window_names_the_minimum(tiny):
    with pytest.raises(
        TalkheadInputError, match=r"level-4 syncer's 1600 ms window: it needs at least 33 frames \(1.32 s\)"
    ):
        tiny(torch.rand(1, 20, 68, 2), torch.randn(1, 80, 26))
    assert tiny(torch.rand(1, 20, 68, 2), torch.randn(1, 80, 26), levels=[1, 2, 3]).levels == (1, 2, 3)


def test_config_validation_names_the_bad_values():
    with pytest.raises(ValueError, match="audio_window=16 must equal"):
        MSSyncSyncerConfig(audio_window=16)
    with pytest.raises(ValueError, match="objective='triplet'"):
        MSSyncSyncerConfig(objective="triplet")
    with pytest.raises(ValueError, match="unknown ms_sync_syncer preset .huge.; choose one of"):
        MSSyncSyncerConfig.from_preset("huge")
    assert MSSyncSyncerConfig().level_durations_ms == [200, 400, 800, 1600]


def test_centred_windows_ignore_a_constant_shift_of_landmarks_and_audio():
    torch.manual_seed(0)
    centred = MSSyncSyncerModel(MSSyncSyncerConfig.from_preset("tiny", center_windows=True)).eval()
    plain = MSSyncSyncerModel(MSSyncSyncerConfig.from_preset("tiny")).eval()
    x, a = torch.rand(3, 5, 68, 2), torch.randn(3, 20, 26)
    with torch.no_grad():
        for model, invariant in ((centred, True), (plain, False)):
            e_x, e_a = model.embed_windows(x, a, 1)
            s_x, s_a = model.embed_windows(x + 0.1, a + 2.0, 1)
            assert torch.allclose(e_x, s_x, atol=1e-5) is invariant and torch.allclose(e_a, s_a, atol=1e-5) is invariant
        features = centred.landmark_features(torch.rand(1, 40, 68, 2))
    assert [f.shape[1] for f in features] == [36, 16, 6, 1]
