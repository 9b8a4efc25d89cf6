"""Checks on the files a user names as inputs, before anything opens them: one message for each way a path can fail
to be a readable file.

Opening a named pipe (FIFO) for reading waits for a writer, so an empty one would hang the run for good; a link
that leads back to itself fails with ELOOP, which reads as "no such file" unless it is told apart.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ..errors import MediaDecodeError, TalkheadInputError

_SPECIAL_FILES = (
    (stat.S_ISFIFO, "named pipe (FIFO)"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "device"),
    (stat.S_ISBLK, "device"),
)


def check_input_file(path: str | os.PathLike, what: str = "file") -> Path:
    """``path`` as a :class:`~pathlib.Path` when it names a regular file (through any links); otherwise the error
    that says why not, naming ``path`` and calling it ``what`` ("audio file", "image", ...).

    Raises:
        FileNotFoundError: nothing is there, or a link points at nothing.
        MediaDecodeError: a folder.
        TalkheadInputError: a link loop, a named pipe, socket or device, or a file that cannot be looked at.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError as err:
        raise _stat_error(path, what, err) from None
    if stat.S_ISDIR(mode):
        raise MediaDecodeError(f"'{path}' is a folder, not {_a(what)}")
    for test, kind in _SPECIAL_FILES:
        if test(mode):
            raise TalkheadInputError(
                f"'{path}' is a {kind}, not {_a(what)}: talkhead reads whole files, so save the stream to a file first"
            )
    return path


def _a(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _stat_error(path: Path, what: str, err: OSError) -> Exception:
    if err.errno == errno.ELOOP:
        return TalkheadInputError(
            f"'{path}' is a symbolic link that leads back to itself (a loop); point it at the {what}"
        )
    if err.errno in (errno.ENOENT, errno.ENOTDIR):
        if path.is_symlink():
            return FileNotFoundError(f"'{path}' is a link to '{os.readlink(path)}', which does not exist")
        return FileNotFoundError(f"no such {what}: '{path}'")
    return TalkheadInputError(f"cannot read '{path}': {err.strerror or err}")
