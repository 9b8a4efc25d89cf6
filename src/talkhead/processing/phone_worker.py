"""Phone decoding in worker processes, beside the video work and on every core.

pocketsphinx holds the GIL while it decodes: measured here, a Python thread spinning beside a 12 s word decode got
0.4 % of the turns it gets alone, so a thread cannot overlap the decoding with face tracking; a process can. Up to
``WORKERS`` workers per Python process (``python -m talkhead.processing.phone_worker``, fresh interpreters: nothing
of the caller's script is run again, nothing is forked from a process with threads) answer the requests in order,
over their stdin and stdout; a thread of the caller's starts each and feeds it. Word phones are decoded in pieces
(:func:`~talkhead.processing.phones.speech_chunks`), which are independent: the pieces go to the workers in turn and
are joined as :func:`~talkhead.processing.phones.decode_phones` joins them, so the answer is the same as in the
caller (pure: the decoders are re-initialised before every pass), in a fraction of the time. Where no process can
be started, or a worker dies, the phones are decoded in the caller instead.

Requests and replies are :mod:`~talkhead.processing.worker_messages` (JSON and float32 bytes), never pickles; what
a worker may run is :mod:`~talkhead.processing.phone_tasks`. A caller waits at most :func:`wait_seconds` for its
phones; a worker that has not answered by then is killed and the caller gets :class:`PhoneWorkerTimeout`, not the
phones decoded here: a worker that late is stopped or stuck on this audio, and decoding it in the caller would wait
as long again, or for ever, with no way to interrupt the decoder.
A worker dies with its caller, in the middle of a decode too, and says nothing (:func:`_die_with`).
"""

from __future__ import annotations

import atexit
import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, wait
from contextlib import suppress
from pathlib import Path

import numpy as np

from ..errors import TalkheadInputError
from ..io.audio import SAMPLE_RATE
from .heard import HeardPiece, HeardSpeech, heard_speech
from .phone_tasks import TASKS, PhoneTask
from .phones import (
    DEFAULT_LANGUAGE,
    PHONE_LOOP_DECODER,
    check_language,
    decode_phones,
    join_word_chunks,
    segments_to_frames,
    speech_chunks,
    word_confidence_floor,
)
from .worker_messages import read_message, write_message

IN_PROCESS = os.environ.get("TALKHEAD_PHONES_IN_PROCESS", "1") != "0"  # 0: decode in the caller
WORKERS = max(1, min(2, os.cpu_count() or 1))  # word pieces decode on every core
TIMEOUT_VARIABLE = "TALKHEAD_PHONE_TIMEOUT"  # the floor of the wait, in seconds
TIMEOUT_FLOOR_SECONDS = 60.0  # a fresh worker starts in about 3 s here; other callers' requests may be queued first
TIMEOUT_PER_AUDIO_SECOND = 5.0  # word phones decode at about half real time on a core here: ten times slower is late
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class PhoneWorkerTimeout(TalkheadInputError):
    """A phone worker did not answer in time; it was killed, and the next request starts a new one."""


def wait_seconds(audio_seconds: float) -> float:
    """How long a caller waits for the phones of ``audio_seconds`` of speech: the floor (the environment variable
    ``TALKHEAD_PHONE_TIMEOUT``, default 60 s) plus 5 s per second of speech."""
    text = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    try:
        floor = float(text) if text else TIMEOUT_FLOOR_SECONDS
    except ValueError:
        floor = float("nan")
    if not 0 < floor < float("inf"):
        raise TalkheadInputError(
            f"{TIMEOUT_VARIABLE}={text!r} is not a number of seconds above 0; set it to one "
            f"(default {TIMEOUT_FLOOR_SECONDS:g}) or unset it"
        )
    return floor + TIMEOUT_PER_AUDIO_SECOND * audio_seconds


class _Reply(Future):
    """The answer to one request, and the worker that owes it (killed when it is late)."""

    def __init__(self, worker: _Worker):
        super().__init__()
        self.worker = worker


