"""The mouth-sync expert (tiny config), its group data and the offset search of data/mouth_sync.py."""

import numpy as np
import pytest
import torch

from talkhead.data.mouth_sync import clip_offset, group_offset_accuracy, sliding_windows
from talkhead.data.mouth_windows import MotionClip, MouthSyncGroupDataset
from talkhead.metrics.sync import offset_search
from talkhead.models.mouth_sync import MouthSyncConfig, MouthSyncModel
from talkhead.processing.phones import NUM_PHONES


def tiny(**overrides):
    torch.manual_seed(0)
    return MouthSyncModel(MouthSyncConfig.from_preset("tiny", **overrides)).eval()


def test_embeddings_and_scores():
    model = tiny()
    window = model.config.window
    out = model(torch.randn(3, 8, window, 20, 2), torch.randn(3, 8, window, model.config.input_size))
    assert out.mouth_embeddings.shape == out.audio_embeddings.shape == (3, 8, model.config.embed_dim)
    torch.testing.assert_close(out.mouth_embeddings.norm(dim=-1), torch.ones(3, 8))
    torch.testing.assert_close(out.scores, (out.mouth_embeddings * out.audio_embeddings).sum(-1))
    assert (
        MouthSyncConfig(use_phones=False).input_size == 80 and MouthSyncConfig(use_mel=False).input_size == NUM_PHONES
    )


def test_window_order_matters():
    """A window reversed in time is a different window: the towers do not average over time."""
    model = tiny()
    mouth = torch.randn(1, model.config.window, 20, 2)
    forward, backward = model.embed_mouth(mouth), model.embed_mouth(mouth.flip(1))
    assert not torch.allclose(forward, backward, atol=1e-3)


def test_wrong_window_and_config_errors():
    model = tiny()
    with pytest.raises(ValueError, match=r"mouth windows have 4 frames; this expert reads 9"):
        model.embed_mouth(torch.randn(2, 4, 20, 2))
    with pytest.raises(ValueError, match="kernel_size"):
        MouthSyncConfig(kernel_size=4)


def motion_clip(signal: np.ndarray, audio_delay: int = 0) -> MotionClip:
    """A clip whose first audio channel is its mouth's first coordinate, ``audio_delay`` frames later."""
    frames = len(signal)
    displacements = np.zeros((frames, 20, 2), np.float32)
    displacements[:, 0, 0] = signal
    features = np.zeros((frames, 4), np.float32)
    features[:, 0] = np.roll(signal, audio_delay)
    return MotionClip("c", features, displacements, np.zeros((20, 2)), np.zeros((frames, NUM_PHONES), np.float32))


class Oracle:
    """Embeds a window as its (centred, normalised) first coordinate / first audio channel over time."""

    class config:
        window = 9

    @staticmethod
    def _embed(series):
        series = series - series.mean(-1, keepdim=True)
        return torch.nn.functional.normalize(series, dim=-1)

    def eval(self):
        return self

    def embed_mouth(self, windows):
        return self._embed(windows[..., 0, 0])

    def embed_audio(self, windows):
        return self._embed(windows[..., 0])


def test_sliding_windows_and_the_offset_sign():
    series = np.arange(12.0)
    windows = sliding_windows(series, 4)
    assert windows.shape == (9, 4) and (windows[3] == [3, 4, 5, 6]).all()
    with pytest.raises(ValueError, match="fewer than the expert's window"):
        sliding_windows(series, 13)
    audio = np.random.default_rng(0).normal(size=(60, 5))
    mouth = np.roll(audio, 3, axis=0)  # mouth window t + 3 is audio window t: the mouth moves 3 frames late
    assert offset_search(mouth, audio, vshift=6, metric="cosine", padding="valid").offset == 3


@pytest.mark.parametrize("delay", [0, 4, -3])
def test_clip_offset_finds_a_known_delay(delay):
    signal = np.random.default_rng(1).normal(size=200).astype(np.float32)
    found = clip_offset(Oracle(), *(lambda c: (c.features, c.displacements))(motion_clip(signal, delay)), max_lag=8)
    assert found["offset"] == -delay and found["confidence"] > 0.5  # audio late = mouth early = negative offset


def test_groups_and_offset_accuracy():
    signal = np.random.default_rng(2).normal(size=300).astype(np.float32)
    dataset = MouthSyncGroupDataset([motion_clip(signal)], window=9, windows_per_group=8, stride=2, samples_per_epoch=4)
    group = dataset[0]
    assert group["mouth_windows"].shape == (8, 9, 20, 2) and group["audio_windows"].shape == (8, 9, 4)
    first = group["mouth_windows"][:, 0, 0, 0].numpy()  # window m starts 2 m frames after window 0
    start = int(np.flatnonzero(np.isclose(signal, first[0]))[0])
    np.testing.assert_allclose(first, signal[start + 2 * np.arange(8)])
    assert group_offset_accuracy(Oracle(), [motion_clip(signal)], samples=32)["offset_accuracy"] == 1.0
    assert group_offset_accuracy(Oracle(), [motion_clip(signal, 2)], samples=32)["offset_accuracy"] < 0.2
    with pytest.raises(ValueError, match="no clip has the 23 frames"):
        MouthSyncGroupDataset([motion_clip(signal[:20])], window=9)


def test_mouth_sync_video_reports_an_offset_and_refuses_bad_input(astronaut, tmp_path):
    from talkhead.data.mouth_sync import mouth_sync_video
    from talkhead.errors import TalkheadInputError

    from ..conftest import talking_video, write_av

    model = tiny(use_phones=False)
    video = talking_video(tmp_path / "talk.mp4", astronaut, num_frames=60)
    found = mouth_sync_video(video, model=model, max_lag=5)
    assert found["frames"] == 60 and -5 <= found["offset"] <= 5 and len(found["scores"]) == 11
    with pytest.raises(TalkheadInputError, match="needs at least 70"):
        mouth_sync_video(video, model=model, max_lag=30)
    blank = write_av(
        tmp_path / "blank.mp4", [np.full((128, 128, 3), 90, np.uint8)] * 30, audio=np.zeros(19200, np.float32)
    )
    with pytest.raises(TalkheadInputError, match="a face was found in only 0 of 30 frames"):
        mouth_sync_video(blank, model=model, max_lag=5)
