"""Every file a command writes goes through here: never an input, the expected kind, whole or not at all.

* :class:`OutputGuard` checks each output path of a command before any work starts: it may not be,
  or resolve to (a symbolic link, a hard link, ``..``), any input of the command, nor replace a file
  inside an input folder; it must have the extension its option promises (``--landmarks face.png``
  is an error, not a silent ``face.png.npz``); no two outputs may be the same file; and its folder
  must be writable.
* :class:`AtomicOutput` (``with atomic_output(path) as temporary: ...``) writes to a hidden
  temporary file or folder beside the target and renames it into place when the block succeeds;
  on any exception, Ctrl-C included, the temporary is removed. Every writer of the package uses it
  (videos, JSON reports, plots, landmark files, datasets). What no handler can clean (``kill -9``, a power
  cut) :func:`sweep_orphans` removes when the next write to the same output starts.
* :func:`interrupt_on_signals` turns SIGTERM and SIGHUP (how containers, job schedulers and closed
  terminals stop a program) into :class:`Interrupted`, a :class:`KeyboardInterrupt`, so they run
  the same clean-up as Ctrl-C.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import signal
import threading
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import TalkheadInputError

PARTIAL_MARK = ".partial"
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))

_published: list[Path] = []  # every output this process moved into place, in order


class Interrupted(KeyboardInterrupt):
    """The process was asked to stop by ``signum`` (SIGTERM, SIGHUP); handled like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def interrupt_on_signals(signals: Iterable[int] = STOP_SIGNALS) -> Iterator[None]:
    """Inside the block, the first of ``signals`` raises :class:`Interrupted`; later ones are ignored
    until the block is left, so they cannot cut the clean-up short. Outside the main thread (where
    Python cannot install handlers) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}  # the handlers to restore, by signal

    def stop(signum, frame):
        for number in previous:
            signal.signal(number, signal.SIG_IGN)
        raise Interrupted(signum)

    for number in signals:
        previous[number] = signal.signal(number, stop)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def published_count() -> int:
    """How many outputs this process has moved into place so far (a mark for :func:`published_since`)."""
    return len(_published)


def published_since(mark: int) -> list[Path]:
    return list(_published[mark:])


def interrupted_message(mark: int) -> str:
    """What the CLI prints when stopped: whether anything was written since ``mark``."""
    written = published_since(mark)
    if not written:
        return "interrupted; nothing was written"
    return f"interrupted; only {', '.join(repr(str(p)) for p in written)} had been written"


def temporary_path(path: str | os.PathLike) -> Path:
    """A hidden, unique name beside ``path`` with the same extension (writers that go by it still work)."""
    path = Path(path)
    return path.with_name(f".{path.stem}{PARTIAL_MARK}-{os.getpid()}-{uuid.uuid4().hex[:8]}{path.suffix}")


_TEMPORARY_NAME = re.compile(rf"^\.(?P<stem>.*){re.escape(PARTIAL_MARK)}-(?P<pid>\d+)-[0-9a-f]{{8}}(?P<suffix>.*)$")


def _parse_temporary(name: str) -> tuple[str, int] | None:
    """(the output's file name, the writing process's id) of a :func:`temporary_path` name; ``None`` for others."""
    match = _TEMPORARY_NAME.match(name)
    return (match["stem"] + match["suffix"], int(match["pid"])) if match else None


def output_of(path: str | os.PathLike | None) -> str:
    """The output a :func:`temporary_path` stands for (``path`` itself when it is not one)."""
    if path is None:
        return "the output"
    parsed = _parse_temporary(Path(path).name)
    return str(Path(path).with_name(parsed[0]) if parsed else path)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def sweep_orphans(path: str | os.PathLike) -> list[Path]:
    """Remove the temporaries of ``path`` (:func:`temporary_path`) left by processes that no longer run: a
    ``kill -9`` or a power cut skips every clean-up, and its partial would stay beside the output for good. A
    temporary of a live process (another run writing the same output) is left alone. Returns what was removed."""
    path = Path(path)
    removed: list[Path] = []
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return removed
    for sibling in siblings:
        parsed = _parse_temporary(sibling.name)
        if parsed is None or parsed[0] != path.name or _process_alive(parsed[1]):
            continue
        if sibling.is_dir() and not sibling.is_symlink():
            shutil.rmtree(sibling, ignore_errors=True)
        else:
            sibling.unlink(missing_ok=True)
        removed.append(sibling)
    return removed


# an H.264 (crf 18, veryfast) + AAC talking head: 424 KB for 163 frames of 512 x 512 (about 0.01 byte a pixel a
# frame); real footage takes more. Used for a first check of free space, not as a promise
ENCODED_BYTES_PER_PIXEL = 0.01
AUDIO_BYTES_PER_SECOND = 16_000  # AAC at 128 kbit/s


def estimated_video_bytes(frames: int, width: int, height: int, fps: float) -> int:
    """About how large an mp4 of ``frames`` frames of ``width`` x ``height`` at ``fps`` with sound will be."""
    return int(frames * width * height * ENCODED_BYTES_PER_PIXEL + frames / fps * AUDIO_BYTES_PER_SECOND)


def _megabytes(count: float) -> str:
    return f"{count / 1e6:.1f} MB"


def free_bytes(path: str | os.PathLike) -> int | None:
    """Free space where ``path`` will be written (its nearest existing folder); ``None`` if it cannot be read."""
    folder = Path(path).absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def check_free_space(path: str | os.PathLike, needed: int) -> None:
    """Refuse, before any long work, to write ``path`` where not even the estimated ``needed`` bytes are free."""
    free = free_bytes(path)
    if free is not None and free < needed:
        raise TalkheadInputError(
            f"not enough space on the device for '{path}': about {_megabytes(needed)} needed, "
            f"{_megabytes(free)} free; free some space or choose another output folder"
        )


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def disk_full_error(path: str | os.PathLike, written: int | None = None) -> TalkheadInputError:
    """The one-line error for a device that filled up while ``path`` was written (``written`` bytes so far)."""
    so_far = f" ({_megabytes(written)} had been written)" if written else ""
    return TalkheadInputError(
        f"no space left on the device writing '{path}'{so_far}; nothing was kept: free some "
        "space or choose another output folder"
    )


class AtomicOutput:
    """``with AtomicOutput(path) as temporary:`` write ``temporary`` (a file or a folder); it becomes ``path``.

    On success the temporary is renamed onto ``path`` (an existing folder there is replaced); on any
    exception it is removed and nothing changes at ``path``. :meth:`publish` and :meth:`discard` do
    the same for writers that manage their own lifetime (:class:`~talkhead.io.video_writer.VideoWriter`).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.temporary = temporary_path(self.path)

    def __enter__(self) -> Path:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise TalkheadInputError(
                f"cannot create the output folder '{self.path.parent}': {error.strerror or error}"
            ) from error
        sweep_orphans(self.path)
        return self.temporary

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.publish()
        else:
            self.discard()

    def publish(self) -> Path:
        try:
            if not os.path.lexists(self.temporary):
                raise FileNotFoundError(f"nothing was written to '{self.path}'")
            if self.temporary.is_dir() and self.path.is_dir() and not self.path.is_symlink():
                shutil.rmtree(self.path)
            os.replace(self.temporary, self.path)
        except BaseException:
            self.discard()
            raise
        _published.append(self.path)
        return self.path

    def discard(self) -> None:
        if self.temporary.is_dir() and not self.temporary.is_symlink():
            shutil.rmtree(self.temporary, ignore_errors=True)
        else:
            self.temporary.unlink(missing_ok=True)


