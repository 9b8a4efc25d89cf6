"""Rendering beside encoding (issue #25): batches of frames rendered in worker threads, handed back in order.

OpenCV's remap and warps, NumPy's linear algebra, torch and PyAV's decoder and H.264 encoder release the GIL, so
while the caller's thread decodes the next batch and encodes the last one, two threads render. A frame's rendering
depends only on its own inputs, so the output does not depend on the number of threads (tested); at most
``threads + 1`` batches are in flight, which bounds the memory.
"""

from __future__ import annotations

import os
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
