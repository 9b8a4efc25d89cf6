"""Work beside work: batches rendered in threads come back in order; frames read ahead come in order, carry the
producer's error to the caller and stop when the caller stops."""

import threading
import time

import pytest

from talkhead.pipelines.concurrency import read_ahead, render_in_order


def test_render_in_order_keeps_the_order_whatever_finishes_first():
    def render(n):
        time.sleep(0.02 * (5 - n % 5))  # later batches finish first
        return n * n

    assert list(render_in_order(render, range(12), threads=2)) == [n * n for n in range(12)]
    assert list(render_in_order(render, range(3), threads=1)) == [0, 1, 4]


def test_read_ahead_yields_everything_in_order_from_another_thread():
    seen_in = set()

    def items():
        for n in range(50):
            seen_in.add(threading.current_thread().name)
            yield n

    assert list(read_ahead(items(), depth=3)) == list(range(50))
    assert seen_in == {"talkhead-read-ahead"}


def test_read_ahead_raises_the_producers_error_where_the_caller_reads():
    def items():
        yield 1
        raise ValueError("broken frame 2 of in.mp4")

    reader = read_ahead(items())
    assert next(reader) == 1
    with pytest.raises(ValueError, match="broken frame 2"):
        next(reader)


def test_a_caller_that_stops_early_stops_and_closes_the_producer():
    closed = threading.Event()

    def items():
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    before = threading.active_count()
    for n in read_ahead(items(), depth=2):
        if n == 5:
            break
    assert closed.wait(2) and threading.active_count() == before
