"""Messages over a worker process's pipes: a JSON header and raw float32 arrays, a format that cannot run code.

A message is ``MAGIC``, the header's length (4 bytes, big-endian), the header (UTF-8 JSON,
``{"fields": <any JSON>, "shapes": [<shape of each array>, ...]}``), then each array's bytes (little-endian
float32, C order). Why not pickle: unpickling calls whatever the bytes name, so a process that unpickles its pipe
runs the code of anyone who can write to it; this format is read with ``json`` and ``numpy.frombuffer`` alone.
"""

from __future__ import annotations

import json
import struct

import numpy as np

MAGIC = b"THW1"
MAX_HEADER_BYTES = 1 << 24  # a header lists a few numbers and names; more means these are not our bytes
FLOAT32 = np.dtype("<f4")


def write_message(stream, fields, arrays=()) -> None:
    """Write ``fields`` (JSON-serialisable) and the float32 ``arrays`` to the binary ``stream``, then flush it."""
    arrays = [np.ascontiguousarray(array) for array in arrays]
    for array in arrays:
        if array.dtype != np.float32:  # converting here would change the values silently
            raise TypeError(f"worker messages carry float32 arrays, got {array.dtype}")
    header = json.dumps({"fields": fields, "shapes": [list(array.shape) for array in arrays]}).encode()
    stream.write(MAGIC + struct.pack(">I", len(header)) + header)
    for array in arrays:
        stream.write(array.astype(FLOAT32, copy=False).tobytes())
    stream.flush()


def read_message(stream) -> tuple[object, list[np.ndarray]]:
    """``(fields, arrays)`` of the next message of the binary ``stream``. ``EOFError`` where the stream ends (also
    within a message: the writer died); ``ValueError`` for bytes that are not such a message."""
    start = _read_exactly(stream, len(MAGIC) + 4)
    if start[: len(MAGIC)] != MAGIC:
        raise ValueError("not a talkhead worker message")
    (size,) = struct.unpack(">I", start[len(MAGIC) :])
    if size > MAX_HEADER_BYTES:
        raise ValueError(f"not a talkhead worker message (a {size}-byte header)")
    header = json.loads(_read_exactly(stream, size).decode())
    shapes = header.get("shapes") if isinstance(header, dict) else None
    if not isinstance(shapes, list) or not all(_is_shape(shape) for shape in shapes):
        raise ValueError("not a talkhead worker message (no list of array shapes)")
    arrays = []
    for shape in shapes:
        data = _read_exactly(stream, FLOAT32.itemsize * int(np.prod(shape)))
        arrays.append(np.frombuffer(data, FLOAT32).reshape(shape).astype(np.float32, copy=False))
    return header.get("fields"), arrays


def _is_shape(shape) -> bool:
    return isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)


def _read_exactly(stream, size: int) -> bytearray:
    """``size`` bytes of ``stream`` (writable, so arrays read from them are too); ``EOFError`` if it ends first."""
    data = bytearray(size)
    view, filled = memoryview(data), 0
    while filled < size:
        count = stream.readinto(view[filled:])
        if not count:
            raise EOFError(f"the worker's pipe ended {size - filled} bytes into a message")
        filled += count
    return data
