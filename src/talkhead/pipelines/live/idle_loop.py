"""The stretch of an avatar's video that plays over and over: chosen so that the loop point does not jump.

An avatar's frames play in a loop while it speaks and while it idles; only its mouth is redrawn. A loop from
frame ``start`` to ``stop`` plays ``stop - 1`` then ``start`` again, so it is seamless when frame ``start`` looks
like frame ``stop`` (the frame that would have come next) and frame ``start + 1`` like ``stop + 1`` (the same motion).
:func:`choose_loop` finds the pair with the smallest move of the head and eyes (landmarks 0-47, the mouth is redrawn
anyway) against the video's own frame-to-frame moves; when no pair is close, the loop plays forward and back (a
bounce), which never jumps but turns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ...processing.faces import valid_segments

STILL_POINTS = slice(0, 48)  # jaw, brows, nose, eyes: what must not jump at the loop point
SEAMLESS_STEPS = 1.5  # a loop point moving at most this many typical frame-to-frame moves is seamless


@dataclass(frozen=True)
class IdleLoop:
    """Frames ``start`` to ``stop`` (exclusive) of the source video, played forward (``bounce``: forward and back).
    ``jump``: the move at the loop point over the video's median frame-to-frame move (1: an ordinary frame step;
    0 for a bounce)."""

    start: int
    stop: int
    bounce: bool
    jump: float

    @property
    def length(self) -> int:
        return self.stop - self.start

    def order(self) -> np.ndarray:
        """Positions in the loop's own frames (0 to ``length`` - 1) for one period."""
        forward = np.arange(self.length)
        return np.concatenate([forward, forward[-2:0:-1]]) if self.bounce and self.length > 2 else forward

    def to_dict(self) -> dict:
        return asdict(self)


def _moves(landmarks: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean distance of the still points between frames ``a`` and ``b``, in inter-ocular distances."""
    eyes = np.linalg.norm(landmarks[:, 36:42].mean(1) - landmarks[:, 42:48].mean(1), axis=-1)
    still = landmarks[:, STILL_POINTS]
    return np.linalg.norm(still[a] - still[b], axis=-1).mean(-1) / np.maximum(eyes[a], 1e-6)


def choose_loop(landmarks: np.ndarray, valid: np.ndarray, min_frames: int, max_frames: int) -> IdleLoop:
    """The :class:`IdleLoop` of a tracked video: ``landmarks`` (T, 68, 2) image pixels, ``valid`` (T,) frames with a
    face; the loop lies inside one run of faces and is ``min_frames`` to ``max_frames`` long (shorter only when the
    longest run is)."""
    runs = [(a, b) for a, b in valid_segments(np.asarray(valid, bool))]
    if not runs:
        raise ValueError("choose_loop needs frames with a face")
    first, last = max(runs, key=lambda run: run[1] - run[0])
    steps = _moves(landmarks, np.arange(first, last - 1), np.arange(first + 1, last))
    typical = max(float(np.median(steps)) if len(steps) else 0.0, 1e-6)
    shortest, longest = min(min_frames, last - first), min(max_frames, last - first)
    best = (np.inf, first, first + longest)
    for length in range(max(shortest, 2), longest + 1):
        starts = np.arange(first, last - length - 1)  # the two frames after the loop must exist
        if not len(starts):
            continue
        # where and how fast: a sway passes the same place going both ways, and looping there would reverse it
        jumps = (_moves(landmarks, starts, starts + length) + _moves(landmarks, starts + 1, starts + length + 1)) / 2
        at = int(np.argmin(jumps))
        if jumps[at] <= best[0]:  # ties go to the longer loop
            best = (float(jumps[at]), int(starts[at]), int(starts[at]) + length)
    jump, start, stop = best
    if jump / typical <= SEAMLESS_STEPS:
        return IdleLoop(start, stop, False, round(jump / typical, 3))
    motion = np.concatenate([[0.0], np.cumsum(steps)])  # the stillest stretch of the longest length bounces
    starts = np.arange(0, len(motion) - longest + 1)
    calm = int(np.argmin(motion[starts + longest - 1] - motion[starts]))
    return IdleLoop(first + calm, first + calm + longest, True, 0.0)
