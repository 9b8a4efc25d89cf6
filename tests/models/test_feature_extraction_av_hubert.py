"""The AV-HuBERT expert's audio features as facebookresearch/av_hubert prepares them (`hubert_dataset.py`): stacked log
filterbanks; and one video's inputs."""

import numpy as np
import pytest

from talkhead.models.av_hubert.feature_extraction_av_hubert import av_hubert_inputs, stack_logfbank, stacked_logfbank

from ..conftest import speech_like
from ..processing.psf_reference import psf_logfbank
from ..processing.test_mouth_crops import synthetic_face


def test_stacking_puts_four_frames_in_a_row_and_normalises_each_row():
    feats = np.arange(10 * 26, dtype=np.float32).reshape(10, 26)
    stacked = stack_logfbank(feats)
    assert stacked.shape == (3, 104)  # 10 frames -> 2 full stacks + 1 padded with zero rows
    raw = np.concatenate([feats, np.zeros((2, 26), np.float32)]).reshape(3, 104)
    expected = (raw - raw.mean(1, keepdims=True)) / np.sqrt(raw.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(stacked, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(stacked.mean(1), 0, atol=1e-5)
    np.testing.assert_allclose(stacked.std(1), 1, atol=1e-4)


def test_features_are_av_hubert_s_recipe_on_int16_samples():
    """logfbank of the int16 samples, stacked by 4 (zero rows fill the last stack), padded to the video, each
    row layer-normalised: hubert_dataset.py's load_feature and __getitem__."""
    pcm = np.round(speech_like(1.23) * 32767).astype(np.int16)  # 1.23 s: 122 filterbank frames, 31 stacks
    reference = stack_logfbank(psf_logfbank(pcm))
    ours = stacked_logfbank(pcm / 32768.0, 33)
    assert reference.shape == (31, 104) and ours.shape == (33, 104)
    np.testing.assert_allclose(ours[:31], reference, atol=1e-4)
    assert not ours[31:].any()


def test_features_match_python_speech_features_when_installed():
    psf = pytest.importorskip("python_speech_features")  # not a dependency: checked where it happens to be installed
    pcm = np.round(speech_like(0.8, seed=3) * 32767).astype(np.int16)
    np.testing.assert_allclose(stacked_logfbank(pcm / 32768.0), stack_logfbank(psf.logfbank(pcm, 16000)), atol=1e-4)


def test_audio_is_padded_with_zero_rows_or_trimmed_to_the_video():
    wave = speech_like(1.0)  # 25 video frames
    assert stacked_logfbank(wave).shape == (25, 104)
    long = stacked_logfbank(wave, 40)
    assert long.shape == (40, 104) and not long[25:].any() and long[:25].any()
    np.testing.assert_array_equal(stacked_logfbank(wave, 10), long[:10])
    with pytest.raises(ValueError, match="num_frames=0"):
        stacked_logfbank(wave, 0)


def test_av_hubert_inputs_of_one_video():
    landmarks, _ = synthetic_face()
    frames = np.full((10, 480, 520, 3), 128, np.uint8)
    rois, audio = av_hubert_inputs(frames, np.repeat(landmarks[None], 10, 0), speech_like(0.3))
    assert rois.shape == (10, 88, 88) and audio.shape == (10, 104)
    assert not audio[8:].any()  # 0.3 s of audio covers 8 frames (7.5 rounded up)
