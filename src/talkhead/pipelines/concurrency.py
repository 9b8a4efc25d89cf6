"""Work beside work: batches rendered in worker threads, frames decoded ahead in another.

OpenCV's remap and warps, NumPy's linear algebra, torch and PyAV's decoder and H.264 encoder release the GIL, so
while the caller's thread decodes the next batch and encodes the last one, two threads render
(:func:`render_in_order`), and a video is decoded in a thread of its own while the caller tracks faces or encodes
(:func:`read_ahead`). A frame's rendering depends only on its own inputs and the frames come in their order, so
the output does not depend on the number of threads (tested); what is in flight is bounded, which bounds the
memory.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

RENDER_THREADS = max(1, min(2, os.cpu_count() or 1))
T, R = TypeVar("T"), TypeVar("R")


def render_in_order(render: Callable[[T], R], batches: Iterable[T], threads: int | None = None) -> Iterator[R]:
    """``render(batch)`` of every batch, in order, computed ``threads`` at a time ahead of the caller (one thread:
    here, one after another). ``threads`` defaults to :data:`RENDER_THREADS`."""
    threads = RENDER_THREADS if threads is None else threads
    if threads <= 1:
        yield from (render(batch) for batch in batches)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="talkhead-render") as pool:
        pending: deque = deque()
        for batch in batches:
            pending.append(pool.submit(render, batch))
            if len(pending) > threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


_DONE = object()


def read_ahead(items: Iterable[T], depth: int = 8) -> Iterator[T]:
    """The items of ``items`` in order, produced by a thread of their own up to ``depth`` ahead of the caller
    (a video's decoder, which releases the GIL). An error in the producer is raised here, where the caller reads;
    a caller that stops early (break, error) stops the producer too."""
    ready: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = iter(items)
        try:
            for item in source:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except BaseException as error:  # handed to the caller's thread
            put((_DONE, error))
        finally:
            close = getattr(source, "close", None)
            if close is not None:  # a generator holding an open file closes it here, in the thread it ran in
                close()

    producer = threading.Thread(target=produce, name="talkhead-read-ahead", daemon=True)
    producer.start()
    try:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        producer.join()
