"""LSE-D / LSE-C with SyncNet v2: the search on synthetic embeddings, the window plumbing with a stub network,
syncnet_python's crop geometry from a face track."""

from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import scipy.signal
import torch
from torch import nn

from talkhead.errors import EmptyAudioError, NoFaceError
from talkhead.metrics.lse import num_windows, syncnet_crop_geometry, syncnet_v2_face_crops, syncnet_v2_scores
from talkhead.metrics.sync import SyncResult, distance_matrix, offset_search
from talkhead.models.syncnet_v2 import SyncNetV2Config, SyncNetV2Model
from talkhead.processing.face_crops import face_crop_boxes
from talkhead.processing.faces import FaceTracker

from ..conftest import face_frame


@pytest.mark.parametrize("shift", [-4, 0, 4])
def test_shifted_embeddings_give_the_offset(shift):
    stream = np.random.default_rng(1).standard_normal((100, 16))
    video, audio = stream[20:80], stream[20 + shift : 80 + shift]  # audio[t] sounds with video frame t + shift
    result = offset_search(video, audio)
    assert isinstance(result, SyncResult) and result.offset == shift
    assert result.confidence > 1.0 and result.min_distance < np.median(result.distances)
    assert result.frame_confidence.shape == (60,) and result.distances.shape == (31,)
    assert set(result.to_dict(curves=False)) == {"offset", "abs_offset", "min_distance", "confidence"}
    assert len(result.to_dict()["distances"]) == 31


def test_frame_confidence_is_syncnet_python_s():
    rng = np.random.default_rng(2)
    video, audio = rng.standard_normal((40, 8)), rng.standard_normal((40, 8))
    audio[:, :4] = video[:, :4]  # partly in sync, so the frames differ
    result = offset_search(video, audio)
    # SyncNetInstance.evaluate: dists[t][k], mdist = mean over t; fconf = median(mdist) - dists[t][argmin], medfilt 9
    dists = distance_matrix(video, audio, 15)
    mdist = dists.mean(axis=0)
    expected = scipy.signal.medfilt(np.median(mdist) - dists[:, mdist.argmin()], kernel_size=9)
    np.testing.assert_allclose(result.frame_confidence, expected, rtol=1e-12, atol=1e-12)
    assert result.min_distance == pytest.approx(mdist.min()) and result.confidence == pytest.approx(
        np.median(mdist) - mdist.min()
    )


def test_constant_sequences_have_zero_confidence():
    zero = offset_search(np.zeros((30, 8)), np.zeros((30, 8)))  # even SyncNet's zero padding matches
    assert zero.confidence == 0.0 and zero.min_distance == 0.0 and not zero.frame_confidence.any()
    assert zero.offset == 15  # a flat curve: the first shift wins, as torch.min picks it in the original
    constant = np.ones((30, 8))
    valid = offset_search(constant, constant, padding="valid")
    assert valid.confidence == 0.0 and valid.min_distance == 0.0
    assert not np.nan_to_num(valid.frame_confidence).any()  # NaN: windows with no partner at the best shift
    assert offset_search(constant, constant).offset == 0  # zero padding: farther at the edges, best at 0


class StubSyncNet(nn.Module):
    """Embeds a window as the z-scored pattern of its 5 frames' brightness / loudness (MFCC c0)."""

    def __init__(self, size=8):
        super().__init__()
        self.config = SimpleNamespace(image_size=size)
        self.gain = nn.Parameter(torch.ones(()))
        self.video_inputs = []

    @staticmethod
    def _pattern(values):
        return (values - values.mean(1, keepdim=True)) / (values.std(1, keepdim=True) + 1e-3)

    def embed_video(self, windows):  # (B, 3, 5, S, S)
        self.video_inputs.append(windows)
        return self._pattern(windows.mean(dim=(1, 3, 4))) * self.gain

    def embed_audio(self, windows):  # (B, 1, 13, 20)
        return self._pattern(windows[:, 0, 0].reshape(len(windows), 5, 4).mean(-1)) * self.gain


def synthetic_clip(shift, frames=60, size=8):
    """Faces flash with a random on/off pattern; the audio is loud with the same pattern, ``shift`` frames ahead."""
    pattern = np.random.default_rng(3).integers(0, 2, frames + 40)
    faces = np.repeat((40 + 160 * pattern[20 : 20 + frames]).astype(np.uint8), size * size * 3).reshape(
        frames, size, size, 3
    )
    loudness = np.repeat(np.where(pattern[20 + shift : 20 + shift + frames] > 0, 0.3, 0.01), 640)
    wave = (loudness * np.random.default_rng(4).standard_normal(frames * 640)).astype(np.float32)
    return faces, wave


@pytest.mark.parametrize("shift", [-3, 0, 2])
def test_scores_find_the_offset_through_the_windows(shift):
    faces, wave = synthetic_clip(shift)
    model = StubSyncNet()
    model.train()
    result = syncnet_v2_scores(model, faces, wave, batch_size=7)
    assert result.offset == shift and result.confidence > 0.5
    assert result.frame_confidence.shape == (55,)  # min(60, 60) - 5 windows, as syncnet_python counts
    assert model.training  # restored after scoring in eval mode


