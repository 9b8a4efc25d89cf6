"""The commands' flags (issue #26): one meaning per flag, defaults from the options dataclasses and
``talkhead.defaults``, renamed flags still working with a warning, library messages spelled as flags."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from talkhead import defaults
from talkhead.cli import build_parser, main
from talkhead.cli.common import as_flags, option_strings
from talkhead.options import LipSyncOptions, TalkingHeadOptions


def subcommand(parser: argparse.ArgumentParser, *names: str) -> argparse.ArgumentParser:
    for name in names:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


def defaults_of(parser: argparse.ArgumentParser) -> dict:
    return {action.dest: action.default for action in parser._actions if action.option_strings}


@pytest.mark.parametrize("command, options_class", [("lipsync", LipSyncOptions), ("generate", TalkingHeadOptions)])
def test_flag_defaults_are_the_options_dataclass_defaults(command, options_class):
    flags = defaults_of(subcommand(build_parser(), command))
    shared = {field.name: field.default for field in dataclasses.fields(options_class) if field.name in flags}
    assert len(shared) >= 6
    assert {name: flags[name] for name in shared} == shared


def test_every_model_flag_means_one_thing():
    parser = build_parser()
    meaning = {"head_model": defaults.HEAD_MOTION, "face_generator": defaults.FACE_GENERATOR,
               "silent_lip": defaults.SILENT_LIP, "eval_syncers": defaults.EVAL_SYNCERS,
               "lip_sync_model": defaults.MOUTH_MOTION}
    seen = 0
    for names in (["generate"], ["lipsync"], ["landmarks"], ["benchmark", "ms-sync"], ["benchmark", "lipsync"],
                  ["benchmark", "mouth"], ["benchmark", "lip-follow"]):
        for dest, default in defaults_of(subcommand(parser, *names)).items():
            if dest in meaning and default not in ([], None):
                assert default == meaning[dest], (names, dest)
                seen += 1
            if dest == "mouth_model" and default not in ([], None):
                assert default == defaults.MOUTH_MOTION, names
    assert seen >= 8
    assert "--model" not in build_parser().format_help() + subcommand(parser, "lipsync").format_help()


@pytest.mark.parametrize("argv, dest, value", [
    (["generate", "--image", "a.png", "--audio", "a.wav", "-o", "o.mp4", "--model", "g"], "head_model", "g"),
    (["landmarks", "--image", "a.png", "--audio", "a.wav", "-o", "o.npz", "--model", "g"], "head_model", "g"),
    (["benchmark", "ms-sync", "--data", "d", "--json", "o.json", "--model", "a", "--head-model", "b"], "head_model",
     ["a", "b"]),
    (["benchmark", "lipsync", "--data", "d", "--json", "o.json", "--model", "f"], "face_generator", ["f"]),
    (["benchmark", "mouth", "--data", "d", "--json", "o.json", "--paper-generator", "none"], "face_generator", "none"),
])
def test_renamed_flags_still_work_and_say_so(argv, dest, value, capsys):
    args = build_parser().parse_args(argv)
    assert getattr(args, dest) == value
    assert "is deprecated and will be removed; use --" in capsys.readouterr().err


def test_library_messages_are_spelled_as_flags():
    flags = option_strings(build_parser())
    assert {"--on-missing-face", "--face", "--overwrite", "--renderer"} <= flags
    message = ("no face found in frames 3-9 of 'in.mp4'; use on_missing_face=passthrough to keep those frames, or "
               "on_missing_face=interpolate; output 'x' already exists; use overwrite=True; unknown_knob='x' is bad")
    assert as_flags(message, flags) == (
        "no face found in frames 3-9 of 'in.mp4'; use --on-missing-face passthrough to keep those frames, or "
        "--on-missing-face interpolate; output 'x' already exists; use --overwrite; unknown_knob='x' is bad")


def test_a_library_error_names_the_argument_and_the_command_names_the_flag(tmp_path, capsys):
    from talkhead.errors import TalkheadInputError
    from talkhead.outputs import check_output_folder

    folder = tmp_path / "dataset"
    folder.mkdir()
    (folder / "kept.txt").write_text("x")
    with pytest.raises(TalkheadInputError, match=r"use overwrite=True to replace it"):
        check_output_folder(folder)
    raw = tmp_path / "raw"
    raw.mkdir()
    assert main(["preprocess", str(raw), "-o", str(folder)]) == 2
    error = capsys.readouterr().err
    assert "use --overwrite to replace it" in error and "overwrite=True" not in error