atomic_output = AtomicOutput


def write_text(text: str, path: str | os.PathLike) -> Path:
    with atomic_output(path) as temporary:
        temporary.write_text(text)
    return Path(path)


def write_json(data, path: str | os.PathLike, default=float) -> Path:
    """``data`` as indented JSON, atomically; values JSON cannot hold go through ``default``."""
    return write_text(json.dumps(data, indent=2, default=default) + "\n", path)


# --- checking outputs before any work -------------------------------------------------------------------


def _real(path: Path) -> str:
    return os.path.realpath(path)


def _inside(path: str, folder: str) -> bool:
    return path != folder and path.startswith(folder.rstrip(os.sep) + os.sep)


def _same_file(output: Path, source: Path) -> bool:
    """``output`` names ``source``: the same path once links and ``..`` are resolved, or a hard link to it."""
    if _real(output) == _real(source):
        return True
    try:
        return output.exists() and os.path.samefile(output, source)
    except OSError:
        return False


def _existing_inputs(inputs: Iterable) -> list[Path]:
    """The inputs that are paths on disk (arrays, model names and ``None`` cannot be overwritten)."""
    return [
        Path(source)
        for source in inputs
        if isinstance(source, (str, os.PathLike)) and str(source) and os.path.lexists(source)
    ]