def test_video_windows_are_bgr_floats_on_0_255_and_the_shorter_stream_counts():
    faces = np.zeros((20, 8, 8, 3), np.uint8)
    faces[..., 0] = 255  # pure red in RGB
    model = StubSyncNet()
    result = syncnet_v2_scores(
        model, faces, np.random.default_rng(0).standard_normal(640 * 15 + 300).astype(np.float32)
    )
    windows = torch.cat(model.video_inputs)
    assert windows.shape == (10, 3, 5, 8, 8) and num_windows(20, 640 * 15 + 300) == 10
    assert windows.dtype == torch.float32 and (windows[:, 2] == 255).all() and (windows[:, :2] == 0).all()
    assert result.frame_confidence.shape == (10,)
    with pytest.raises(EmptyAudioError, match="at least 6 frames"):
        syncnet_v2_scores(model, faces[:5], np.zeros(16000, np.float32))
    with pytest.raises(ValueError, match="uint8 RGB face crops"):
        syncnet_v2_scores(model, faces[:, :4], np.zeros(16000, np.float32))


def test_tiny_syncnet_v2_end_to_end():
    torch.manual_seed(0)
    model = SyncNetV2Model(SyncNetV2Config.from_preset("tiny"))
    faces, wave = synthetic_clip(0, frames=12, size=64)
    result = syncnet_v2_scores(model, faces, wave, vshift=3)
    assert (
        result.distances.shape == (7,) and np.isfinite(result.distances).all() and result.frame_confidence.shape == (7,)
    )


def original_crop(frame, box, crop_scale=0.4):
    """run_pipeline.crop_video for one frame, written out as it does it: pad with grey 110, slice, resize."""
    half = max(box[3] - box[1], box[2] - box[0]) / 2
    centre_y, centre_x = (box[1] + box[3]) / 2, (box[0] + box[2]) / 2
    pad = int(half * (1 + 2 * crop_scale))
    padded = np.pad(frame, ((pad, pad), (pad, pad), (0, 0)), "constant", constant_values=(110, 110))
    my, mx = centre_y + pad, centre_x + pad
    face = padded[
        int(my - half) : int(my + half * (1 + 2 * crop_scale)),
        int(mx - half * (1 + crop_scale)) : int(mx + half * (1 + crop_scale)),
    ]
    return cv2.resize(face, (224, 224))


def square_track(boxes, found):
    """A face track of landmark points on a grid inside given boxes (NaN where ``found`` is False)."""
    boxes, found = np.asarray(boxes, np.float32), np.asarray(found, bool)
    grid = np.stack(np.meshgrid(np.linspace(0, 1, 17), np.linspace(0, 1, 4)), -1).reshape(-1, 2)[:68]
    landmarks = boxes[:, None, :2] + grid[None] * (boxes[:, None, 2:] - boxes[:, None, :2])
    landmarks[~found] = np.nan
    return landmarks.astype(np.float32), found


@pytest.mark.parametrize(
    "landmark_box", [(90.0, 70.0, 170.0, 150.0), (5.0, 150.0, 85.0, 230.0)]
)  # inside; near a corner
def test_face_crops_follow_run_pipeline_geometry(landmark_box):
    frames = np.random.default_rng(5).integers(0, 255, (15, 240, 320, 3), dtype=np.uint8)
    found = np.ones(15, bool)
    found[6:8] = False  # lost for two frames: boxes interpolated
    crops = syncnet_v2_face_crops(frames, *square_track(np.tile(landmark_box, (15, 1)), found))
    assert crops.shape == (15, 224, 224, 3) and crops.dtype == np.uint8
    box = face_crop_boxes(square_track(np.tile(landmark_box, (1, 1)), [True])[0])[0]
    for index in (0, 7, 14):
        np.testing.assert_array_equal(crops[index], original_crop(frames[index], box.astype(np.float64)))


def test_crop_geometry_median_filters_like_scipy_and_short_tracks_survive():
    boxes = np.tile([10.0, 20.0, 50.0, 80.0], (20, 1))
    boxes[9] = [100, 100, 200, 200]  # a one-frame jump is filtered out
    x, y, half = syncnet_crop_geometry(boxes)
    assert np.allclose(x, 30) and np.allclose(y, 50) and np.allclose(half, 30)
    x, y, half = syncnet_crop_geometry(boxes[:6])  # shorter than 13 frames: the zero padding must not win
    assert np.allclose(half, 30)


def test_face_crops_need_a_face():
    frames = np.zeros((8, 64, 64, 3), np.uint8)
    with pytest.raises(NoFaceError):
        syncnet_v2_face_crops(frames, *square_track(np.zeros((8, 4)), np.zeros(8, bool)))


def test_face_crops_of_a_dlib_track_on_a_real_face(astronaut):
    frames = np.stack([face_frame(astronaut, 256, (i % 3, 0)) for i in range(8)])
    track = FaceTracker().track(frames)
    crops = syncnet_v2_face_crops(frames, track.landmarks, track.found)
    assert track.found.all() and crops.shape == (8, 224, 224, 3)
    assert (crops == 110).all(axis=-1).mean() < 0.05  # the face fills the crop; hardly any grey border
    model = StubSyncNet(224)
    result = syncnet_v2_scores(model, crops, np.zeros(8 * 640, np.float32), vshift=2)
    assert result.frame_confidence.shape == (3,)
