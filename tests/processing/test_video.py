import cv2
import numpy as np
import pytest

from talkhead.errors import MediaDecodeError, NoVideoError
from talkhead.io import audio as audio_io
from talkhead.io.video import VideoReader, read_video
from talkhead.io.video_probe import frames_covering, probe_video, refuse_still_image, resample_indices
from talkhead.io.video_writer import VideoWriter, write_video

from ..conftest import write_av, write_timed_video


def numbered_frames(count: int, size=(48, 64)) -> list[np.ndarray]:
    """Frame i shows i in binary: 8 blocks of 8x8 pixels, white for a 1 bit (survives compression)."""
    frames = []
    for i in range(count):
        frame = np.full((*size, 3), 64, np.uint8)
        for bit in range(8):
            frame[8:16, 8 * bit : 8 * bit + 8] = 255 if (i >> bit) & 1 else 0
        frames.append(frame)
    return frames


def frame_numbers(frames: np.ndarray) -> np.ndarray:
    bits = np.stack([frames[:, 10:14, 8 * b + 2 : 8 * b + 6].mean(axis=(1, 2, 3)) > 128 for b in range(8)], axis=1)
    return (bits * (1 << np.arange(8))).sum(axis=1)


def test_resample_indices_from_30_to_25_fps_pick_the_nearest_frame():
    source = np.arange(30) / 30
    indices = resample_indices(source, 1.0, 25)
    expected = [int(np.round(k / 25 * 30 - 1e-9)) for k in range(25)]  # nearest, ties to the earlier
    assert indices.tolist() == expected
    assert indices.tolist()[:7] == [0, 1, 2, 4, 5, 6, 7]


def test_resample_indices_identity_at_25_and_decimation_at_60():
    assert resample_indices(np.arange(50) / 25, 2.0).tolist() == list(range(50))
    assert resample_indices(np.arange(120) / 60, 2.0).tolist() == [int(np.round(k * 2.4 - 1e-9)) for k in range(50)]
    ntsc = resample_indices(np.arange(60) * 1001 / 30000, 60 * 1001 / 30000)
    assert len(ntsc) == frames_covering(2.002) == 51


def test_resample_indices_with_variable_timestamps():
    source = np.array([0.0, 0.03, 0.1, 0.11, 0.2, 0.31])
    out_times = np.arange(9) / 25  # 0, .04, ... .32: every k with k / 25 < 0.34
    nearest = [int(np.argmin(np.abs(source - t))) for t in out_times]
    assert nearest == [0, 1, 2, 3, 4, 4, 4, 5, 5]
    assert resample_indices(source, 0.34).tolist() == nearest


@pytest.mark.parametrize("fps", [25, 30, 60, 30000 / 1001])
def test_decoding_any_rate_gives_25_fps_with_correct_timestamps(tmp_path, fps):
    count = int(round(2 * fps))
    path = write_av(tmp_path / f"numbered_{fps:.2f}.mp4", numbered_frames(count), fps)
    reader = VideoReader(path)
    frames = reader.read()
    expected = resample_indices(np.arange(count) / fps, count / fps)
    assert len(frames) == len(expected) == reader.num_frames == frames_covering(count / fps)
    assert np.array_equal(frame_numbers(frames), expected)


# a phone's variable frame rate: 15 frames in the first second, then one every 0.2 s
VARIABLE_TIMES = np.r_[np.arange(15) / 15, 1 + np.arange(5) / 5]


@pytest.mark.parametrize("container", ["mp4", "mkv"])
def test_variable_frame_rate_is_placed_by_timestamp_not_index(tmp_path, container):
    path = write_timed_video(tmp_path / f"variable.{container}", numbered_frames(len(VARIABLE_TIMES)), VARIABLE_TIMES)
    reader = VideoReader(path)
    assert reader.info.source_fps < 15  # the average rate: what lip-sync writes its output at
    for fps in (25.0, reader.info.source_fps):
        shown = frame_numbers(VideoReader(path, fps=fps).read())
        covered = int(np.floor(VARIABLE_TIMES[-1] * fps)) + 1  # output frames up to the last source timestamp
        assert len(shown) >= covered
        nearest = [int(np.argmin(np.abs(VARIABLE_TIMES - k / fps) + 1e-9 * np.arange(20))) for k in range(covered)]
        assert shown[:covered].tolist() == nearest  # each output time shows the source frame on screen then
        assert shown[:covered].tolist() != list(range(covered))  # not the source frames one after another
    at_25 = frame_numbers(VideoReader(path).read())
    assert at_25[35].tolist() == 17 and at_25[:15].tolist() == [0, 1, 1, 2, 2, 3, 4, 4, 5, 5, 6, 7, 7, 8, 8]
    seeked = frame_numbers(np.stack(list(VideoReader(path).frames(30, 40))))
    assert seeked.tolist() == at_25[30:40].tolist()  # a seek lands on the same timeline


