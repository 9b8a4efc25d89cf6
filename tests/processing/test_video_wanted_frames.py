"""VideoReader.frames_at: only the wanted frames are converted to RGB, and a region converts
alone, pixel for pixel as cut from the whole frame, without a whole-frame conversion."""

import av
import numpy as np
import pytest

from talkhead.io import video as V
from talkhead.io.video import VideoReader

from ..conftest import write_av


def noise_frames(count: int, size=(96, 128), seed: int = 0) -> list[np.ndarray]:
    """Random colour frames (real chroma detail, so a misplaced chroma sample shows), frame number in pixel 0."""
    rng = np.random.default_rng(seed)
    frames = [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for _ in range(count)]
    for number, frame in enumerate(frames):
        frame[:8, :8] = number * 4
    return frames


@pytest.fixture(scope="module")
def noisy_video(tmp_path_factory):
    return write_av(tmp_path_factory.mktemp("wanted") / "noise.mp4", noise_frames(40), 30)  # 30 fps: resampled


def count_conversions(monkeypatch) -> list:
    calls = []
    original = V._to_rgb

    def counted(*args):
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(V, "_to_rgb", counted)
    return calls


def test_frames_at_yields_the_wanted_frames_and_converts_only_them(noisy_video, monkeypatch):
    reader = VideoReader(noisy_video)
    full = list(reader)
    indices = [3, 4, 10, 17, 29]
    calls = count_conversions(monkeypatch)
    got = list(reader.frames_at(indices))
    assert [index for index, _ in got] == indices
    for index, frame in got:
        np.testing.assert_array_equal(frame, full[index])
    assert len(calls) == len(indices)  # the frames between were decoded, never converted (they were before)
    assert [i for i, _ in reader.frames_at([0, len(full) - 1, len(full) + 3])] == [0, len(full) - 1]  # past the end
    assert list(reader.frames_at([])) == []
    with pytest.raises(ValueError, match="sorted"):
        list(reader.frames_at([5, 2]))


def test_frame_regions_are_cut_whole_frames_without_converting_a_whole_frame(noisy_video, monkeypatch):
    reader = VideoReader(noisy_video)
    full = list(reader)
    indices = [0, 5, 6, 20, 31]
    boxes = np.array([[0, 0, 128, 96], [3, 7, 50, 41], [1, 1, 2, 2], [77, 30, 128, 96], [64, 0, 65, 95]])
    calls = count_conversions(monkeypatch)
    for (index, region), (x0, y0, x1, y1) in zip(reader.frames_at(indices, boxes), boxes, strict=True):
        assert region.flags.c_contiguous
        np.testing.assert_array_equal(region, full[index][y0:y1, x0:x1])
    assert calls == []


@pytest.mark.parametrize("pixel_format", ["yuv420p", "yuvj420p"])
@pytest.mark.parametrize("tags", [None, ("ITU709", "JPEG"), ("ITU709", "MPEG")])
def test_a_converted_region_matches_the_whole_frames_conversion(pixel_format, tags):
    rng = np.random.default_rng(1)
    frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (72 * 3 // 2, 100), dtype=np.uint8), format="yuv420p")
    if pixel_format != "yuv420p":
        frame = frame.reformat(format=pixel_format)
    if tags is not None:
        frame.colorspace = getattr(av.video.reformatter.Colorspace, tags[0])
        frame.color_range = getattr(av.video.reformatter.ColorRange, tags[1])
    whole = V._to_rgb(frame, 100, 72, 0)
    for x0, y0, x1, y1 in [(0, 0, 100, 72), (1, 3, 98, 70), (37, 11, 38, 12), (50, 20, 99, 71)]:
        np.testing.assert_array_equal(V._convert_region(frame, x0, y0, x1, y1), whole[y0:y1, x0:x1])


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_regions_of_rotated_frames(turns):
    rng = np.random.default_rng(turns)
    frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (64 * 3 // 2, 80), dtype=np.uint8), format="yuv420p")
    picture = V._Picture(frame, 80, 64, turns)
    shown = picture()
    height, width = shown.shape[:2]
    for x0, y0, x1, y1 in [(0, 0, width, height), (3, 5, 20, 33), (width - 9, height - 7, width, height)]:
        np.testing.assert_array_equal(picture.region((x0, y0, x1, y1)), shown[y0:y1, x0:x1])
    stored = np.arange(7 * 5).reshape(7, 5)  # the box arithmetic alone, odd sizes
    shown = np.rot90(stored, turns)
    sx0, sy0, sx1, sy1 = V._stored_box((1, 2, 4, 5), turns, 5, 7)
    np.testing.assert_array_equal(np.rot90(stored[sy0:sy1, sx0:sx1], turns), shown[2:5, 1:4])
