import numpy as np
import pytest

from talkhead.metrics.sync import distance_matrix, offset_search, retrieval_accuracy


@pytest.mark.parametrize("shift", [-6, -1, 0, 3, 10])
def test_shifted_copies_give_the_offset_and_positive_confidence(shift):
    rng = np.random.default_rng(0)
    stream = rng.standard_normal((120, 8))
    video = stream[20:100]
    audio = stream[20 + shift : 100 + shift]  # audio[t] is the sound of video frame t + shift: audio leads
    result = offset_search(video, audio)
    assert result.offset == shift
    assert result.confidence > 0.5 and result.min_distance < np.median(result.distances) / 3
    assert result.distances.shape == (31,) and result.offsets[15] == 0
    assert result.frame_confidence.shape == (80,)
    valid = offset_search(video, audio, padding="valid")  # only overlapping windows: an exact match
    assert valid.offset == shift and valid.min_distance < 1e-9


def test_identical_constant_sequences_have_zero_confidence_without_padding():
    constant = np.ones((40, 4))
    assert offset_search(constant, constant, padding="valid").confidence == 0.0
    # SyncNet's zero padding: shifts reaching the padding are farther, so a constant sequence
    # (a static face) still scores a positive confidence at offset 0
    padded = offset_search(constant, constant)
    assert padded.offset == 0 and padded.confidence > 0


def test_offset_sign_audio_leading_is_positive():
    video = np.eye(50)
    audio = np.roll(np.eye(50), -2, axis=0)  # audio[t] = the sound of video frame t + 2
    assert offset_search(video, audio, vshift=5).offset == 2


def test_cosine_metric_and_errors():
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    matrix = distance_matrix(a, a, vshift=1, metric="cosine")
    assert matrix.shape == (2, 3) and np.isclose(matrix[0, 1], 0.0)
    with pytest.raises(ValueError, match="metric"):
        distance_matrix(a, a, metric="manhattan")
    with pytest.raises(ValueError, match=r"\(T, D\)"):
        offset_search(np.zeros((3, 2)), np.zeros((3, 5)))


def test_retrieval_accuracy():
    audio = np.eye(4)
    assert retrieval_accuracy(audio, audio) == 1.0
    assert retrieval_accuracy(audio, audio[[1, 0, 2, 3]]) == 0.5
    assert retrieval_accuracy(audio * 3, audio, euclidean=True) == 1.0


def test_group_offset_scores_by_hand():
    from talkhead.metrics.sync import group_offset_scores

    scores = group_offset_scores(np.array([[[0.9, 0.1], [0.3, 0.2]]]))  # window 1 prefers the other audio
    assert scores == pytest.approx({"offset_accuracy": 0.5, "aligned_cosine": 0.55, "shifted_cosine": 0.2})


class ShiftedStreamExpert:
    """A stand-in expert: embeds window t as the t-th row of a random stream (visual) or of the same stream
    shifted (audio)."""

    window, metric, padding = 1, "euclidean", "valid"

    def num_windows(self, visual, audio) -> int:
        return min(len(visual), len(audio))

    def embed_visual(self, visual, count):
        return np.asarray(visual[:count])

    def embed_audio(self, audio, count):
        return np.asarray(audio[:count])


def test_expert_offset_searches_any_expert():
    from talkhead.metrics.sync import SyncExpert, expert_offset

    stream = np.random.default_rng(3).standard_normal((100, 6))
    expert = ShiftedStreamExpert()
    assert isinstance(expert, SyncExpert)
    result = expert_offset(expert, stream[20:80], stream[24:84])
    assert result.offset == 4 and result.to_dict(curves=False)["abs_offset"] == 4
    assert result.scores[15 + 4] == pytest.approx(1 - result.min_distance)  # scores run from -vshift up
    with pytest.raises(ValueError, match="shorter than the expert's window"):
        expert_offset(expert, stream[:0], stream[:0])


def test_every_shipped_kind_of_expert_is_a_sync_expert():
    import torch

    from talkhead.data.mouth_sync import MouthSyncExpert
    from talkhead.metrics.avs import AVHubertExpert
    from talkhead.metrics.face_sync import FaceSyncExpert
    from talkhead.metrics.landmarks import MSSyncLevelExpert
    from talkhead.metrics.lse import SyncNetV2Expert
    from talkhead.metrics.sync import SyncExpert
    from talkhead.models.av_hubert import AVHubertConfig, AVHubertModel
    from talkhead.models.avsyncnet import AVSyncNet, AVSyncNetConfig
    from talkhead.models.mouth_sync import MouthSyncConfig, MouthSyncModel
    from talkhead.models.ms_sync import MSSyncSyncerConfig, MSSyncSyncerModel
    from talkhead.models.syncnet_expert import SyncNetExpert, SyncNetExpertConfig
    from talkhead.models.syncnet_v2 import SyncNetV2Config, SyncNetV2Model

    torch.manual_seed(0)
    syncers = MSSyncSyncerModel(MSSyncSyncerConfig.from_preset("tiny"))
    experts = [
        FaceSyncExpert(SyncNetExpert(SyncNetExpertConfig.from_preset("tiny"))),
        FaceSyncExpert(AVSyncNet(AVSyncNetConfig.from_preset("tiny"))),
        SyncNetV2Expert(SyncNetV2Model(SyncNetV2Config.from_preset("tiny"))),
        *(MSSyncLevelExpert(syncers, level) for level in range(1, 5)),
        AVHubertExpert(AVHubertModel(AVHubertConfig.from_preset("tiny"))),
        MouthSyncExpert(MouthSyncModel(MouthSyncConfig.from_preset("tiny"))),
    ]
    for expert in experts:
        assert isinstance(expert, SyncExpert) and expert.metric in ("euclidean", "cosine")
        assert expert.padding in ("zeros", "valid") and expert.window >= 1


def test_ms_sync_levels_embed_as_the_syncers_forward_does():
    import torch

    from talkhead.metrics.landmarks import MSSyncLevelExpert
    from talkhead.models.ms_sync import MSSyncSyncerConfig, MSSyncSyncerModel

    torch.manual_seed(0)
    syncers = MSSyncSyncerModel(MSSyncSyncerConfig.from_preset("tiny")).eval()
    rng = np.random.default_rng(0)
    landmarks, audio = rng.random((48, 68, 2)).astype(np.float32), rng.standard_normal((192, 26)).astype(np.float32)
    with torch.no_grad():
        output = syncers(torch.from_numpy(landmarks)[None], torch.from_numpy(audio)[None])
    for index, level in enumerate(output.levels):
        expert = MSSyncLevelExpert(syncers, level)
        count = expert.num_windows(landmarks, audio)
        np.testing.assert_array_equal(
            expert.embed_visual(landmarks, count), output.landmark_embeddings[index][0].numpy()
        )
        np.testing.assert_array_equal(expert.embed_audio(audio, count), output.audio_embeddings[index][0].numpy())