def test_frame_folder_is_a_video(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(numbered_frames(12)):
        cv2.imwrite(str(folder / f"{i:06d}.png"), frame)
    frames = read_video(folder)
    assert frames.shape == (12, 48, 64, 3)
    assert frame_numbers(frames).tolist() == list(range(12))
    assert VideoReader(folder, fps=25, folder_fps=50).read().shape[0] == 6


@pytest.mark.parametrize("name", ["photo.png", "photo.jpg", "photo.webp", "photo-named-like-a-video.mp4"])
def test_a_still_image_is_told_apart_from_a_video_and_refused(tmp_path, name):
    path = tmp_path / name
    cv2.imencode(".jpg" if name.endswith(".mp4") else path.suffix, numbered_frames(1)[0])[1].tofile(str(path))
    with pytest.raises(NoVideoError, match=rf"video='{path}' is a still image, not a video; .* image='{path}'"):
        refuse_still_image(probe_video(path))
    video = write_av(tmp_path / "clip.mp4", numbered_frames(3), 25)
    assert refuse_still_image(probe_video(video)).is_still_image is False


def test_max_side_downscales_on_decode(tmp_path):
    path = write_av(tmp_path / "big.mp4", numbered_frames(5, size=(240, 320)), 25)
    reader = VideoReader(path, max_side=160)
    assert reader.read().shape == (5, 120, 160, 3)
    assert reader.scale == pytest.approx(0.5)


def test_encode_decode_round_trip_keeps_frames_audio_and_timing(tmp_path):
    frames = numbered_frames(50, size=(64, 80))
    audio = np.zeros(2 * 16000, np.float32)
    click_frame = 30
    audio[click_frame * 640 : click_frame * 640 + 160] = 0.8  # a short click at the start of frame 30
    path = write_video(tmp_path / "out.mp4", frames, 25, audio)
    decoded = read_video(path)
    assert len(decoded) == 50
    assert np.array_equal(frame_numbers(decoded), np.arange(50))
    wave = audio_io.load_audio(path)
    assert abs(len(wave) - len(audio)) <= 640  # durations equal within one frame
    onset = int(np.argmax(np.abs(wave) > 0.2))
    assert abs(onset - click_frame * 640) < 640 / 2  # the click stays on its frame


def test_writer_pads_odd_sizes_and_writes_silent_video(tmp_path):
    path = write_video(tmp_path / "odd.mp4", [np.zeros((33, 47, 3), np.uint8)] * 3)
    reader = VideoReader(path)
    assert reader.read().shape == (3, 34, 48, 3)
    assert not reader.info.has_audio


def test_writer_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "never.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(target, audio=np.zeros(16000, np.float32)) as writer:
            writer.write(np.zeros((32, 32, 3), np.uint8))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(NoVideoError):
        write_video(target, [])
    assert list(tmp_path.iterdir()) == []


def test_unreadable_and_empty_video_inputs(tmp_path):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
    with pytest.raises(MediaDecodeError, match="corrupt.mp4"):
        VideoReader(corrupt)
    empty_folder = tmp_path / "empty"
    empty_folder.mkdir()
    with pytest.raises(NoVideoError, match="no image frames"):
        VideoReader(empty_folder)
    with pytest.raises(FileNotFoundError):
        VideoReader(tmp_path / "missing.mp4")


@pytest.mark.parametrize("fps", [25, 30])
def test_frame_ranges_seek_and_match_a_full_decode(tmp_path, fps):
    import av

    path = tmp_path / "gop.mp4"  # keyframes every 10 frames, so ranges start by seeking
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=fps)
    stream.width = stream.height = 64
    stream.pix_fmt = "yuv420p"
    stream.options = {"crf": "0", "g": "10"}
    for index in range(90):
        frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), index * 2, np.uint8), format="rgb24")
        frame.pts = index
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    reader = VideoReader(path)
    full = [int(frame[0, 0, 0]) for frame in reader]
    for start in (0, 7, 31, 70):
        assert [int(frame[0, 0, 0]) for frame in reader.frames(start, start + 9)] == full[start : start + 9]
    assert [int(frame[0, 0, 0]) for frame in reader.frames(len(full) - 2, len(full) + 5)] == full[-2:]


def test_rotated_phone_video_is_read_upright(tmp_path):
    import shutil
    import subprocess

    if shutil.which("ffmpeg") is None:
        pytest.skip("the ffmpeg command line tool writes the rotation tag; it is not installed")
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:8, :16] = 255  # a white block at the top left of the stored frame
    stored = write_av(tmp_path / "stored.mp4", [frame] * 3)
    rotated = tmp_path / "rotated.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(stored),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
            str(rotated),
        ],
        check=True,
    )
    reader = VideoReader(rotated)
    assert reader.info.rotation == 90 and (reader.info.width, reader.info.height) == (48, 64)
    frames = reader.read()
    assert frames.shape[1:] == (64, 48, 3)
    white = np.argwhere(frames[0, :, :, 0] > 128).mean(0)
    assert white[0] > 48 and white[1] < 8  # displayed as a player shows it: the block at the bottom left


def test_the_same_frames_encode_to_the_same_bytes_whatever_was_encoded_before(tmp_path, astronaut):
    """A pipeline reused for a second dub must write what a fresh one writes: the encoder keeps no state that leaks
    from one video into the next (x264's macroblock-tree rate control did, in one process)."""
    from ..conftest import face_frame

    clip = [face_frame(astronaut, 224, (int(6 * np.sin(i / 3)), int(4 * np.cos(i / 4)))) for i in range(40)]
    other = [cv2.resize(frame, (160, 160)) for frame in clip[::-1]]

    def encode(frames, name):
        path = tmp_path / name
        write_video(path, frames, fps=25, audio=None)
        return path.read_bytes()

    first = encode(clip, "first.mp4")
    encode(other, "other.mp4")
    assert encode(clip, "again.mp4") == first
    assert encode(clip, "third.mp4") == first
