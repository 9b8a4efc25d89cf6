"""The order in which a video's frames are played to cover audio of any length (loop, bounce or trim)."""

from __future__ import annotations

from ...io.video import VideoReader

REVERSE_CHUNK = 24  # frames decoded at a time when playing backwards (bounce)


def source_order(num_source: int, num_output: int, policy: str) -> list[tuple[int, int, bool]]:
    """Runs ``(start, stop, reverse)`` of source frames that make up ``num_output`` output frames.

    Shorter output than source: the first ``num_output`` frames. Longer: replayed forwards (``loop``)
    or back and forth (``bounce``: 0..N-1, N-2..0, 1..N-1, ..., no frame held at a turn); ``trim``
    never asks for more than the source.
    """
    runs, total = [], 0
    while total < num_output:
        turn = len(runs)
        if policy == "bounce" and num_source > 1 and turn:
            start, stop, reverse = (0, num_source - 1, True) if turn % 2 else (1, num_source, False)
        else:
            start, stop, reverse = 0, num_source, False
        length = min(stop - start, num_output - total)
        runs.append((stop - length, stop, True) if reverse else (start, start + length, False))
        total += length
    return runs


def iterate_source(reader: VideoReader, runs: list[tuple[int, int, bool]]):
    """(source index, frame) along ``runs``; backward runs decode ``REVERSE_CHUNK`` frames at a time."""
    for start, stop, reverse in runs:
        if not reverse:
            yield from enumerate(reader.frames(start, stop), start)
            continue
        for chunk_stop in range(stop, start, -REVERSE_CHUNK):
            chunk_start = max(start, chunk_stop - REVERSE_CHUNK)
            chunk = list(reader.frames(chunk_start, chunk_stop))
            for offset in range(len(chunk) - 1, -1, -1):
                yield chunk_start + offset, chunk[offset]
