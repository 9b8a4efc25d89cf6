"""What the commands share: the help line of every AUDIO and --language option, the 'none' spelling of "no model",
and the summary the two video commands print."""

from __future__ import annotations

import argparse
import re

from ..io.audio import MIN_AUDIO_SECONDS
from ..io.outputs import write_json

AUDIO_HELP = (
    f"speech, at least {MIN_AUDIO_SECONDS:g} s (the same rule in every command): wav, mp3, m4a, flac, or a video's "
    "audio track"
)
LANGUAGE_HELP = (
    "language of the speech: auto (default: the English recogniser's words where its own confidence says it "
    "understood, the phone loop elsewhere), en (always its words), or another code such as fr or zh (the phone loop "
    "alone: no English words)"
)


def none_or(value: str | None) -> str | None:
    return None if value is None or value.lower() == "none" else value


NO_VISEMES_HELP = (
    "leave the mouth as the mouth-motion model predicts it, without the lip shapes the phones need (shut on p, b "
    "and m, lower lip at the teeth on f and v, rounded on o, u and w)"
)
_ARGUMENT = re.compile(r"\b([a-z][a-z0-9_]*)=([^\s;,)]+)")


def option_strings(parser: argparse.ArgumentParser) -> set[str]:
    """Every ``--flag`` of ``parser`` and of its subcommands."""
    found = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                found |= option_strings(subparser)
    return found


def as_flags(message: str, flags: set[str]) -> str:
    """A library message in the command line's words: ``on_missing_face=error`` -> ``--on-missing-face error``,
    ``overwrite=True`` -> ``--overwrite``, ``face_generator='x'`` -> ``--face-generator-model 'x'`` (a checkpoint
    argument's flag ends in ``-model``), for the arguments that are one of ``flags``. The library names its own
    arguments, which a Python caller can follow; the commands name their flags."""

    def spell(match: re.Match) -> str:
        flag = "--" + match.group(1).replace("_", "-")
        flag = flag if flag in flags else f"{flag}-model"
        if flag not in flags:
            return match.group(0)
        return flag if match.group(2) == "True" else f"{flag} {match.group(2)}"

    return _ARGUMENT.sub(spell, message)


def print_report(result, json_path, what: str, flags: set[str] = frozenset()) -> None:
    """The summary of a video command: what was written, what the speech was heard as (where phones were decoded),
    the library's warnings spelled with ``flags`` (the parser's ``args.flags``) and the time per stage."""
    print(f"{result.video}: {what}")
    if result.heard is not None:
        print(f"  {result.heard.summary()}")
    for warning in result.warnings:
        print(f"  note: {as_flags(warning, flags)}")
    stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.stage_seconds.items() if seconds)
    print(f"  time: {stages}")
    if json_path:
        write_json(result.to_dict(), json_path)
