"""Phone decoding in a second process, beside the video work (issue #25).

pocketsphinx holds the GIL while it decodes: measured here, a Python thread spinning beside a 12 s word decode got
0.4 % of the turns it gets alone, so a thread cannot overlap the decoding with face tracking; a process can. One
worker per Python process (``python -m talkhead.processing.phone_worker``, a fresh interpreter: nothing of the
caller's script is run again, nothing is forked from a process with threads) answers the requests in order, over
its stdin and stdout; a thread of the caller's feeds it. Its answers are those of
:func:`~talkhead.processing.phones.phone_features` in the caller (pure: the decoders are re-initialised before every
pass). Where no process can be started, or the worker dies, the phones are decoded in the caller instead.
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from .phones import DEFAULT_LANGUAGE, LEGACY_PHONE_DECODER, phone_features

IN_PROCESS = os.environ.get("TALKHEAD_PHONES_IN_PROCESS", "1") != "0"  # 0: decode in the caller, as before #25


class _Worker:
    """The worker process and the thread that hands it one request at a time."""

    def __init__(self):
        package_root = str(Path(__file__).resolve().parents[2])  # talkhead importable even when not installed
        path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        self.process = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": path},
                                        start_new_session=True)  # Ctrl-C stops the caller, which ends the worker
        self.requests: queue.Queue = queue.Queue()
        threading.Thread(target=self._serve, name="talkhead-phones", daemon=True).start()

    def submit(self, arguments: tuple | None) -> Future:
        future: Future = Future()
        self.requests.put((arguments, future))
        return future

    def _serve(self) -> None:
        while True:
            arguments, future = self.requests.get()
            try:
                pickle.dump(arguments, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                self.process.stdin.flush()
                future.set_result(pickle.load(self.process.stdout))
            except (OSError, EOFError, pickle.UnpicklingError) as err:  # the worker died: callers decode themselves
                future.set_exception(err)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


_lock = threading.Lock()
_worker: _Worker | None = None


def _the_worker() -> _Worker:
    global _worker
    with _lock:
        if _worker is None or _worker.process.poll() is not None:
            _worker = _Worker()
            atexit.register(_worker.close)
        return _worker


def warm_up() -> None:
    """Start the worker now, without waiting for it (a fresh interpreter importing the decoders, about 3 s here), so
    that the first dub does not wait for it; the loaders call this while they load the models."""
    if IN_PROCESS:
        try:
            _the_worker().submit(None)
        except OSError:
            pass


class PendingPhones:
    """Phone features being decoded in the worker; :meth:`result` waits for them (or decodes them here)."""

    def __init__(self, wave: np.ndarray, num_frames: int, fps: float, decoder: str, language: str):
        self.arguments = (wave, num_frames, fps, decoder, language)
        self.future = None
        if IN_PROCESS:
            try:
                self.future = _the_worker().submit(self.arguments)
            except OSError:  # no process could be started here: decode in the caller
                self.future = None

    def result(self, num_frames: int) -> np.ndarray:
        """The first ``num_frames`` rows (a frame's phones do not depend on how many frames follow it)."""
        features = None
        if self.future is not None:
            try:
                features = self.future.result()
            except (OSError, EOFError, pickle.UnpicklingError):
                features = None
        if features is None:
            features = phone_features(*self.arguments)
        return features[:num_frames]


def start_phone_features(wave: np.ndarray, num_frames: int, fps: float, decoder: str = LEGACY_PHONE_DECODER,
                         language: str = DEFAULT_LANGUAGE) -> PendingPhones:
    """Start decoding the phone features of ``wave`` for ``num_frames`` frames at ``fps`` (see
    :func:`~talkhead.processing.phones.phone_features`); ``.result(n)`` returns them."""
    return PendingPhones(np.ascontiguousarray(wave, np.float32), num_frames, fps, decoder, language)


def _serve_forever() -> None:
    """The worker's loop: a request (``None``: are you up) from stdin, its phone features to stdout."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into the replies
    requests = sys.stdin.buffer
    while True:
        try:
            arguments = pickle.load(requests)
        except EOFError:  # the caller is gone
            return
        reply = True if arguments is None else phone_features(*arguments)
        pickle.dump(reply, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()


if __name__ == "__main__":
    _serve_forever()