class _Worker:
    """A worker process, and the thread that starts it and hands it one request at a time.

    The thread starts the process because on Linux the worker dies when the thread that started it ends
    (:func:`_die_with`): this thread lives exactly as long as the worker is in use, whichever caller thread
    asked first."""

    def __init__(self):
        self.requests: queue.Queue = queue.Queue()
        self.lock = threading.Lock()  # closing and queueing a request are one or the other
        self.closed = False
        self.process: subprocess.Popen | None = None
        self.start_error: OSError | None = None
        started = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(started,), name="talkhead-phones", daemon=True)
        self.thread.start()
        started.wait()
        if self.process is None:
            assert self.start_error is not None  # _serve sets the process or the error before it sets started
            raise self.start_error

    def running(self) -> bool:
        assert self.process is not None  # __init__ raised if it could not start one
        return not self.closed and self.process.poll() is None

    def submit(self, request: tuple | None) -> _Reply:
        """Queue ``(task, arguments)`` (``None``: are you up); a closed worker's reply fails at once."""
        reply = _Reply(self)
        with self.lock:
            if self.closed:
                reply.set_exception(BrokenPipeError("the phone worker was stopped"))
            else:
                self.requests.put((request, reply))
        return reply

    def close(self) -> None:
        """Kill the process and reap it, end the thread (the requests still queued fail), close the pipes."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            self.requests.put(None)
        if self.process is not None:
            self.process.kill()  # SIGKILL ends a stopped (SIGSTOP) process too
            self.process.wait()
        self.thread.join()  # never long: the process is gone, so every read and write of its pipes fails now
        if self.process is not None:
            for pipe in (self.process.stdin, self.process.stdout):
                if pipe is None:  # never: _start opens both pipes
                    continue
                with suppress(OSError):  # bytes left unwritten in a closed pipe
                    pipe.close()

    def _start(self) -> subprocess.Popen:
        package_root = str(Path(__file__).resolve().parents[2])  # talkhead importable even when not installed
        path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        return subprocess.Popen(
            [sys.executable, "-m", __name__, str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
            start_new_session=True,
        )  # Ctrl-C stops the caller, which ends the worker

    def _serve(self, started: threading.Event) -> None:
        try:
            self.process = self._start()
        except OSError as err:
            self.start_error = err
            return
        finally:
            started.set()
        while (item := self.requests.get()) is not None:
            request, reply = item
            try:
                answer = self._exchange(request)
            except Exception as err:  # noqa: BLE001  the caller decides; this thread must go on to the next one
                reply.set_exception(err)  # OSError, EOFError: the worker died, and callers decode themselves
            else:
                reply.set_result(answer)

    def _exchange(self, request: tuple | None):
        process = self.process  # started by _serve before any request, with both pipes (_start)
        assert process is not None and process.stdin is not None and process.stdout is not None
        if request is None:
            write_message(process.stdin, {"task": None})
            read_message(process.stdout)
            return True
        task, (audio, *rest) = request
        write_message(process.stdin, {"task": task, "arguments": rest}, [audio])
        return TASKS[task].reply_from_message(*read_message(process.stdout))


_lock = threading.Lock()
_workers: list[_Worker | None] = [None] * WORKERS
_turn = 0


def _the_worker(index: int | None = None) -> _Worker:
    """Worker ``index`` (by default the next in turn), started if it is not running (a dead one is closed)."""
    global _turn
    with _lock:
        if index is None:
            index, _turn = _turn % WORKERS, _turn + 1
        worker = _workers[index]
        if worker is None or not worker.running():
            if worker is not None:
                worker.close()
            worker = _workers[index] = _Worker()
        return worker


@atexit.register
def _close_all() -> None:
    for worker in _workers:
        if worker is not None:
            worker.close()


def warm_up(block: bool = False) -> None:
    """Start the workers now (a fresh interpreter importing the decoders, about 3 s here), so that the first dub
    does not wait for them; the loaders call this while they load the models. ``block``: return once they answer
    (at most the timeout floor of :func:`wait_seconds`), for callers that must not fall behind later."""
    if IN_PROCESS:
        try:
            replies = [_the_worker(index).submit(None) for index in range(WORKERS)]
        except OSError:
            return
        if block:
            wait(replies, timeout=wait_seconds(0.0))


def _submit(task: str, *arguments) -> _Reply | None:
    """``TASKS[task].run(*arguments)`` in the next worker, or ``None`` where no worker can run (then the caller
    does)."""
    if not IN_PROCESS:
        return None
    try:
        return _the_worker().submit((task, arguments))
    except OSError:  # no process could be started here
        return None


def start_phone_loop(wave: np.ndarray) -> Future | None:
    """The phone loop's segments of ``wave`` (:func:`~talkhead.processing.phones.decode_phones` with the phone
    loop, one pass), decoded in the next worker: a future of them, or ``None`` where no worker can run (then the
    caller decodes). A future whose worker died raises ``OSError``, ``EOFError`` or ``ValueError``."""
    return _submit("decode_phones", np.ascontiguousarray(wave, np.float32), PHONE_LOOP_DECODER, DEFAULT_LANGUAGE)


class PendingPhones:
    """Phone features being decoded in the workers; :meth:`result` waits for them (or decodes them here), and
    :meth:`result_and_heard` also says what was heard in the speech.

    ``futures``: one per request sent (the pieces of word phones, or the whole speech), ``None`` for a request no
    worker took."""

    def __init__(self, wave: np.ndarray, num_frames: int, fps: float, decoder: str, language: str):
        language = check_language(language)
        self.arguments = (wave, int(num_frames), float(fps), decoder, language)  # plain numbers: they go as JSON
        floor = word_confidence_floor(decoder, language) if len(wave) else None
        self.floor = None if floor is None else float(floor)
        self.requests: list[tuple[str, tuple]]  # (task, its arguments)
        if self.floor is None:
            self.requests = [("decode_phones", (wave, decoder, language))]
        else:
            self.chunks = speech_chunks(wave)
            self.requests = [("word_chunk_phones", (wave[start:stop], self.floor)) for start, stop in self.chunks]
        self.futures = [_submit(task, *arguments) for task, arguments in self.requests]

    def in_workers(self) -> bool:
        return all(future is not None for future in self.futures)

    def done(self) -> bool:
        return all(future is None or future.done() for future in self.futures)

    def result(self, num_frames: int, timeout: float | None = None) -> np.ndarray:
        """The first ``num_frames`` rows (a frame's phones do not depend on how many frames follow it).

        Waits at most ``timeout`` seconds for the workers (default: :func:`wait_seconds` of the speech's length),
        then kills the worker that is late and raises :class:`PhoneWorkerTimeout`."""
        return self.result_and_heard(num_frames, timeout)[0]

    def result_and_heard(self, num_frames: int, timeout: float | None = None) -> tuple[np.ndarray, HeardSpeech]:
        """(:meth:`result`, what was heard in the speech: :class:`~talkhead.processing.heard.HeardSpeech`)."""
        wave, frames, fps, decoder, language = self.arguments
        seconds = len(wave) / SAMPLE_RATE
        timeout = wait_seconds(seconds) if timeout is None else timeout
        deadline = time.monotonic() + timeout
        answers = [
            self._answer(future, task, arguments, deadline, seconds)
            for future, (task, arguments) in zip(self.futures, self.requests, strict=True)
        ]
        pieces: tuple[HeardPiece, ...] = ()
        if self.floor is None:
            segments = answers[0]
        else:
            segments, pieces = join_word_chunks(self.chunks, answers)
            # no word heard anywhere: the phone loop over the whole speech, as decode_phones does
            segments = segments or decode_phones(wave, PHONE_LOOP_DECODER)
        heard = heard_speech(language, decoder, segments, pieces, self.floor)
        return segments_to_frames(segments, frames, fps)[:num_frames], heard

    @staticmethod
    def _answer(future: _Reply | None, task: str, arguments: tuple, deadline: float, seconds: float):
        """The worker's answer by ``deadline``, or the caller's own when there was no worker or it died."""
        if future is not None:
            if not wait([future], timeout=max(0.0, deadline - time.monotonic())).done:
                future.worker.close()
                raise PhoneWorkerTimeout(
                    f"phone decoding of {seconds:.2f} s of speech got no answer from its worker process in time (it "
                    f"was stopped, or is stuck on this audio), so the worker was killed; try again, allow more time "
                    f"with {TIMEOUT_VARIABLE}=SECONDS (the wait: that many seconds, default {TIMEOUT_FLOOR_SECONDS:g}, "
                    f"plus {TIMEOUT_PER_AUDIO_SECOND:g} s per second of speech), or decode in this process with "
                    "TALKHEAD_PHONES_IN_PROCESS=0"
                )
            try:
                return future.result()
            except (OSError, EOFError, ValueError):  # the worker died: decode here
                pass
        return TASKS[task].run(*arguments)


def start_phone_features(
    wave: np.ndarray, num_frames: int, fps: float, decoder: str = PHONE_LOOP_DECODER, language: str = DEFAULT_LANGUAGE
) -> PendingPhones:
    """Start decoding the phone features of ``wave`` for ``num_frames`` frames at ``fps`` (see
    :func:`~talkhead.processing.phones.phone_features`); ``.result(n)`` returns them."""
    return PendingPhones(np.ascontiguousarray(wave, np.float32), num_frames, fps, decoder, language)


def _die_with(parent: int) -> None:
    """End this worker, silently, as soon as ``parent`` (the caller) ends, in the middle of a decode too.

    On Linux the kernel sends SIGKILL when the thread that started the worker ends (PR_SET_PDEATHSIG; that thread
    lives as long as the caller uses the worker). Elsewhere a thread checks twice a second whether the worker has
    a new parent; it runs whenever the decoder gives up the GIL, and a reply the dead caller can no longer read
    ends the worker too (:func:`_serve_forever`)."""
    if sys.platform.startswith("linux"):
        try:
            armed = ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
        if armed:
            if os.getppid() != parent:  # the caller died before the signal was armed
                os._exit(0)
            return
    threading.Thread(target=_exit_when_orphaned, args=(parent,), name="talkhead-orphan-check", daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _parse_request(fields, arrays: list[np.ndarray]) -> tuple[PhoneTask | None, tuple]:
    """The task and its arguments of one request (``None``: are you up); ``ValueError`` for one talkhead never
    sends."""
    if not isinstance(fields, dict) or "task" not in fields:
        raise ValueError("a request without a task")
    if fields["task"] is None:
        return None, ()
    task, rest = TASKS.get(fields["task"]), fields.get("arguments")
    if task is None or not isinstance(rest, list) or len(arrays) != 1:
        raise ValueError(f"an unknown request {fields['task']!r}")
    return task, (arrays[0], *rest)


def _serve_forever() -> None:
    """The worker's loop: a request from stdin, its reply to stdout, until stdin ends (the caller is gone)."""
    _die_with(int(sys.argv[1]) if len(sys.argv) > 1 else os.getppid())
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into the replies
    requests = sys.stdin.buffer
    while True:
        try:
            task, arguments = _parse_request(*read_message(requests))
        except EOFError:  # the caller is gone
            return
        except ValueError as err:
            print(
                f"talkhead phone worker: stopping at what is not a request from talkhead on stdin: {err}",
                file=sys.stderr,
            )
            sys.exit(2)
        reply = ({"ready": True}, []) if task is None else task.reply_to_message(task.run(*arguments))
        try:
            write_message(replies, *reply)
        except BrokenPipeError:  # the caller is gone: no traceback into its terminal
            os._exit(0)


if __name__ == "__main__":
    _serve_forever()
