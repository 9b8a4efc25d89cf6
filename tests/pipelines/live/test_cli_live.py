"""``talkhead avatar`` and ``talkhead live``: a folder, an mp4 as it goes, raw frames from raw PCM, and bad input."""

import io
import json
import sys

import numpy as np
import pytest

from talkhead.cli import main
from talkhead.io.video import VideoReader
from talkhead.processing.phones import phones_available
from tests.conftest import speech_like, talking_video, write_wav

pytestmark = pytest.mark.skipif(not phones_available(), reason="pocketsphinx is not installed")


@pytest.fixture(scope="module")
def avatar(tmp_path_factory, astronaut):
    root = tmp_path_factory.mktemp("cli-avatar")
    video = talking_video(root / "talk.mp4", astronaut, num_frames=60)
    assert main(["avatar", str(video), "-o", str(root / "avatar"), "--quiet", "--json", str(root / "a.json")]) == 0
    assert json.loads((root / "a.json").read_text())["format"] == "talkhead-avatar"
    return root / "avatar"


def test_live_writes_an_mp4_with_a_frame_per_40_ms_of_speech(avatar, tmp_path, capsys):
    speech = write_wav(tmp_path / "speech.wav", speech_like(1.2))
    output = tmp_path / "live.mp4"
    argv = ["live", "--avatar", str(avatar), "--audio", str(speech), "-o", str(output), "--pace", "fast"]
    assert main([*argv, "--idle-seconds", "0.4", "--json", str(tmp_path / "r.json")]) == 0
    frames = list(VideoReader(output, fps=25))
    assert len(frames) == json.loads((tmp_path / "r.json").read_text())["frames"] == 30 + 1 + 10
    assert "frames behind the speech" in capsys.readouterr().out


class _Stdin:
    def __init__(self, data: bytes):
        self.buffer = io.BufferedReader(io.BytesIO(data))


def test_live_turns_raw_pcm_on_stdin_into_raw_frames_on_stdout(avatar, tmp_path, monkeypatch, capfdbinary):
    pcm = (speech_like(0.8) * 32767).astype("<i2").tobytes() + b"\x01"  # a stray odd byte is held, not refused
    monkeypatch.setattr(sys, "stdin", _Stdin(pcm))
    audio = tmp_path / "delayed.pcm"
    assert main(["live", "--avatar", str(avatar), "--audio", "-", "--raw-video", "-", "--raw-audio", str(audio)]) == 0
    out = capfdbinary.readouterr()
    width, height = json.loads((avatar / "avatar_config.json").read_text())["size"]
    assert len(out.out) % (width * height * 3) == 0 and len(out.out) // (width * height * 3) == 20 + 1
    assert b"frames behind the speech" in out.err  # the summary stays off the frames' channel
    delayed = np.frombuffer(audio.read_bytes(), "<i2")
    assert len(delayed) == 21 * 640


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--audio", "{speech}"], "needs --output FILE.mp4 or --raw-video"),
        (["--audio", "{speech}", "-o", "{tmp}/x.mp4", "--raw-audio", "{tmp}/a.pcm"], "--raw-audio goes with"),
        (["--audio", "{tmp}/missing.wav", "-o", "{tmp}/x.mp4"], "missing.wav"),
    ],
)
def test_bad_live_arguments_are_one_error_line(avatar, tmp_path, capsys, argv, words):
    speech = write_wav(tmp_path / "speech.wav", speech_like(0.4))
    argv = [a.format(speech=speech, tmp=tmp_path) for a in argv]
    assert main(["live", "--avatar", str(avatar), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
    assert not (tmp_path / "x.mp4").exists()


def test_a_folder_that_is_no_avatar_is_one_error_line(tmp_path, capsys):
    speech = write_wav(tmp_path / "speech.wav", speech_like(0.4))
    assert main(["live", "--avatar", str(tmp_path), "--audio", str(speech), "-o", str(tmp_path / "x.mp4")]) == 2
    assert "not an avatar folder" in capsys.readouterr().err


def test_an_existing_avatar_is_replaced_only_when_asked(avatar, tmp_path, astronaut, capsys):
    video = talking_video(tmp_path / "talk.mp4", astronaut, num_frames=30)
    target = tmp_path / "avatar"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    assert main(["avatar", str(video), "-o", str(target), "--quiet"]) == 2
    assert (target / "keep.txt").exists() and "--overwrite" in capsys.readouterr().err
