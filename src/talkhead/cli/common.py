"""What the commands share: the help line of every AUDIO option, the 'none' spelling of "no model", and the
summary the two video commands print."""

from __future__ import annotations

from ..outputs import write_json
from ..processing.audio import MIN_AUDIO_SECONDS

AUDIO_HELP = f"speech, at least {MIN_AUDIO_SECONDS:g} s (the same rule in every command): wav, mp3, m4a, flac, or a video's audio track"


def none_or(value: str | None) -> str | None:
    return None if value is None or value.lower() == "none" else value


def print_report(result, json_path, what: str) -> None:
    print(f"{result.video}: {what}")
    for warning in result.warnings:
        print(f"  note: {warning}")
    stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.stage_seconds.items() if seconds)
    print(f"  time: {stages}")
    if json_path:
        write_json(result.to_dict(), json_path)
