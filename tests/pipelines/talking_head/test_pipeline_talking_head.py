"""Talking-head pipeline: the spline warp, motion rescaling, photos of any kind, bad inputs, CLI and pipeline()."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from talkhead.cli import main
from talkhead.errors import EmptyAudioError, MediaDecodeError, NoFaceError, TalkheadInputError
from talkhead.io.audio import load_audio
from talkhead.io.video import read_video
from talkhead.io.video_probe import probe_video
from talkhead.options import TalkingHeadOptions
from talkhead.pipelines.loading import TalkingHeadModels
from talkhead.pipelines.talking_head import talking_head
from talkhead.pipelines.talking_head.photo_motion import HEAD_POINTS, LOWER_FACE, resample_motion, rescale_motion
from talkhead.pipelines.talking_head.speech_to_landmarks import SpeechToLandmarks
from talkhead.pipelines.warp import border_anchors, thin_plate_map

from ...conftest import speech_like, write_wav


@pytest.fixture(scope="module")
def motion_model(generator_path):
    return SpeechToLandmarks(str(generator_path))


def quiet(**kwargs) -> TalkingHeadOptions:
    return TalkingHeadOptions(progress=False, **kwargs)


def test_spline_map_is_the_identity_without_motion_and_moves_points():
    points = np.concatenate([np.random.default_rng(0).uniform(40, 200, (20, 2)), border_anchors(240, 200)])
    mapping = thin_plate_map(points, points, 240, 200)
    grid = np.stack(np.meshgrid(np.arange(240), np.arange(200)), -1)
    assert mapping.shape == (200, 240, 2) and np.abs(mapping - grid).max() < 1e-3
    moved = points.copy()
    moved[:20] += 5.0  # features move 5 px right and down: output pixels there sample 5 px back
    mapping = thin_plate_map(moved, points, 240, 200)
    x, y = np.round(moved[0]).astype(int)
    assert np.allclose(mapping[y, x], points[0] + (np.round(moved[0]) - moved[0]), atol=0.6)
    assert np.abs(mapping[0, 0] - [0, 0]).max() < 0.5  # the border stays
    lip = points.copy()
    lip[3] += [0, 8]  # one point moves alone, as a lower lip does: the detail grid keeps it in place
    mapping = thin_plate_map(lip, points, 240, 200, detail=np.array([30, 30, 210, 190]))
    x, y = np.round(lip[3]).astype(int)
    assert np.allclose(mapping[y, x], points[3] + (np.round(lip[3]) - lip[3]), atol=0.6)


def test_rescale_motion_separates_head_and_lips():
    rng = np.random.default_rng(0)
    start = rng.uniform(100, 200, (68, 2))
    motion = np.repeat(start[None], 3, 0)
    motion[1] += [10, 0]  # the whole head moves right
    motion[2, 57] += [0, 8]  # the lower lip drops
    assert np.allclose(rescale_motion(motion, 1, 1), motion, atol=1e-6)
    still = rescale_motion(motion, 0, 1)
    assert np.allclose(still[1], start, atol=1e-6)
    assert np.allclose(still[2, 57], start[57] + [0, 8], atol=1e-6)
    no_lips = rescale_motion(motion, 1, 0)
    assert np.allclose(no_lips[2, 57], start[57], atol=1e-6) and np.allclose(no_lips[1], motion[1], atol=1e-6)
    assert set(HEAD_POINTS).isdisjoint(LOWER_FACE)


def test_detrending_removes_the_mouth_drift_and_keeps_articulation():
    start = np.random.default_rng(1).uniform(100, 200, (68, 2))
    frames = np.arange(200)
    motion = np.repeat(start[None], 200, 0)
    drift, syllables = 0.05 * frames, 3 * np.sin(2 * np.pi * 4 * frames / 25)
    motion[:, 57, 1] += drift + syllables
    lip = rescale_motion(motion, 1, 1, detrend_frames=50)[:, 57, 1] - start[57, 1]
    assert np.abs(lip[25:-25] - syllables[25:-25]).max() < 0.5  # the 4 Hz movement stays, the ramp is gone
    assert np.allclose(rescale_motion(motion, 1, 1, detrend_frames=50)[:, HEAD_POINTS], motion[:, HEAD_POINTS])


def test_resample_motion_keeps_the_duration():
    motion = np.arange(10, dtype=float)[:, None, None] * np.ones((1, 68, 2))
    doubled = resample_motion(motion, 50)
    assert len(doubled) == 20 and np.isclose(doubled[1, 0, 0], 0.5) and np.isclose(doubled[2, 0, 0], 1.0)


def test_photo_and_speech_to_video(photo, speech, motion_model, face_generator_path, tmp_path):
    from talkhead.models.stable_sync import StableSyncFaceGenerator

    generator = StableSyncFaceGenerator.from_pretrained(face_generator_path).eval()
    result = talking_head(
        photo,
        speech,
        tmp_path / "talking head.mp4",
        TalkingHeadModels(motion_model, face_generator=generator),
        quiet(fps=30, repaint=True, head_motion_scale=0.5),
    )
    assert result.frames == 60 and result.seconds == pytest.approx(2.0) and result.landmarks.shape == (60, 68, 2)
    info = probe_video(result.video)
    assert info.source_fps == pytest.approx(30) and (info.width, info.height) == (512, 512) and info.has_audio
    assert abs(len(load_audio(result.video)) - 32000) <= 16000 / 30
    frames = read_video(result.video, fps=30)
    assert len(frames) == 60 and frames[:, :40].std() > 5  # a picture, not a blank


def write_mp3(path, wave: np.ndarray, sample_rate: int = 48000):
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libmp3lame", rate=sample_rate)
        stream.layout = "stereo"
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(np.tile(wave[None], (2, 1))), format="fltp", layout="stereo"
        )
        frame.sample_rate, frame.pts = sample_rate, 0
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    return path


def test_mp3_48k_stereo_speech(photo, motion_model, tmp_path):
    result = talking_head(
        photo,
        write_mp3(tmp_path / "speech 48k.mp3", speech_like(1.0, 48000)),
        tmp_path / "mp3.mp4",
        TalkingHeadModels(motion_model),
        quiet(),
    )
    assert abs(result.frames - 25) <= 1


def test_grayscale_and_4k_photos(astronaut, speech, motion_model, tmp_path):
    gray = tmp_path / "gray.png"
    cv2.imwrite(str(gray), cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY))
    result = talking_head(gray, speech, tmp_path / "gray.mp4", TalkingHeadModels(motion_model), quiet())
    assert result.frames == 50
    big = tmp_path / "big photo.jpg"
    cv2.imwrite(str(big), cv2.resize(cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR), (3840, 3840)))
    result = talking_head(big, speech, tmp_path / "big.mp4", TalkingHeadModels(motion_model), quiet(output_size=480))
    info = probe_video(result.video)
    assert (info.width, info.height) == (480, 480)
    assert 100 < result.landmarks[0, :, 0].mean() < 300  # on the face, in output pixels


def test_bad_inputs_leave_no_output(photo, speech, motion_model, tmp_path):
    models = TalkingHeadModels(motion_model)
    wall = tmp_path / "wall.png"
    cv2.imwrite(str(wall), np.full((300, 300, 3), 90, np.uint8))
    with pytest.raises(NoFaceError):
        talking_head(wall, speech, tmp_path / "a.mp4", models, quiet())
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image at all")
    with pytest.raises(MediaDecodeError):
        talking_head(broken, speech, tmp_path / "b.mp4", models, quiet())
    with pytest.raises(EmptyAudioError):
        talking_head(
            photo,
            write_wav(tmp_path / "empty.wav", np.zeros(0, np.float32)),
            tmp_path / "c.mp4",
            models,
            quiet(),
        )
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(b"ID3" + bytes(range(256)) * 4)
    with pytest.raises(MediaDecodeError):
        talking_head(photo, corrupt, tmp_path / "e.mp4", models, quiet())
    with pytest.raises(TalkheadInputError, match="needs models.head_model"):
        talking_head(photo, speech, tmp_path / "f.mp4", TalkingHeadModels(None), quiet())
    assert not any((tmp_path / n).exists() for n in ("a.mp4", "b.mp4", "c.mp4", "e.mp4", "f.mp4"))
    silent = talking_head(
        photo,
        write_wav(tmp_path / "silence.wav", np.zeros(16000, np.float32)),
        tmp_path / "d.mp4",
        models,
        quiet(),
    )
    assert silent.silent and any("silent" in w for w in silent.warnings)
    assert np.allclose(silent.landmarks[0], silent.landmarks[-1])
    from talkhead.processing.landmarks import mouth_opening

    # the astronaut smiles with her lips apart; silence closes them in the video, not only in the landmarks
    photo_lips = motion_model(photo, np.zeros(16000, np.float32)).photo_landmarks
    assert mouth_opening(silent.landmarks[0]) < 0.5 * mouth_opening(photo_lips)
    x0, y0 = photo_lips[48:68].min(0).astype(int)
    x1, y1 = photo_lips[48:68].max(0).astype(int)
    frame, image = read_video(silent.video)[0].astype(float), cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
    assert np.abs(frame[y0:y1, x0:x1] - image[y0:y1, x0:x1]).mean() > 5  # the warp moved the lips


def test_cli_and_transformers_pipeline(photo, generator_path, face_generator_path, tmp_path, capsys):
    from transformers import pipeline

    import talkhead.pipelines  # noqa: F401  (registers the tasks)

    speech = write_wav(tmp_path / "speech clip.mp3".replace(".mp3", ".wav"), speech_like(1.0))
    out = tmp_path / "out dir" / "head.mp4"
    assert (
        main(
            [
                "talking-head",
                "--image",
                str(photo),
                "--audio",
                str(speech),
                "-o",
                str(out),
                "--head-model",
                str(generator_path),
                "--quiet",
                "--output-landmarks",
                str(tmp_path / "lm.npz"),
            ]
        )
        == 0
    )
    assert "25 frames (1.00 s at 25 fps)" in capsys.readouterr().out
    assert np.load(tmp_path / "lm.npz")["landmarks"].shape == (25, 68, 2)
    assert (
        main(
            [
                "talking-head",
                "--image",
                str(photo),
                "--audio",
                str(speech),
                "-o",
                str(tmp_path / "x.mp4"),
                "--head-model",
                str(generator_path),
                "--lip-scale",
                "9",
            ]
        )
        == 2
    )
    assert "lip_scale" in capsys.readouterr().err
    head = pipeline("talking-head", model=str(generator_path), face_generator=str(face_generator_path), silent_lip=None)
    report = head({"image": str(photo), "audio": load_audio(speech)}, progress=False, repaint=True)
    assert report["frames"] == 25 and report["landmarks"].shape == (25, 68, 2)
    assert report["video"] is None and len(report["video_frames"]) == 25  # no output=: the frames, no file


def test_mouth_model_moves_the_mouth_and_lip_follow_reads_it(photo, speech, motion_model, tmp_path):
    import torch

    from talkhead.evaluation.evaluate import lip_follow_videos
    from talkhead.models.mouth_motion import MouthMotionConfig, MouthMotionModel
    from talkhead.processing.tracked_clip import track_clip

    torch.manual_seed(0)
    mouth = MouthMotionModel(MouthMotionConfig.from_preset("tiny", use_phones=False, output_gain=8.0)).eval()
    models = TalkingHeadModels(motion_model, mouth)
    still = talking_head(photo, speech, tmp_path / "still.mp4", models, quiet(lip_scale=0.0))
    moving = talking_head(photo, speech, tmp_path / "moving.mp4", models, quiet())
    opening = track_clip(moving.video).mouth_opening()
    assert np.nanstd(opening) > 3 * np.nanstd(track_clip(still.video).mouth_opening())
    assert lip_follow_videos(moving.video, moving.video)["lip_follow"] == pytest.approx(1)
    assert lip_follow_videos(moving.video, still.video)["frames"] == len(opening)
