"""talkhead.io.outputs: the output guard, atomic writes, and stopping by signal (in process, and a real `kill`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import talkhead.cli.lip_sync
from talkhead.cli import main
from talkhead.errors import TalkheadInputError
from talkhead.io.containers import ffmpeg_reason
from talkhead.io.outputs import (
    OutputGuard,
    atomic_output,
    check_output_folder,
    check_output_path,
    interrupt_on_signals,
    write_json,
)

from .conftest import speech_like, talking_video, write_wav
from .pipelines.conftest import face_generator_path  # noqa: F401  (session fixture)


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "v.mp4"
    path.write_bytes(b"the input")
    return path


def test_an_output_is_never_an_input_by_any_name(tmp_path, video):
    (tmp_path / "link.mp4").symlink_to(video)
    os.link(video, tmp_path / "hard.mp4")
    (tmp_path / "sub").mkdir()
    for name in ("v.mp4", "link.mp4", "hard.mp4", "sub/../v.mp4"):
        with pytest.raises(TalkheadInputError, match=f"the output '.*{name}' is the same file as the input '.*v.mp4'"):
            check_output_path(tmp_path / name, [None, np.zeros(3), "ms-sync-short", video])
    assert check_output_path(tmp_path / "new" / "out.MP4", [video]) == tmp_path / "new" / "out.MP4"
    assert not (tmp_path / "new").exists()  # checking creates nothing


def test_outputs_inside_an_input_folder_may_not_replace_its_files(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "000001.png").write_bytes(b"a frame")
    with pytest.raises(TalkheadInputError, match="would replace a file inside the input folder"):
        check_output_path(frames / "000001.png", [frames], ".png", "--plot")
    with pytest.raises(TalkheadInputError, match="--output '.*frames' is the input folder"):
        check_output_path(frames, [frames], ".mp4", "--output")
    assert check_output_path(frames / "new.mp4", [frames]) == frames / "new.mp4"


def test_extensions_folders_and_unwritable_places(tmp_path, video):
    with pytest.raises(
        TalkheadInputError, match=r"--landmarks must be a \.npz file, got '.*face.png' \(a \.png extension\)"
    ):
        check_output_path(tmp_path / "face.png", [video], ".npz", "--landmarks")
    with pytest.raises(TalkheadInputError, match=r"must be a \.npz or \.json file, got '.*lm' \(no extension\)"):
        check_output_path(tmp_path / "lm", [], (".npz", ".json"), "--output")
    with pytest.raises(TalkheadInputError, match="is a folder; give a file name ending in .mp4"):
        check_output_path(tmp_path, [])
    with pytest.raises(TalkheadInputError, match="cannot create the output folder .*v.mp4' is a file"):
        check_output_path(video / "out.mp4", [])
    assert check_output_path(tmp_path / "anything.bin", [], None) == tmp_path / "anything.bin"


def test_a_guard_gives_each_output_its_own_file(tmp_path, video):
    guard = OutputGuard([video])
    assert guard.claim(None, "--json", ".json") is None
    assert guard.claim(tmp_path / "r.json", "--json", ".json") == tmp_path / "r.json"
    with pytest.raises(TalkheadInputError, match="--summary '.*r.json' is the same file as --json"):
        guard.claim(tmp_path / "sub" / ".." / "r.json", "--summary", ".json")


def test_a_dataset_folder_never_holds_an_input(tmp_path):
    data = tmp_path / "data" / "clips"
    data.mkdir(parents=True)
    (data / "clip.mp4").write_bytes(b"clip")
    with pytest.raises(TalkheadInputError, match="holds the input"):
        check_output_folder(tmp_path / "data", [data], overwrite=True)
    with pytest.raises(TalkheadInputError, match="is the input folder"):
        check_output_folder(data, [data], overwrite=True)
    with pytest.raises(TalkheadInputError, match="already exists and is not empty; use overwrite=True"):
        check_output_folder(tmp_path / "data", [])
    assert check_output_folder(tmp_path / "data" / "dataset", [tmp_path / "data"]) == tmp_path / "data" / "dataset"


def test_atomic_output_publishes_whole_files_and_folders_or_nothing(tmp_path):
    target = tmp_path / "out" / "r.json"
    write_json({"a": np.float32(1.5)}, target)
    assert json.loads(target.read_text()) == {"a": 1.5}
    with pytest.raises(RuntimeError), atomic_output(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("the writer failed")
    assert json.loads(target.read_text()) == {"a": 1.5}  # the old file is untouched
    folder = tmp_path / "dataset"
    for content in ("first", "second"):
        with atomic_output(folder) as temporary:
            temporary.mkdir()
            (temporary / "data.txt").write_text(content)
    assert (folder / "data.txt").read_text() == "second"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["data.txt", "dataset", "out", "r.json"]


def test_a_stop_signal_raises_into_the_clean_up_and_later_ones_wait(tmp_path):
    before = signal.getsignal(signal.SIGHUP)
    with (
        pytest.raises(KeyboardInterrupt) as stopped,
        interrupt_on_signals(),
        atomic_output(tmp_path / "a.mp4") as temporary,
    ):
        temporary.write_bytes(b"half")
        os.kill(os.getpid(), signal.SIGHUP)
        time.sleep(5)  # the handler raises first
    assert stopped.value.signum == signal.SIGHUP and list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGHUP) == before


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_cli_stopped_by_any_signal_removes_its_files_and_says_so(signum, tmp_path, monkeypatch, capsys):
    def command(args):
        write_json({"done": True}, tmp_path / "first.json") if args.json else None
        with atomic_output(tmp_path / "clip.mp4") as temporary:
            temporary.write_bytes(b"half a video")
            if signum == signal.SIGINT:
                raise KeyboardInterrupt  # what Ctrl-C does
            os.kill(os.getpid(), signum)
            time.sleep(5)
        return 0

    monkeypatch.setattr(talkhead.cli.lip_sync, "run_lip_sync", command)
    assert main(["lip-sync", "--video", "v.mp4", "--audio", "a.wav", "-o", "x.mp4"]) == 128 + signum
    assert capsys.readouterr().err == "interrupted; nothing was written\n"
    assert list(tmp_path.iterdir()) == []
    assert main(["lip-sync", "--video", "v.mp4", "--audio", "a.wav", "-o", "x.mp4", "--json", "r.json"]) == 128 + signum
    assert capsys.readouterr().err == f"interrupted; only '{tmp_path / 'first.json'}' had been written\n"
    assert [p.name for p in tmp_path.iterdir()] == ["first.json"]


def test_kill_during_lip_sync_leaves_nothing_and_says_so(tmp_path, astronaut, face_generator_path):  # noqa: F811
    video = talking_video(tmp_path / "v.mp4", astronaut, num_frames=30)
    speech = write_wav(tmp_path / "long speech.wav", speech_like(120.0))  # looped over the video: minutes of work
    folder = tmp_path / "out"
    folder.mkdir()
    command = [
        sys.executable,
        "-m",
        "talkhead.cli",
        "lip-sync",
        "--video",
        str(video),
        "--audio",
        str(speech),
        "-o",
        str(folder / "dubbed.mp4"),
        "--json",
        str(folder / "report.json"),
        "--renderer",
        "generator",
        "--face-generator-model",
        str(face_generator_path),
        "--silent-lip-model",
        "none",
        "--audio-longer",
        "loop",
        "--quiet",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not any(folder.iterdir()):  # the encoder's hidden temporary file: rendering has begun
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "lip-sync never started writing"
            time.sleep(0.05)
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.splitlines()[-1] == "interrupted; nothing was written" and "Traceback" not in stderr
    assert list(folder.iterdir()) == []


def test_kill_9_strands_a_partial_that_the_next_run_to_that_output_removes(tmp_path, astronaut, face_generator_path):  # noqa: F811
    video = talking_video(tmp_path / "v.mp4", astronaut, num_frames=30)
    long_speech = write_wav(tmp_path / "long.wav", speech_like(120.0))
    folder = tmp_path / "out"
    folder.mkdir()

    def lipsync(speech):
        return [
            sys.executable,
            "-m",
            "talkhead.cli",
            "lip-sync",
            "--video",
            str(video),
            "--audio",
            str(speech),
            "-o",
            str(folder / "dubbed.mp4"),
            "--renderer",
            "generator",
            "--face-generator-model",
            str(face_generator_path),
            "--silent-lip-model",
            "none",
            "--audio-longer",
            "loop",
            "--quiet",
        ]

    process = subprocess.Popen(lipsync(long_speech), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not any(folder.iterdir()):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "lip-sync never started writing"
            time.sleep(0.05)
        time.sleep(0.5)
        process.kill()  # SIGKILL: no handler runs
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    orphans = [p.name for p in folder.iterdir()]
    assert len(orphans) == 1 and orphans[0].startswith(".dubbed.partial-")  # what kill -9 leaves
    done = subprocess.run(lipsync(write_wav(tmp_path / "short.wav", speech_like(1.0))), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["dubbed.mp4"]


def test_only_the_partials_of_dead_processes_are_swept(tmp_path):
    from talkhead.io.outputs import sweep_orphans, temporary_path

    target = tmp_path / "out.mp4"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stranded = tmp_path / temporary_path(target).name.replace(f"-{os.getpid()}-", f"-{int(dead.stdout)}-")
    live = temporary_path(target)  # this process: a run still writing
    other = tmp_path / temporary_path(tmp_path / "other.mp4").name.replace(f"-{os.getpid()}-", f"-{int(dead.stdout)}-")
    for path in (stranded, live, other, tmp_path / ".out.partial-notes.txt"):
        path.write_bytes(b"x")
    (tmp_path / "folder").mkdir()
    assert sweep_orphans(target) == [stranded]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [live.name, other.name, ".out.partial-notes.txt", "folder"]
    )


def test_too_little_free_space_is_one_error_line_before_any_work(tmp_path, astronaut, monkeypatch, capsys):
    import shutil
    from collections import namedtuple

    from skimage import io

    io.imsave(tmp_path / "face.png", astronaut, check_contrast=False)
    speech = write_wav(tmp_path / "speech.wav", speech_like(3.0))
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 200_000, 200_000))
    folder = tmp_path / "out"
    assert (
        main(
            [
                "talking-head",
                "--image",
                str(tmp_path / "face.png"),
                "--audio",
                str(speech),
                "-o",
                str(folder / "a.mp4"),
                "--quiet",
            ]
        )
        == 2
    )
    message = capsys.readouterr().err.strip()
    assert message.startswith("error: not enough space on the device for") and "MB needed, 0.2 MB free" in message
    assert "\n" not in message and not (folder.exists() and any(folder.iterdir()))


def test_a_disk_that_fills_while_encoding_is_one_error_and_no_file(tmp_path):
    import errno

    from talkhead.io.video_writer import VideoWriter

    class FillsUp:  # a container on a device that is full after the first packets
        def __init__(self, container):
            self.container, self.packets = container, 0

        def mux(self, packet):
            self.packets += 1
            if self.packets > 3:
                raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / ".x.partial"))
            self.container.mux(packet)

        def __getattr__(self, name):
            return getattr(self.container, name)

    frames = np.random.default_rng(0).integers(0, 255, (40, 64, 64, 3), np.uint8)
    with pytest.raises(TalkheadInputError, match="no space left on the device writing '.*out.mp4'") as full:
        with VideoWriter(tmp_path / "out.mp4", audio=speech_like(1.6)) as writer:
            writer._container = FillsUp(writer._container)
            for frame in frames:
                writer.write(frame)
    assert full.value.__cause__ is None and full.value.__suppress_context__
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_ffmpeg_errors_lose_their_number_and_file_name():
    import av

    error = av.error.InvalidDataError(1094995529, "Invalid data found when processing input", "x.mp4")
    assert "[Errno 1094995529]" in str(error)
    assert ffmpeg_reason(error) == "invalid data found when processing input"
    assert ffmpeg_reason(av.error.EOFError(-541478725, "End of file")) == "end of file"
