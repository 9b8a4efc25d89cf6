"""Give freed video frames back to the operating system (glibc only; elsewhere a no-op).

glibc's malloc serves a request above its mmap threshold from a fresh mapping, which ``free`` returns at once; but
the threshold is dynamic: after the first large block is freed it rises to that block's size (up to 32 MB), and
every later 4K frame (25 MB) comes from the heap, where freed blocks stay in the process, one heap per decoding or
encoding thread. A 60 s 4K dub peaked at 3.8 GB that way, 1.5 GB of it in freed frames (issue #24). Fixing the
threshold at 1 MB keeps large buffers in mappings, so memory follows what is in use.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
LARGE_BUFFER_BYTES = 1 << 20


@functools.lru_cache(maxsize=1)
def return_large_buffers_to_the_os() -> bool:
    """Fix glibc's mmap threshold at :data:`LARGE_BUFFER_BYTES` for this process, once; ``True`` where it was set."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return False
    return bool(mallopt and mallopt(M_MMAP_THRESHOLD, LARGE_BUFFER_BYTES))
