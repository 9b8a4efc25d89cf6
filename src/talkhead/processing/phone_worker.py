"""Phone decoding in worker processes, beside the video work and on every core (issue #25).

pocketsphinx holds the GIL while it decodes: measured here, a Python thread spinning beside a 12 s word decode got
0.4 % of the turns it gets alone, so a thread cannot overlap the decoding with face tracking; a process can. Up to
``WORKERS`` workers per Python process (``python -m talkhead.processing.phone_worker``, fresh interpreters: nothing
of the caller's script is run again, nothing is forked from a process with threads) answer the requests in order,
over their stdin and stdout; a thread of the caller's feeds each. Word phones are decoded in pieces
(:func:`~talkhead.processing.phones.speech_chunks`), which are independent: the pieces go to the workers in turn and
are joined as :func:`~talkhead.processing.phones.decode_phones` joins them, so the answer is the same as in the
caller (pure: the decoders are re-initialised before every pass), in a fraction of the time. Where no process can
be started, or a worker dies, the phones are decoded in the caller instead.
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

from .phones import (
    DEFAULT_LANGUAGE,
    LEGACY_PHONE_DECODER,
    check_language,
    join_word_chunks,
    phone_features,
    segments_to_frames,
    speech_chunks,
    word_chunk_phones,
    word_confidence_floor,
)

IN_PROCESS = os.environ.get("TALKHEAD_PHONES_IN_PROCESS", "1") != "0"  # 0: decode in the caller, as before #25
WORKERS = max(1, min(2, os.cpu_count() or 1))  # word pieces decode on every core
#: what a worker may be asked to run, by name
TASKS = {"phone_features": phone_features, "word_chunk_phones": word_chunk_phones}


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
_workers: list[_Worker | None] = [None] * WORKERS
_turn = 0


def _the_worker(index: int | None = None) -> _Worker:
    """Worker ``index`` (by default the next in turn), started if it is not running."""
    global _turn
    with _lock:
        if index is None:
            index, _turn = _turn % WORKERS, _turn + 1
        worker = _workers[index]
        if worker is None or worker.process.poll() is not None:
            worker = _workers[index] = _Worker()
            atexit.register(worker.close)
        return worker


def warm_up() -> None:
    """Start the workers now, without waiting for them (a fresh interpreter importing the decoders, about 3 s here),
    so that the first dub does not wait for them; the loaders call this while they load the models."""
    if IN_PROCESS:
        try:
            for index in range(WORKERS):
                _the_worker(index).submit(None)
        except OSError:
            pass


def _submit(task: str, *arguments) -> Future | None:
    """``TASKS[task](*arguments)`` in the next worker, or ``None`` where no worker can run (then the caller does)."""
    if not IN_PROCESS:
        return None
    try:
        return _the_worker().submit((task, arguments))
    except OSError:  # no process could be started here
        return None


def _answer(future: Future | None, task: str, *arguments):
    """The worker's answer, or the caller's own when there was no worker or it died."""
    if future is not None:
        try:
            return future.result()
        except (OSError, EOFError, pickle.UnpicklingError):
            pass
    return TASKS[task](*arguments)


class PendingPhones:
    """Phone features being decoded in the workers; :meth:`result` waits for them (or decodes them here).

    ``futures``: one per request sent (the pieces of word phones, or the whole speech), ``None`` for a request no
    worker took."""

    def __init__(self, wave: np.ndarray, num_frames: int, fps: float, decoder: str, language: str):
        self.arguments = (wave, num_frames, fps, decoder, language)
        self.floor = word_confidence_floor(decoder, check_language(language)) if len(wave) else None
        if self.floor is None:
            self.requests = [("phone_features", self.arguments)]
        else:
            self.chunks = speech_chunks(wave)
            self.requests = [("word_chunk_phones", (wave[start:stop], self.floor)) for start, stop in self.chunks]
        self.futures = [_submit(task, *arguments) for task, arguments in self.requests]

    def in_workers(self) -> bool:
        return all(future is not None for future in self.futures)

    def done(self) -> bool:
        return all(future is None or future.done() for future in self.futures)

    def result(self, num_frames: int) -> np.ndarray:
        """The first ``num_frames`` rows (a frame's phones do not depend on how many frames follow it)."""
        answers = [_answer(f, task, *arguments) for f, (task, arguments) in zip(self.futures, self.requests,
                                                                                 strict=True)]
        if self.floor is None:
            return answers[0][:num_frames]
        wave, frames, fps = self.arguments[:3]
        segments = join_word_chunks(self.chunks, answers)
        # no word heard anywhere: the phone loop over the whole speech, as decode_phones does
        features = segments_to_frames(segments, frames, fps) if segments else phone_features(
            wave, frames, fps, LEGACY_PHONE_DECODER)
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
        if arguments is None:
            reply = True
        else:
            task, values = arguments
            reply = TASKS[task](*values)
        pickle.dump(reply, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()


if __name__ == "__main__":
    _serve_forever()
