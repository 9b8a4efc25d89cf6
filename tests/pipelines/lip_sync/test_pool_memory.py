"""The lip-sync pool pass: patches cut from regions are bit for bit those of whole frames, and no whole full-size
frame is converted to RGB (converting whole 4K frames left 1.5 GB of freed frames held by the allocator)."""

import numpy as np
import pytest

from talkhead.io import video as V
from talkhead.io.video import VideoReader
from talkhead.pipelines import mouth_retrieval as retrieval
from talkhead.pipelines.lip_sync.pipeline_lip_sync import _read_full_size
from talkhead.pipelines.lip_sync.retrieval_renderer import build_pool_from
from talkhead.processing.faces import FaceTracker

from ...conftest import face_frame, write_av

SHIFTS = [
    (0, 0),
    (5, -3),
    (-9, 4),
    (-100, 0),
    (100, 30),
    (2, -60),
    (7, 7),
    (-3, 2),
]  # some push the patch off the frame


@pytest.fixture(scope="module")
def pool_video(tmp_path_factory, astronaut):
    """Noise frames (any misplaced pixel shows) and the astronaut's landmarks, moved about; some past the edges."""
    landmarks = FaceTracker().update(face_frame(astronaut)).astype(np.float64) + [32, 0]
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (256, 320, 3), dtype=np.uint8) for _ in SHIFTS]
    pixels = np.stack([landmarks + shift for shift in SHIFTS]).astype(np.float32)
    return write_av(tmp_path_factory.mktemp("pool") / "noise.mp4", frames), pixels


def old_pool(path, indices, pixels, ppu):
    """The pool as it was cut before: every frame from the first to the last wanted, whole, at full size."""
    wanted = set(indices.tolist())
    frames = enumerate(VideoReader(path).frames(int(indices[0]), int(indices[-1]) + 1), int(indices[0]))
    return retrieval.build_pool(((i, frame, pixels[i]) for i, frame in frames if i in wanted), ppu)


@pytest.mark.parametrize("indices", [np.arange(len(SHIFTS)), np.array([1, 3, 4, 6])])
def test_pool_of_regions_is_the_pool_of_whole_frames_and_converts_no_whole_frame(pool_video, indices, monkeypatch):
    path, pixels = pool_video
    ppu = retrieval.choose_pixels_per_unit(pixels)
    before = old_pool(path, indices, pixels, ppu)
    whole = []
    original = V._to_rgb
    monkeypatch.setattr(V, "_to_rgb", lambda *args: whole.append(args) or original(*args))
    after = build_pool_from(_read_full_size(path, 25.0), indices, pixels, ppu)
    assert whole == []  # only the regions the patches need were converted
    np.testing.assert_array_equal(after.patches, before.patches)
    np.testing.assert_array_equal(after.landmarks, before.landmarks)
    np.testing.assert_array_equal(after.frame_indices, before.frame_indices)
    np.testing.assert_array_equal(after.shapes, before.shapes)


def test_patch_boxes_cover_what_the_warp_reads(pool_video):
    """Noise outside the box must not change the patch (the box includes the bicubic reach and the reflections)."""
    path, pixels = pool_video
    ppu = retrieval.choose_pixels_per_unit(pixels)
    frame = VideoReader(path).read()[0]
    rng = np.random.default_rng(1)
    for landmarks in pixels:
        x0, y0, x1, y1 = retrieval.patch_source_box(landmarks, ppu, (320, 256))
        assert 0 <= x0 < x1 <= 320 and 0 <= y0 < y1 <= 256
        scrambled = rng.integers(0, 256, frame.shape, dtype=np.uint8)
        scrambled[y0:y1, x0:x1] = frame[y0:y1, x0:x1]
        np.testing.assert_array_equal(
            retrieval.cut_patch(scrambled, landmarks, ppu)[0], retrieval.cut_patch(frame, landmarks, ppu)[0]
        )


def test_pool_grows_past_its_capacity():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    landmarks = rng.uniform(20, 44, (68, 2))
    landmarks[36:42] = [24, 30]  # eyes 16 px apart
    landmarks[42:48] = [40, 30]
    items = [(i, frame, landmarks + rng.normal(0, 0.5, (68, 2))) for i in range(20)]
    grown, sized = retrieval.build_pool(items, 24.0), retrieval.build_pool(items, 24.0, capacity=20)
    short = retrieval.build_pool(items[:3], 24.0, capacity=20)
    assert len(grown) == len(sized) == 20 and len(short) == 3
    np.testing.assert_array_equal(grown.patches, sized.patches)
    np.testing.assert_array_equal(short.patches, sized.patches[:3])