def _check_not_an_input(output: Path, inputs: list[Path], option: str, within_folders: bool = True) -> None:
    """``output`` is no input; with ``within_folders``, nor an existing file inside an input folder (a frame
    folder's images, a model folder's weights: what the command reads)."""
    for source in inputs:
        if _same_file(output, source):
            what = "is the input folder" if source.is_dir() else "is the same file as the input"
            raise TalkheadInputError(
                f"{option} '{output}' {what} '{source}'; writing it would destroy that input: choose another name"
            )
        if within_folders and source.is_dir() and os.path.lexists(output) and _inside(_real(output), _real(source)):
            raise TalkheadInputError(
                f"{option} '{output}' would replace a file inside the input folder '{source}'; write it somewhere else"
            )


def _check_writable_folder(folder: Path, option: str) -> None:
    """``folder`` exists and is writable, or can be created (its nearest existing parent is a writable folder)."""
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise TalkheadInputError(
            f"cannot create the output folder '{folder}': '{existing}' is a file; choose another {option}"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise TalkheadInputError(f"cannot write to the output folder '{existing}'; choose another {option}")


def _suffixes(suffixes: str | Iterable[str] | None) -> tuple[str, ...]:
    if suffixes is None:
        return ()
    return (suffixes,) if isinstance(suffixes, str) else tuple(suffixes)


def check_output_path(
    output: str | os.PathLike,
    inputs: Iterable = (),
    suffixes: str | Iterable[str] | None = ".mp4",
    option: str = "the output",
) -> Path:
    """``output`` as a :class:`Path` once it is safe to write as a file; :class:`TalkheadInputError` otherwise.

    ``inputs`` are everything the command reads (paths; other values are ignored); ``suffixes`` the
    extensions the file may have (``None``: any); ``option`` names it in messages (``--json``).
    """
    if not str(output):
        raise TalkheadInputError(f"{option} is an empty path; give a file name")
    output = Path(output)
    expected = _suffixes(suffixes)
    _check_not_an_input(output, _existing_inputs(inputs), option)
    if output.is_dir():
        raise TalkheadInputError(
            f"{option} '{output}' is a folder; give a file name" + (f" ending in {expected[0]}" if expected else "")
        )
    if expected and output.suffix.lower() not in expected:
        raise TalkheadInputError(
            f"{option} must be a {' or '.join(expected)} file, got '{output}'"
            + (f" (a {output.suffix} extension)" if output.suffix else " (no extension)")
        )
    _check_writable_folder(output.parent, option)
    return output


def check_output_folder(
    output: str | os.PathLike, inputs: Iterable = (), option: str = "output", overwrite: bool = False
) -> Path:
    """``output`` as a :class:`Path` once it is safe to (re)create as a folder (a dataset).

    It may not be an input nor hold one (replacing it would delete the input: pass the files found in
    input folders too, as :func:`talkhead.data.build.build_dataset` does), and an existing non-empty
    folder is replaced only with ``overwrite``. It may lie inside an input folder.
    """
    if not str(output):
        raise TalkheadInputError(f"{option} is an empty path; give a folder")
    output = Path(output)
    sources = _existing_inputs(inputs)
    _check_not_an_input(output, sources, option, within_folders=False)
    for source in sources:
        if _inside(_real(source), _real(output)):
            raise TalkheadInputError(
                f"{option} '{output}' holds the input '{source}'; the output folder would replace "
                "it: give a folder that holds no input"
            )
    if output.exists() and not output.is_dir():
        raise TalkheadInputError(f"{option} '{output}' is a file; give a folder")
    if output.is_dir() and any(output.iterdir()) and not overwrite:
        raise TalkheadInputError(
            f"{option} '{output}' already exists and is not empty; use overwrite=True to replace it"
        )
    _check_writable_folder(output.parent, option)
    return output


class OutputGuard:
    """The outputs of one command, each checked when claimed, before the command does any work.

    ``inputs`` is everything the command reads. :meth:`claim` checks one output (and that no other
    output of the command is the same file) and returns its path, or ``None`` when it was not asked for.
    """

    def __init__(self, inputs: Iterable = ()):
        self.inputs = list(inputs)
        self._claimed: dict[str, str] = {}  # resolved path -> option

    def claim(
        self,
        path: str | os.PathLike | None,
        option: str,
        suffixes: str | Iterable[str] | None = None,
        *,
        folder: bool = False,
        overwrite: bool = False,
    ) -> Path | None:
        if path is None:
            return None
        if folder:
            checked = check_output_folder(path, self.inputs, option, overwrite)
        else:
            checked = check_output_path(path, self.inputs, suffixes, option)
        resolved = _real(checked)
        if resolved in self._claimed:
            raise TalkheadInputError(
                f"{option} '{checked}' is the same file as {self._claimed[resolved]}; give each output its own name"
            )
        self._claimed[resolved] = option
        return checked
