"""The ``talkhead`` console script.

Each command is a module of this package (``preprocess``, ``talking_head``, ``lip_sync``, ``live`` (``avatar`` and
``live``), ``evaluate``, ``landmarks``, ``benchmark``) with an ``add_<name>(subparsers)`` that adds its parser and a
``run_<name>(args)`` that runs it; ``common`` holds what they share. The two video commands are named after the tasks
of their pipelines (``talkhead talking-head`` is ``pipeline("talking-head")``, ``talkhead lip-sync`` is
``pipeline("lip-sync")``), and every command is plain argparse (CONTRIBUTING.md, "Naming rules"). Bad input
(:class:`talkhead.errors.TalkheadInputError`, a missing file) prints one ``error:`` line and exits
with status 2; anything else is a bug and keeps its traceback. Every file a command writes is claimed
from :class:`talkhead.io.outputs.OutputGuard` before any work. Ctrl-C, SIGTERM and SIGHUP stop a command
the same way: temporary files are removed, one ``interrupted`` line is printed, and the exit status
is 128 + the signal's number (130, 143, 129).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys

from .. import __version__
from ..errors import TalkheadInputError
from ..io import outputs
from .benchmark import add_benchmark
from .common import as_flags, option_strings
from .evaluate import add_evaluate
from .landmarks import add_landmarks
from .lip_sync import add_lip_sync
from .live import add_avatar, add_live
from .preprocess import add_preprocess
from .talking_head import add_talking_head

# import name -> the setup.cfg extra that installs it: `pip install talkhead` is the inference set, and a command
# that needs more (preprocess, benchmark, evaluate --plot) says which extra instead of a traceback
EXTRA_OF = {
    "datasets": "data",
    "pyarrow": "data",
    "accelerate": "train",
    "skimage": "eval",
    "matplotlib": "eval",
    "gradio": "demo",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="talkhead",
        description="Talking-head generation and audio-visual synchrony metrics (MS-Sync, stabilized sync, AV-HuBERT).",
    )
    parser.add_argument("--version", action="version", version=f"talkhead {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_preprocess(subparsers)
    add_talking_head(subparsers)
    add_lip_sync(subparsers)
    add_avatar(subparsers)
    add_live(subparsers)
    add_evaluate(subparsers)
    add_landmarks(subparsers)
    add_benchmark(subparsers)
    parser.set_defaults(flags=frozenset(option_strings(parser)))  # as_flags spells library messages with them
    _spelled_in_full(parser)
    return parser


def _spelled_in_full(parser: argparse.ArgumentParser) -> None:
    """Refuse abbreviated flags in every command: with them, a renamed flag would go on working as a prefix of its
    successor (``--face-generator`` for ``--face-generator-model``), an alias nobody chose."""
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                _spelled_in_full(command)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    written = outputs.published_count()
    try:
        with outputs.interrupt_on_signals(), _quiet_libraries():
            return args.func(args)
    except (TalkheadInputError, FileNotFoundError) as err:
        print(f"error: {as_flags(str(err), option_strings(parser))}", file=sys.stderr)
        return 2
    except OSError as err:
        if not outputs.is_disk_full(err):
            raise
        print(f"error: {outputs.disk_full_error(outputs.output_of(err.filename))}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as err:
        extra = EXTRA_OF.get((err.name or "").partition(".")[0])
        if extra is None:  # not an optional package: a broken install, keep the traceback
            raise
        print(
            f'error: this command needs {err.name}, which the core install leaves out: pip install "talkhead[{extra}]"',
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt as interruption:  # Ctrl-C, or SIGTERM / SIGHUP raised as outputs.Interrupted
        print(outputs.interrupted_message(written), file=sys.stderr)
        return 128 + getattr(interruption, "signum", signal.SIGINT)


@contextlib.contextmanager
def _quiet_libraries():
    """The commands print their own summary: no weight-loading bars, no second copy of the pipelines' warnings."""
    import logging

    from transformers.utils import logging as transformers_logging

    pipelines = logging.getLogger("talkhead.pipelines")
    level, bars = pipelines.level, transformers_logging.is_progress_bar_enabled()
    pipelines.setLevel(logging.ERROR)
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        pipelines.setLevel(level)
        if bars:
            transformers_logging.enable_progress_bar()
