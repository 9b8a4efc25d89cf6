"""Phone workers never hang their caller, leak nothing when restarted, die with their caller, and never run code
that arrives on their pipes."""

from __future__ import annotations

import io
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path

import pytest

pytest.importorskip("pocketsphinx")
if not Path("/proc/self/fd").is_dir():
    pytest.skip("counts processes and descriptors in /proc", allow_module_level=True)

from talkhead.errors import TalkheadInputError  # noqa: E402
from talkhead.processing import phone_worker  # noqa: E402

from ..conftest import speech_like  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
WORKER_MODULE = "talkhead.processing.phone_worker"


def alive(pid: int) -> bool:
    """``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (OSError, IndexError):
        return False


def worker_pids(parent: int | None = None) -> list[int]:
    """The live phone workers whose parent is ``parent`` (default: this process)."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in Path("/proc").iterdir():
        with suppress(OSError, IndexError, ValueError):
            if not entry.name.isdigit() or WORKER_MODULE not in (entry / "cmdline").read_text():
                continue
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent and alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def decode_in_every_worker() -> None:
    """One small request per worker (they take turns), so every worker is running and has answered."""
    for _ in range(phone_worker.WORKERS):
        pending = phone_worker.start_phone_features(speech_like(0.3, seed=1), 8, 25.0, "allphone")
        assert pending.in_workers()
        pending.result(8)


def run_within(seconds: float, call):
    """``(what call returned or raised, seconds it took)``; fails the test if it still runs after ``seconds``."""
    outcome = {}

    def target():
        started = time.monotonic()
        try:
            outcome["value"] = call()
        except BaseException as err:  # noqa: BLE001  the test inspects it
            outcome["value"] = err
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still waiting for the phone worker after {seconds} s")
    return outcome["value"], outcome["seconds"]


def test_a_stopped_worker_is_an_error_within_the_timeout_then_replaced(monkeypatch):
    decode_in_every_worker()
    monkeypatch.setenv("TALKHEAD_PHONE_TIMEOUT", "1")  # the floor: the wait is 1 s + 5 x 0.5 s of speech
    stopped = worker_pids()
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        pending = phone_worker.start_phone_features(speech_like(0.5, seed=2), 12, 25.0, "allphone")
        error, seconds = run_within(15, lambda: pending.result(12))
    finally:
        for pid in stopped:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    assert isinstance(error, TalkheadInputError), error
    assert "0.50 s of speech" in str(error) and "TALKHEAD_PHONE_TIMEOUT" in str(error) and "\n" not in str(error)
    assert 3.4 <= seconds < 5.5
    assert sum(alive(pid) for pid in stopped) == len(stopped) - 1  # the one that did not answer was killed
    monkeypatch.delenv("TALKHEAD_PHONE_TIMEOUT")  # a fresh worker takes seconds to start
    decode_in_every_worker()  # and was replaced


def test_the_wait_grows_with_the_speech_from_a_floor_set_in_the_environment(monkeypatch):
    monkeypatch.delenv("TALKHEAD_PHONE_TIMEOUT", raising=False)
    assert phone_worker.wait_seconds(10.0) == 60.0 + 5 * 10.0
    monkeypatch.setenv("TALKHEAD_PHONE_TIMEOUT", "2")
    assert phone_worker.wait_seconds(0.5) == 4.5
    monkeypatch.setenv("TALKHEAD_PHONE_TIMEOUT", "soon")
    with pytest.raises(TalkheadInputError, match="TALKHEAD_PHONE_TIMEOUT='soon' is not a number of seconds"):
        phone_worker.wait_seconds(1.0)


def test_restarting_workers_leaks_no_descriptor_and_no_thread():
    counts = []
    for _ in range(3):
        killed = worker_pids()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        assert wait_until(lambda killed=killed: not any(alive(pid) for pid in killed), 5)
        decode_in_every_worker()  # every worker is restarted
        counts.append((len(os.listdir("/proc/self/fd")), threading.active_count()))
    assert counts[1:] == counts[:1] * 2, f"(descriptors, threads) after each restart: {counts}"


CALLER = """
import sys
sys.path.insert(0, sys.argv[1])
from talkhead.processing import phone_worker
from tests.conftest import speech_like
pending = phone_worker.start_phone_features(speech_like(20.0, seed=3), 500, 25.0, "words", "en")
print("decoding", flush=True)
pending.result(500)
"""


def test_workers_die_quietly_with_their_caller(tmp_path):
    stderr = tmp_path / "stderr.txt"
    with stderr.open("wb") as errors:
        caller = subprocess.Popen(
            [sys.executable, "-c", CALLER, str(ROOT)],
            stdout=subprocess.PIPE,
            stderr=errors,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
    workers = []
    try:
        assert caller.stdout.readline() == b"decoding\n"
        assert wait_until(lambda: len(worker_pids(caller.pid)) == phone_worker.WORKERS, 30)
        workers = worker_pids(caller.pid)
        time.sleep(1.5)  # the workers are inside the decoder now
        caller.kill()
        caller.wait()
        assert wait_until(lambda: not any(alive(pid) for pid in workers), 2), "workers outlived their caller"
        time.sleep(0.5)
        assert stderr.read_text() == ""
    finally:
        caller.kill()
        for pid in workers:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class _TouchWhenUnpickled:
    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def test_a_worker_never_unpickles_what_it_reads(tmp_path):
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(_TouchWhenUnpickled(marker))
    worker = subprocess.run([sys.executable, "-m", WORKER_MODULE], input=payload, capture_output=True, timeout=60)
    assert not marker.exists()
    assert worker.returncode != 0 and b"Traceback" not in worker.stderr


def test_the_caller_never_unpickles_a_reply(tmp_path):
    from talkhead.processing import worker_messages

    marker = tmp_path / "unpickled"
    with pytest.raises(ValueError, match="not a talkhead worker message"):
        worker_messages.read_message(io.BytesIO(pickle.dumps(_TouchWhenUnpickled(marker))))
    assert not marker.exists()
