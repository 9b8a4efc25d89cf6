"""The commands' flags: the naming rules of CONTRIBUTING.md (walked over every command and subcommand), defaults
from the options dataclasses and ``talkhead.defaults``, library messages spelled as flags."""

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


def parsers(parser: argparse.ArgumentParser | None = None, path: tuple[str, ...] = ()):
    """``(command path, parser)`` of the console script and of every command and subcommand below it."""
    parser = parser or build_parser()
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from parsers(child, (*path, name))


def flags():
    """``(command path, action)`` of every flag of every parser, but -h and --version."""
    for path, parser in parsers():
        for action in parser._actions:
            if action.option_strings and not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                yield path, action


SHIPPED_MODELS = {
    value for value in vars(defaults).values() if isinstance(value, str) and value.startswith("talkhead/")
}


def takes_checkpoint(action: argparse.Action) -> bool:
    """CONTRIBUTING.md's rule: a flag's value is a checkpoint when its metavar is MODEL, its default is a shipped
    model, or its help calls the value a checkpoint or weights."""
    given = action.default if isinstance(action.default, list) else [action.default]
    words = (action.help or "").lower()
    return (
        action.metavar == "MODEL"
        or any(value in SHIPPED_MODELS for value in given)
        or "checkpoint" in words
        or "weights" in words
    )


def registered_tasks() -> set[str]:
    """The tasks talkhead registers with transformers' pipeline registry, read from the registry itself."""
    from transformers.pipelines import PIPELINE_REGISTRY

    import talkhead.pipelines  # noqa: F401  (its import registers the tasks)

    return {
        task
        for task, entry in PIPELINE_REGISTRY.supported_tasks.items()
        if str(getattr(entry.get("impl"), "__module__", "")).startswith("talkhead.")
    }


def test_every_checkpoint_flag_ends_in_model_and_only_those_do():
    checkpoints = {(path, action.option_strings[0]) for path, action in flags() if takes_checkpoint(action)}
    named = {(path, flag) for path, action in flags() for flag in action.option_strings if flag.endswith("-model")}
    assert len(checkpoints) >= 20
    assert checkpoints == named
    assert all(action.dest.endswith("_model") for path, action in flags() if takes_checkpoint(action))


def test_each_flag_has_one_meaning_across_commands():
    kinds, values = {}, {}
    for path, action in flags():
        kind = (action.dest, action.nargs == 0, action.type, tuple(action.choices or ()), takes_checkpoint(action))
        for flag in action.option_strings:
            kinds.setdefault(flag, {})[kind] = path
            if action.default not in (None, [], False):
                values.setdefault(flag, {})[repr(action.default)] = path
    assert {flag: seen for flag, seen in kinds.items() if len(seen) > 1} == {}
    assert {flag: seen for flag, seen in values.items() if len(seen) > 1} == {}  # one default wherever it has one


def test_no_hidden_flag_and_no_hidden_command():
    for path, parser in parsers():
        for action in parser._actions:
            assert action.help is not argparse.SUPPRESS, (path, action.option_strings or action.dest)
            if isinstance(action, argparse._SubParsersAction):
                assert {listed.dest for listed in action._choices_actions} == set(action.choices), path


def test_the_commands_of_the_tasks_are_named_as_the_registered_tasks():
    tasks = registered_tasks()
    assert tasks == {"talking-head", "lip-sync"}
    parser = build_parser()
    for task in tasks:
        run = subcommand(parser, task).get_default("func")
        assert run.__module__ == "talkhead.cli." + task.replace("-", "_"), task
    benchmark_speed = {a.dest: a for a in subcommand(parser, "benchmark", "speed")._actions}
    assert set(benchmark_speed["task"].choices) == tasks
    spellings = {task.replace("-", ""): task for task in tasks}
    names = [name for path, _ in parsers() for name in path]
    assert [name for name in names if spellings.get(name.replace("-", ""), name) != name] == []


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "--image", "a.png", "--audio", "a.wav", "-o", "o.mp4"],
        ["lipsync", "--video", "v.mp4", "--audio", "a.wav", "-o", "o.mp4"],
        ["talking-head", "--image", "a.png", "--audio", "a.wav", "-o", "o.mp4", "--max-side", "256"],
        ["talking-head", "--image", "a.png", "--audio", "a.wav", "-o", "o.mp4", "--model", "g"],
        ["evaluate", "v.mp4", "--json", "r.json"],
        ["benchmark", "lipsync", "--data", "d", "--json", "o.json"],
        ["benchmark", "mouth", "--data", "d", "--json", "o.json", "--paper-generator", "none"],
        ["lip-sync", "--video", "v.mp4", "--audio", "a.wav", "-o", "o.mp4", "--face-generator", "f"],  # no prefixes
        ["evaluate", "video", "v.mp4", "--json", "r.json", "--mouth-sync"],
    ],
)
def test_the_old_spellings_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(argv)
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and ("invalid choice" in error or "unrecognized arguments" in error)


def test_a_video_named_like_a_subcommand_can_be_scored():
    args = build_parser().parse_args(["evaluate", "video", "landmarks", "--json", "r.json"])
    assert (args.evaluated, args.video) == ("video", "landmarks")


@pytest.mark.parametrize("command, options_class", [("lip-sync", LipSyncOptions), ("talking-head", TalkingHeadOptions)])
def test_flag_defaults_are_the_options_dataclass_defaults(command, options_class):
    flags = defaults_of(subcommand(build_parser(), command))
    shared = {field.name: field.default for field in dataclasses.fields(options_class) if field.name in flags}
    assert len(shared) >= 6
    assert {name: flags[name] for name in shared} == shared


def test_every_model_flag_defaults_to_the_shipped_model_of_its_role():
    meaning = {
        "head_model": defaults.HEAD_MOTION,
        "face_generator_model": defaults.FACE_GENERATOR,
        "silent_lip_model": defaults.SILENT_LIP,
        "eval_syncers_model": defaults.EVAL_SYNCERS,
        "sync_expert_model": defaults.SYNC_EXPERT,
        "mouth_model": defaults.MOUTH_MOTION,
        "mouth_interior_model": defaults.MOUTH_INTERIOR,
    }
    seen = 0
    for path, action in flags():
        if action.dest in meaning and action.default not in ([], None):
            assert action.default == meaning[action.dest], (path, action.dest)
            seen += 1
    assert seen >= 14


def test_library_messages_are_spelled_as_flags():
    flags = option_strings(build_parser())
    assert {"--on-missing-face", "--face", "--overwrite", "--renderer"} <= flags
    message = (
        "no face found in frames 3-9 of 'in.mp4'; use on_missing_face=passthrough to keep those frames, or "
        "on_missing_face=interpolate; output 'x' already exists; use overwrite=True; unknown_knob='x' is bad"
    )
    assert as_flags(message, flags) == (
        "no face found in frames 3-9 of 'in.mp4'; use --on-missing-face passthrough to keep those frames, or "
        "--on-missing-face interpolate; output 'x' already exists; use --overwrite; unknown_knob='x' is bad"
    )


def test_a_checkpoint_argument_is_spelled_as_its_model_flag():
    flags = option_strings(build_parser())
    message = "refusing face_generator='evil': its config.json has auto_map; mouth_model='m' and silent_lip='s'"
    assert as_flags(message, flags) == (
        "refusing --face-generator-model 'evil': its config.json has auto_map; --mouth-model 'm' and "
        "--silent-lip-model 's'"
    )


def test_a_library_error_names_the_argument_and_the_command_names_the_flag(tmp_path, capsys):
    from talkhead.errors import TalkheadInputError
    from talkhead.io.outputs import check_output_folder

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
