"""One instance per thread of the native objects that are not safe to share: the one convention for them.

dlib's HOG detector (``scan_fhog_pyramid`` keeps scratch buffers) and pocketsphinx's decoders (search and
front-end state) break when two threads call one object at once: wrong boxes, another thread's phones,
``KeyError: 'Unable to set search None'``. They are also slow to load (up to a second), so
making one per call is no answer either. :func:`per_thread` makes a zero-argument factory return the same
object every time within a thread and a separate one in each thread, so pipelines can be shared between
threads (a web server's workers, a thread pool) without a lock serialising them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def per_thread(factory: Callable[[], T]) -> Callable[[], T]:
    """``factory()`` made once per thread: each thread gets, and keeps, an object of its own."""
    local = threading.local()

    @functools.wraps(factory)
    def get() -> T:
        try:
            return local.instance
        except AttributeError:
            local.instance = factory()
            return local.instance

    return get
