import numpy as np
import pytest
import torch

from talkhead.backbones.inception import FIDInceptionV3, load_fid_inception
from talkhead.metrics.landmarks import (
    frechet_distance,
    gaussian_statistics,
    inception_frechet,
    landmark_frechet,
    motion_trail,
    multiscale_sync,
    rasterize_landmarks,
)
from talkhead.metrics.sync import offset_search
from talkhead.models.ms_sync import MSSyncSyncerConfig, MSSyncSyncerModel


def face_points(seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 0.9, (68, 2)).astype(np.float32)


def test_rasteriser_lights_one_pixel_per_landmark_in_its_region_channel():
    points = face_points()
    raster = rasterize_landmarks(points)
    assert raster.shape == (3, 224, 224) and raster.max() == 1.0
    expected = [
        len(set(map(tuple, (points[s] * 224).astype(int)))) for s in (slice(0, 17), slice(17, 48), slice(48, 68))
    ]
    assert [int(raster[c].sum()) for c in range(3)] == expected
    x, y = (points[30] * 224).astype(int)
    assert raster[1, y, x] == 1.0  # the nose tip, channel 1, row = y
    clamped = rasterize_landmarks(np.full((68, 2), 1.5, np.float32))
    assert clamped[:, 221, 221].sum() == 3  # clamped to 0.99 * 224
    assert rasterize_landmarks(np.stack([points, points]), size=64).shape == (2, 3, 64, 64)


def test_motion_trail_weights_sum_to_one_and_favour_late_frames():
    clip = np.zeros((5, 3, 4, 4), np.float32)
    clip[:, 0, 0, 0] = 1.0
    assert motion_trail(clip)[0, 0, 0] == pytest.approx(1.0)
    clip[:, 0, 0, 0] = [1, 0, 0, 0, 0]
    clip[:, 0, 1, 1] = [0, 0, 0, 0, 1]
    trail = motion_trail(clip)
    assert trail[0, 1, 1] == pytest.approx(0.8 / 2.5) and trail[0, 0, 0] == pytest.approx(0.2 / 2.5)


def test_frechet_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    features = np.random.default_rng(0).standard_normal((500, 8))
    stats = gaussian_statistics(features)
    assert abs(frechet_distance(*stats, *stats)) < 1e-6
    shifted = gaussian_statistics(features + 2.0)
    assert frechet_distance(*stats, *shifted) == pytest.approx(8 * 4.0, rel=1e-3)  # ‖Δμ‖² = 8 · 2²


def test_landmark_frechet_and_multiscale_sync_with_a_tiny_syncer():
    torch.manual_seed(0)
    syncer = MSSyncSyncerModel(
        MSSyncSyncerConfig.from_preset("tiny", normalize_embeddings=False, objective="contrastive")
    )
    syncer.set_input_statistics(np.full(136, 0.5), np.full(136, 0.02), np.zeros(26), np.ones(26))
    rng = np.random.default_rng(1)
    reference = [face_points(i)[None] + 0.01 * rng.standard_normal((60, 68, 2)).astype(np.float32) for i in range(4)]
    same = landmark_frechet(syncer, reference, reference)
    assert set(same) == {"frechet_1", "frechet_2", "frechet_3", "frechet_4", "frechet"}
    assert abs(same["frechet"]) < 1e-6
    static = [np.repeat(seq[:1], 60, axis=0) for seq in reference]
    assert landmark_frechet(syncer, static, reference)["frechet"] > 1e-4
    audio = rng.standard_normal((240, 26)).astype(np.float32)
    result = multiscale_sync(syncer, reference[0], audio)
    summary = result.summary()
    assert set(summary) == {f"av_{k}_{i}" for k in ("off", "conf") for i in (1, 2, 3, 4)}
    # level i is the valid-padded offset search over level i's own window embeddings
    with torch.no_grad():
        out = syncer.eval()(torch.from_numpy(reference[0])[None], torch.from_numpy(audio)[None])
    for level, video_embeddings, audio_embeddings in zip(
        out.levels, out.landmark_embeddings, out.audio_embeddings, strict=False
    ):
        expected = offset_search(video_embeddings[0], audio_embeddings[0], padding="valid")
        assert summary[f"av_off_{level}"] == abs(expected.offset)
        assert summary[f"av_conf_{level}"] == pytest.approx(expected.confidence)
    assert result.to_dict()["level_3"]["step_ms"] == 160


@pytest.mark.slow  # the slowest of the default suite, which must stay under 10 minutes on 2 cores
def test_inception_loader_takes_pytorch_fid_names_and_random_weights(tmp_path):
    torch.manual_seed(0)
    reference = FIDInceptionV3().eval()
    state = {k: v for k, v in reference.state_dict().items() if not k.endswith("num_batches_tracked")}
    state["fc.weight"], state["fc.bias"] = torch.zeros(1008, 2048), torch.zeros(1008)
    assert "Mixed_7c.branch3x3dbl_3b.conv.weight" in state and "Conv2d_1a_3x3.bn.running_var" in state
    torch.save(state, tmp_path / "pt_inception.pth")
    loaded = load_fid_inception(tmp_path / "pt_inception.pth")
    images = np.random.default_rng(0).random((3, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        features = loaded(torch.from_numpy(images))
        torch.testing.assert_close(features, reference(torch.from_numpy(images)))
    assert features.shape == (3, 2048)
    assert inception_frechet(loaded, images, images) == pytest.approx(0.0, abs=1e-2)
    with pytest.raises(FileNotFoundError, match="pt_inception-2015-12-05"):
        load_fid_inception(tmp_path / "missing.pth")
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "wrong.pth")
    with pytest.raises(ValueError, match="does not hold FID Inception weights"):
        load_fid_inception(tmp_path / "wrong.pth")
