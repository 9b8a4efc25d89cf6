"""Bad and dangerous inputs to every command, as one table: each row runs ``talkhead ...`` in a fresh folder.

A row is ``(command line, exit status, message fragments, files that must come through unchanged,
files that must not exist afterwards)``. A new command joins by adding rows. Every row also checks
that no traceback, no raw FFmpeg error number and no hidden temporary file is left behind.

Names refer to files :func:`workspace` makes in the folder the command runs in; ``{gen}`` and
``{face_gen}`` are tiny random MS-Sync and face generators.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from talkhead.cli import main

from .conftest import speech_like, talking_video, write_av, write_wav
from .pipelines.conftest import face_generator_path, generator_path  # noqa: F401  (session fixtures)

CORRUPT = b"\x00\x00\x00 ftypisom" + bytes(range(256)) * 8
NOT_READABLE = "is not a readable video (FFmpeg: invalid data found when processing input)"
TOO_SHORT = "0.10 s long; at least 0.2 s of speech is needed"


@dataclass(frozen=True)
class Row:
    args: tuple[str, ...]
    status: int
    messages: tuple[str, ...]
    untouched: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


TALKING_HEAD = ("talking-head", "--image", "face.png", "--head-model", "{gen}", "--quiet")
LIP_SYNC = (
    "lip-sync",
    "--renderer",
    "generator",
    "--face-generator-model",
    "{face_gen}",
    "--silent-lip-model",
    "none",
    "--quiet",
)
LANDMARKS = ("landmarks", "--image", "face.png", "--head-model", "{gen}")
PREPROCESS = ("preprocess", "--quiet", "--num-proc", "1")

ROWS = {
    # an output that names an input, directly or through a link or '..': refused before any work
    "evaluate --json is the video": Row(
        ("evaluate", "video", "v.mp4", "--json", "v.mp4"),
        2,
        ("--json 'v.mp4' is the same file as the input 'v.mp4'",),
        ("v.mp4",),
    ),
    "evaluate --plot is the video": Row(
        ("evaluate", "video", "v.mp4", "--json", "r.json", "--plot", "v.mp4"),
        2,
        ("--plot 'v.mp4' is the same file as the input",),
        ("v.mp4",),
        ("r.json",),
    ),
    "evaluate --json is --audio": Row(
        ("evaluate", "video", "v.mp4", "--audio", "a.wav", "--json", "a.wav"),
        2,
        ("--json 'a.wav' is the same file as the input",),
        ("a.wav", "v.mp4"),
    ),
    "evaluate landmarks --plot is the video": Row(
        ("evaluate", "landmarks", "--video", "v.mp4", "--json", "r.json", "--plot", "v.mp4"),
        2,
        ("--plot 'v.mp4' is the same file as the input",),
        ("v.mp4",),
        ("r.json",),
    ),
    "talking-head --json is --audio": Row(
        (*TALKING_HEAD, "--audio", "a.wav", "-o", "out.mp4", "--json", "a.wav"),
        2,
        ("--json 'a.wav' is the same file as the input 'a.wav'",),
        ("a.wav", "face.png"),
        ("out.mp4",),
    ),
    "talking-head --output-landmarks is the photo": Row(
        (*TALKING_HEAD, "--audio", "a.wav", "-o", "out.mp4", "--output-landmarks", "face.png"),
        2,
        ("--output-landmarks 'face.png' is the same file as the input",),
        ("face.png",),
        ("out.mp4", "face.png.npz"),
    ),
    "lip-sync --json is the video": Row(
        (*LIP_SYNC, "--video", "v.mp4", "--audio", "a.wav", "-o", "out.mp4", "--json", "v.mp4"),
        2,
        ("--json 'v.mp4' is the same file as the input 'v.mp4'",),
        ("v.mp4", "a.wav"),
        ("out.mp4",),
    ),
    "landmarks --preview is the audio's video": Row(
        (*LANDMARKS, "--audio", "v.mp4", "-o", "lm.npz", "--preview", "v.mp4"),
        2,
        ("--preview 'v.mp4' is the same file as the input 'v.mp4'",),
        ("v.mp4",),
        ("lm.npz",),
    ),
    "benchmark speed --json is the video": Row(
        ("benchmark", "speed", "--video", "v.mp4", "--seconds", "0.2", "--json", "v.mp4"),
        2,
        ("is the same file as the input",),
        ("v.mp4",),
    ),
    "a symbolic link to the video": Row(
        ("evaluate", "video", "v.mp4", "--json", "link.json"),
        2,
        ("--json 'link.json' is the same file as the input 'v.mp4'",),
        ("v.mp4",),
    ),
    "a hard link to the video": Row(
        (*LIP_SYNC, "--video", "v.mp4", "--audio", "a.wav", "-o", "hard.mp4"),
        2,
        ("--output 'hard.mp4' is the same file as the input 'v.mp4'",),
        ("v.mp4", "hard.mp4"),
    ),
    "a path through '..'": Row(
        ("evaluate", "video", "v.mp4", "--json", "r.json", "--plot", "sub/../v.mp4"),
        2,
        ("--plot 'sub/../v.mp4' is the same file as the input 'v.mp4'",),
        ("v.mp4",),
        ("r.json",),
    ),
    # an output of the wrong kind: an error that names the extension, never a renamed file
    "--output-landmarks with another extension": Row(
        (*TALKING_HEAD, "--audio", "a.wav", "-o", "out.mp4", "--output-landmarks", "marks.png"),
        2,
        ("--output-landmarks must be a .npz file, got 'marks.png'",),
        (),
        ("marks.png", "marks.png.npz", "out.mp4"),
    ),
    "--json with another extension": Row(
        (*TALKING_HEAD, "--audio", "a.wav", "-o", "out.mp4", "--json", "out.mp4"),
        2,
        ("--json must be a .json file, got 'out.mp4'",),
        (),
        ("out.mp4",),
    ),
    "landmarks -o with another extension": Row(
        (*LANDMARKS, "--audio", "a.wav", "-o", "lm.txt"),
        2,
        ("--output must be a .npz or .json file, got 'lm.txt'",),
        (),
        ("lm.txt", "lm.txt.npz"),
    ),
    "-o is a folder": Row(
        (*LIP_SYNC, "--video", "v.mp4", "--audio", "a.wav", "-o", "sub"), 2, ("--output 'sub' is a folder",)
    ),
    # datasets: never an input, never holding one, never the same path as the summary
    "preprocess into its input folder": Row(
        (*PREPROCESS, "data", "-o", "data", "--overwrite"),
        2,
        ("--output 'data' is the input folder 'data'",),
        ("data/clips/clip.mp4",),
    ),
    "preprocess into a folder holding its input": Row(
        (*PREPROCESS, "data/clips", "-o", "data", "--overwrite"),
        2,
        ("--output 'data' holds the input 'data/clips'",),
        ("data/clips/clip.mp4",),
    ),
    "preprocess --json on the dataset": Row(
        (*PREPROCESS, "data", "-o", "ds.json", "--json", "ds.json"),
        2,
        ("--json 'ds.json' is the same file as --output",),
        ("data/clips/clip.mp4",),
        ("ds.json",),
    ),
    # every skipped file is listed with its reason, whether discovery or processing rejected it
    "preprocess a folder whose only video is corrupt": Row(
        (*PREPROCESS, "only_corrupt", "-o", "ds"),
        2,
        (
            "no clip could be used; every input was skipped:\n  only_corrupt/bad.mp4: 'only_corrupt/bad.mp4' "
            + NOT_READABLE,
        ),
        ("only_corrupt/bad.mp4",),
        ("ds",),
    ),
    "preprocess a corrupt and a faceless video": Row(
        (*PREPROCESS, "mixed", "-o", "ds"),
        2,
        ("  mixed/bad.mp4: 'mixed/bad.mp4' " + NOT_READABLE, "  mixed/wall.mp4: no face found in any frame"),
        ("mixed/bad.mp4", "mixed/wall.mp4"),
        ("ds",),
    ),
    # one minimum-audio rule for every command
    "talking-head 0.1 s of audio": Row(
        (*TALKING_HEAD, "--audio", "short.wav", "-o", "out.mp4"),
        2,
        ("short.wav is " + TOO_SHORT,),
        ("short.wav",),
        ("out.mp4",),
    ),
    "lip-sync 0.1 s of audio": Row(
        (*LIP_SYNC, "--video", "v.mp4", "--audio", "short.wav", "-o", "out.mp4"),
        2,
        ("short.wav is " + TOO_SHORT,),
        ("short.wav",),
        ("out.mp4",),
    ),
    "landmarks 0.1 s of audio": Row(
        (*LANDMARKS, "--audio", "short.wav", "-o", "lm.npz"), 2, ("short.wav is " + TOO_SHORT,), (), ("lm.npz",)
    ),
    "evaluate 0.1 s of audio": Row(
        ("evaluate", "video", "v.mp4", "--audio", "short.wav", "--metrics", "ssim", "--json", "r.json", "--quiet"),
        2,
        ("the audio 'short.wav' is " + TOO_SHORT,),
        (),
        ("r.json",),
    ),
    "evaluate landmarks 0.1 s of audio": Row(
        ("evaluate", "landmarks", "--video", "v.mp4", "--audio", "short.wav", "--json", "r.json"),
        2,
        ("the audio of 'short.wav' is " + TOO_SHORT,),
        (),
        ("r.json",),
    ),
    # what is wrong with a file, in words
    "lip-sync a corrupt video": Row(
        (*LIP_SYNC, "--video", "corrupt.mp4", "--audio", "a.wav", "-o", "out.mp4"),
        2,
        ("'corrupt.mp4' " + NOT_READABLE,),
        ("corrupt.mp4",),
        ("out.mp4",),
    ),
    "lip-sync --video is a photo": Row(
        (*LIP_SYNC, "--video", "face.png", "--audio", "a.wav", "-o", "out.mp4"),
        2,
        ("--video 'face.png' is a still image, not a video", "`talkhead talking-head`", "with --image 'face.png'"),
        ("face.png",),
        ("out.mp4",),
    ),
    "evaluate a corrupt video": Row(
        ("evaluate", "video", "corrupt.mp4", "--json", "r.json", "--quiet"),
        2,
        ("'corrupt.mp4' " + NOT_READABLE,),
        (),
        ("r.json",),
    ),
    "talking-head with corrupt audio": Row(
        (*TALKING_HEAD, "--audio", "corrupt.mp3", "-o", "out.mp4"),
        2,
        ("'corrupt.mp3' is not a readable audio file (FFmpeg: invalid data found when processing input)",),
        (),
        ("out.mp4",),
    ),
    # hostile checkpoints, and a face that is not there
    "a model folder whose pytorch_model.bin pickles code": Row(
        (*TALKING_HEAD, "--audio", "a.wav", "-o", "out.mp4", "--mouth-model", "pickled"),
        2,
        (
            "refusing checkpoint 'pickled': its pytorch_model.bin holds pickled Python objects",
            "convert it to safetensors",
        ),
        ("pickled/pytorch_model.bin",),
        ("out.mp4", "payload-ran"),
    ),
    "lip-sync --face that names no rule": Row(
        (*LIP_SYNC, "--video", "v.mp4", "--audio", "a.wav", "-o", "out.mp4", "--face", "middle"),
        2,
        ("face must be one of largest, leftmost, rightmost, an index from the left",),
        ("v.mp4",),
        ("out.mp4",),
    ),
    "lip-sync --face beyond the faces there": Row(
        (*LIP_SYNC, "--video", "v.mp4", "--audio", "a.wav", "-o", "out.mp4", "--face", "3"),
        2,
        ("face 3 was asked for, but the frame where the track starts holds 1 face(s)",),
        ("v.mp4",),
        ("out.mp4",),
    ),
    "lip-sync a video without a face, default passthrough": Row(
        (*LIP_SYNC, "--video", "wall.mp4", "--audio", "a.wav", "-o", "out.mp4"),
        2,
        ("no face found in any of the 10 frames of 'wall.mp4'",),
        ("wall.mp4",),
        ("out.mp4",),
    ),
    "lip-sync --mouth-model whose config.json runs the folder's code": Row(
        ("lip-sync", "--video", "v.mp4", "--audio", "a.wav", "-o", "out.mp4", "--mouth-model", "evil", "--quiet"),
        2,
        ("refusing --mouth-model 'evil': its config.json has auto_map", "never runs a checkpoint's own code"),
        ("evil/evil.py",),
        ("out.mp4", "code-ran"),
    ),
    "talking-head --mouth-model whose config.json runs the folder's code": Row(
        (*TALKING_HEAD, "--audio", "a.wav", "-o", "out.mp4", "--mouth-model", "evil"),
        2,
        ("refusing checkpoint 'evil': its config.json has auto_map", "never runs a checkpoint's own code"),
        ("evil/evil.py",),
        ("out.mp4", "code-ran"),
    ),
    # a shard that cannot join the shard being written into its --output: refused before any work
    "preprocess --shard with another N than a running shard": Row(
        (*PREPROCESS, "data", "-o", "claimed", "--shard", "1/3"),
        2,
        ("claimed holds shards of 2: shard 0/2 (being written by process", "use --shard I/2, or another --output"),
        ("claimed/.sharding/claims/shard-00000-of-00002.json",),
        ("claimed/data", "claimed/manifests"),
    ),
    "preprocess --shard that a running process writes": Row(
        (*PREPROCESS, "data", "-o", "claimed", "--shard", "0/2"),
        2,
        ("shard 0/2 is being written into claimed by process", "wait for it to finish"),
        ("claimed/.sharding/claims/shard-00000-of-00002.json",),
        ("claimed/data", "claimed/manifests"),
    ),
    "preprocess --shard of other input files than a running shard": Row(
        (*PREPROCESS, "mixed", "-o", "claimed", "--shard", "1/2"),
        2,
        ("was cut from other input files than this run", "clips/ (1 there, 0 here)", "give every shard the same input"),
        ("claimed/.sharding/claims/shard-00000-of-00002.json",),
        ("claimed/data", "claimed/manifests"),
    ),
    # inputs that are not regular files: an empty named pipe would block the open for good
    "talking-head --audio is an empty named pipe": Row(
        (*TALKING_HEAD, "--audio", "pipe.wav", "-o", "out.mp4"),
        2,
        ("'pipe.wav' is a named pipe (FIFO), not an audio file: talkhead reads whole files",),
        absent=("out.mp4",),
    ),
    "talking-head --image is an empty named pipe": Row(
        (*TALKING_HEAD, "--audio", "a.wav", "-o", "out.mp4"),
        2,
        ("'face.png' is a named pipe (FIFO), not an image",),
        absent=("out.mp4",),
    ),
    "lip-sync --video is an empty named pipe": Row(
        (*LIP_SYNC, "--video", "pipe.mp4", "--audio", "a.wav", "-o", "out.mp4"),
        2,
        ("'pipe.mp4' is a named pipe (FIFO), not a video",),
        absent=("out.mp4",),
    ),
    "evaluate a video that is an empty named pipe": Row(
        ("evaluate", "video", "pipe.mp4", "--json", "r.json"),
        2,
        ("'pipe.mp4' is a named pipe (FIFO), not a video",),
        absent=("r.json",),
    ),
    "lip-sync --video is a link that loops": Row(
        (*LIP_SYNC, "--video", "loop.mp4", "--audio", "a.wav", "-o", "out.mp4"),
        2,
        ("'loop.mp4' is a symbolic link that leads back to itself (a loop)",),
        absent=("out.mp4",),
    ),
    "talking-head --audio is a link that loops": Row(
        (*TALKING_HEAD, "--audio", "loop.wav", "-o", "out.mp4"),
        2,
        ("'loop.wav' is a symbolic link that leads back to itself (a loop)",),
        absent=("out.mp4",),
    ),
    "talking-head --audio is a link to nothing": Row(
        (*TALKING_HEAD, "--audio", "dangling.wav", "-o", "out.mp4"),
        2,
        ("'dangling.wav' is a link to 'gone.wav', which does not exist",),
        absent=("out.mp4",),
    ),
}


@pytest.fixture
def workspace(tmp_path, astronaut, monkeypatch, request):
    """A folder holding every input the rows name; the command runs inside it."""
    talking_video(tmp_path / "v.mp4", astronaut, num_frames=25)
    write_wav(tmp_path / "a.wav", speech_like(1.0))
    write_wav(tmp_path / "short.wav", speech_like(0.1))
    cv2.imwrite(str(tmp_path / "face.png"), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    (tmp_path / "corrupt.mp4").write_bytes(CORRUPT)
    (tmp_path / "corrupt.mp3").write_bytes(b"ID3" + bytes(range(256)) * 4)
    wall = [np.full((64, 64, 3), 128, np.uint8)] * 10
    write_av(tmp_path / "wall.mp4", wall, 25, speech_like(0.4))
    (tmp_path / "link.json").symlink_to(tmp_path / "v.mp4")
    os.link(tmp_path / "v.mp4", tmp_path / "hard.mp4")
    (tmp_path / "sub").mkdir()
    (tmp_path / "data" / "clips").mkdir(parents=True)
    talking_video(tmp_path / "data" / "clips" / "clip.mp4", astronaut, num_frames=10)
    for folder in ("only_corrupt", "mixed"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "bad.mp4").write_bytes(CORRUPT)
    write_av(tmp_path / "mixed" / "wall.mp4", wall, 25, speech_like(0.4))
    _pickled_model(tmp_path / "pickled", tmp_path / "payload-ran")
    code_running_model(tmp_path / "evil", tmp_path / "code-ran")
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n" * 10))  # transformers' "run the custom code?" prompt
    _claimed_shard(tmp_path / "claimed", tmp_path / "data", request)
    for name in ("pipe.wav", "pipe.mp4"):
        os.mkfifo(tmp_path / name)
    if "--image is an empty named pipe" in request.node.name:
        (tmp_path / "face.png").unlink()
        os.mkfifo(tmp_path / "face.png")
    for loop, other in (("loop.mp4", "loop2.mp4"), ("loop.wav", "loop.wav")):
        (tmp_path / loop).symlink_to(other)
        if other != loop:
            (tmp_path / other).symlink_to(loop)
    (tmp_path / "dangling.wav").symlink_to("gone.wav")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _claimed_shard(folder, data, request) -> None:
    """``folder`` while shard 0/2 of the input ``data`` is being written into it (claimed by this process, as a running
    ``preprocess --shard 0/2`` claims it, until the test ends)."""
    from dataclasses import asdict

    from talkhead.data.build import PreprocessOptions
    from talkhead.data.discovery import discover
    from talkhead.data.shard_claims import ShardClaim, shard_plan
    from talkhead.data.shards import Shard

    keys = discover([data], owns=lambda key: False).input_keys
    claim = ShardClaim(folder, shard_plan(Shard(0, 2), asdict(PreprocessOptions()), None, keys))
    claim.acquire()
    request.addfinalizer(claim.release)


class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def _pickled_model(folder, marker) -> None:
    """A mouth-motion folder whose only weights are a pickle that runs ``touch MARKER`` when loaded."""
    import shutil

    import torch

    folder.mkdir()
    shutil.copy(Path(__file__).resolve().parents[1] / "hub_configs" / "mouth-motion" / "config.json", folder)
    torch.save({"weight": _Payload(marker)}, folder / "pytorch_model.bin")


def code_running_model(folder, marker) -> None:
    """A folder whose config.json maps the Auto classes to its own evil.py, which runs ``touch MARKER`` on import."""
    folder.mkdir()
    auto_map = {"AutoConfig": "evil.EvilConfig", "AutoModel": "evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps({"model_type": "evil", "auto_map": auto_map}))
    (folder / "evil.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n"
        "from transformers import PretrainedConfig, PreTrainedModel\n"
        "class EvilConfig(PretrainedConfig):\n    model_type = 'evil'\n"
        "class EvilModel(PreTrainedModel):\n    config_class = EvilConfig\n"
    )


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_bad_input(row: Row, workspace, generator_path, face_generator_path, capsys):  # noqa: F811
    models = {"gen": str(generator_path), "face_gen": str(face_generator_path)}
    before = {name: _digest(workspace / name) for name in row.untouched}
    status = main([arg.format(**models) for arg in row.args])
    captured = capsys.readouterr()
    assert status == row.status, captured.err
    for message in row.messages:
        assert message in captured.err
    assert captured.err.startswith("error: ") and "Traceback" not in captured.err and "Errno" not in captured.err
    assert {name: _digest(workspace / name) for name in row.untouched} == before
    assert not [name for name in row.absent if os.path.lexists(workspace / name)]
    assert not [path for path in workspace.rglob("*") if ".partial" in path.name or ".cache-" in path.name]


@pytest.mark.parametrize(
    "command",
    [["talking-head"], ["lip-sync"], ["landmarks"], ["preprocess"], ["evaluate", "video"], ["evaluate", "landmarks"]],
    ids=" ".join,
)
def test_every_command_states_the_one_audio_rule_in_its_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert exit_.value.code == 0 and "0.2 s" in text
    if command == ["lip-sync"]:
        assert "A video with no face in any frame is an error under every policy" in text
