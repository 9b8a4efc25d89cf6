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
