import json

import cv2
import numpy as np
import torch

from talkhead.cli import main
from talkhead.io.audio import load_audio
from talkhead.io.video import VideoReader
from talkhead.pipelines.talking_head.speech_to_landmarks import SpeechToLandmarks
from talkhead.processing.landmarks import mouth_opening

from ...conftest import speech_like, write_wav


def test_cli_writes_landmarks_and_a_preview(photo, speech, generator_path, tmp_path, capsys):
    out, preview = tmp_path / "lm.npz", tmp_path / "preview with space.mp4"
    assert (
        main(
            [
                "landmarks",
                "--image",
                str(photo),
                "--audio",
                str(speech),
                "--output",
                str(out),
                "--preview",
                str(preview),
                "--head-model",
                str(generator_path),
            ]
        )
        == 0
    )
    with np.load(out) as data:
        assert data["landmarks"].shape == (50, 68, 2) and data["pixels"].shape == (50, 68, 2) and int(data["fps"]) == 25
        assert np.isfinite(data["landmarks"]).all()
        # the pixels lie on the astronaut's face (x 175-270 in the 512 px photo)
        assert 150 < data["pixels"][0, :, 0].mean() < 300
    reader = VideoReader(preview)
    assert reader.read().shape[0] == 50 and reader.info.has_audio
    assert abs(len(load_audio(preview)) - 32000) <= 640
    assert "50 frames (2.00 s)" in capsys.readouterr().out
    as_json = tmp_path / "lm.json"
    assert (
        main(
            [
                "landmarks",
                "--image",
                str(photo),
                "--audio",
                str(speech),
                "-o",
                str(as_json),
                "--head-model",
                str(generator_path),
            ]
        )
        == 0
    )
    assert np.array(json.loads(as_json.read_text())["landmarks"]).shape == (50, 68, 2)


def test_silent_audio_gives_a_still_closed_mouth(photo, generator_path, tmp_path):
    silent = write_wav(tmp_path / "silence.wav", np.zeros(32000, np.float32))
    motion = SpeechToLandmarks(str(generator_path))(photo, silent)
    assert motion.silent and np.isfinite(motion.landmarks).all()
    assert np.ptp(motion.landmarks, axis=0).max() == 0  # still
    assert mouth_opening(motion.landmarks[0]) < 0.01  # closed


def test_bad_inputs(photo, speech, generator_path, tmp_path, astronaut, capsys, caplog):
    model = ["--head-model", str(generator_path)]
    short = write_wav(tmp_path / "short.wav", speech_like(0.1))
    assert main(["landmarks", "--image", str(photo), "--audio", str(short), "-o", str(tmp_path / "a.npz"), *model]) == 2
    assert "0.10 s long; at least 0.2 s" in capsys.readouterr().err
    wall = tmp_path / "wall.png"
    cv2.imwrite(str(wall), np.full((200, 200, 3), 128, np.uint8))
    assert main(["landmarks", "--image", str(wall), "--audio", str(speech), "-o", str(tmp_path / "b.npz"), *model]) == 2
    assert "no face found in" in capsys.readouterr().err
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    assert (
        main(["landmarks", "--image", str(broken), "--audio", str(speech), "-o", str(tmp_path / "c.npz"), *model]) == 2
    )
    assert "cannot read" in capsys.readouterr().err
    assert not any((tmp_path / n).exists() for n in ("a.npz", "b.npz", "c.npz"))
    # two faces: the larger is used, with a warning
    small = cv2.resize(astronaut, (256, 256))
    pair = np.full((512, 1024, 3), 255, np.uint8)
    pair[:, :512], pair[128:384, 640:896] = astronaut, small
    with caplog.at_level("WARNING"):
        motion = SpeechToLandmarks(str(generator_path))(pair, load_audio(speech))
    assert motion.faces_found == 2 and "using the largest" in caplog.text
    assert motion.pixels[0, :, 0].mean() < 512


def test_grayscale_and_large_photos(generator_path, astronaut, speech, tmp_path):
    gray = tmp_path / "gray.png"
    cv2.imwrite(str(gray), cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY))
    big = tmp_path / "big.jpg"
    cv2.imwrite(str(big), cv2.resize(cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR), (3840, 3840)))
    pipeline = SpeechToLandmarks(str(generator_path))
    assert pipeline(gray, speech).landmarks.shape == (50, 68, 2)
    huge = pipeline(big, speech)
    assert 1300 < huge.pixels[0, :, 0].mean() < 2300  # pixels of the 4K photo


def test_long_audio_is_generated_in_cross_faded_pieces():
    class DriftingGenerator(torch.nn.Module):
        """Moves every point by 0.01 a frame from the still face: a rollout that drifts."""

        device = torch.device("cpu")

        def generate(self, initial, audio, frames, noise_generator=None):
            assert audio.shape[1] == 4 * frames  # each piece gets its own 4 feature rows per frame
            return initial[:, None] + 0.01 * torch.arange(frames, dtype=torch.float32)[None, :, None, None]

    model = SpeechToLandmarks(DriftingGenerator(), chunk_frames=20, overlap_frames=5)
    start = np.zeros((68, 2), np.float32)
    motion = model._generate(start, np.zeros((400, 26), np.float32), 100, None)
    assert motion.shape == (100, 68, 2) and motion.max() <= 0.19 + 1e-6  # never more than one piece of drift
    assert np.abs(np.diff(motion[:, 0, 0])).max() <= 0.2  # cross-fades, no jumps back to the still face
    whole = SpeechToLandmarks(DriftingGenerator(), chunk_frames=0)._generate(
        start, np.zeros((400, 26), np.float32), 100, None
    )
    assert np.isclose(whole.max(), 0.99)
