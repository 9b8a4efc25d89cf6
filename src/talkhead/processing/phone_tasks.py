"""What a phone worker (:mod:`talkhead.processing.phone_worker`) may be asked to run, and its replies as messages.

Requests and replies cross the pipe as :mod:`~talkhead.processing.worker_messages` (JSON fields and float32 arrays),
never pickles: each task says how its reply becomes a message and back. JSON writes a float as the shortest text that
reads back as the same float, so phone times come back bit for bit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from .heard import HeardPiece
from .phones import PhoneSegment, decode_phones, word_chunk_phones


@dataclass(frozen=True)
class PhoneTask:
    """What a worker may run: the function (its first argument is the audio, sent as an array) and its reply's
    conversion to and from a message (JSON fields, float32 arrays)."""

    run: Callable
    reply_to_message: Callable
    reply_from_message: Callable


def _segments_to_message(segments) -> tuple[dict, list]:
    return {"segments": [[s.phone, s.start, s.end] for s in segments]}, []


def _segments_from_message(fields: dict, arrays: list) -> list[PhoneSegment]:
    return [PhoneSegment(*segment) for segment in fields["segments"]]


def _chunk_to_message(reply) -> tuple[dict, list]:
    segments, piece = reply
    return {**_segments_to_message(segments)[0], "piece": dataclasses.asdict(piece)}, []


def _chunk_from_message(fields: dict, arrays: list):
    return _segments_from_message(fields, arrays), HeardPiece(**fields["piece"])


#: what a worker may be asked to run, by name
TASKS = {
    "decode_phones": PhoneTask(decode_phones, _segments_to_message, _segments_from_message),
    "word_chunk_phones": PhoneTask(word_chunk_phones, _chunk_to_message, _chunk_from_message),
}
