"""Which face to follow when a frame holds several: ``largest`` (the default), ``leftmost``, ``rightmost``, an index
counted from the left (``0`` is the leftmost), or a point ``X,Y`` in the video's pixels (the face whose box holds it,
else the nearest).

The choice is made where a track starts; :class:`~talkhead.processing.faces.FaceTracker` then follows that face
(its next detections are matched to the tracked box), and after a lost track it takes the face nearest where the
lost one was before asking this choice again, so one person is dubbed from the first frame to the last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import TalkheadInputError

FACE_CHOICES = ("largest", "leftmost", "rightmost")
_POINT = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*,\s*(\d+(?:\.\d*)?)\s*$")


@dataclass(frozen=True)
class FaceChoice:
    """A parsed ``--face`` value; ``scale`` maps the video's pixels to those of the frames boxes are found in."""

    rule: str = "largest"  # one of FACE_CHOICES, "index" or "point"
    index: int = 0
    point: tuple[float, float] = (0.0, 0.0)
    scale: float = 1.0

    @classmethod
    def parse(cls, text: str | int | None) -> FaceChoice:
        value = "largest" if text is None else str(text).strip().lower()
        if value in FACE_CHOICES:
            return cls(value)
        if value.isdigit():
            return cls("index", index=int(value))
        match = _POINT.match(value)
        if match:
            return cls("point", point=(float(match.group(1)), float(match.group(2))))
        raise TalkheadInputError(
            f"face must be one of {', '.join(FACE_CHOICES)}, an index from the left (0 is the "
            f"leftmost) or a point X,Y in the video's pixels; got {text!r}"
        )

    def at_scale(self, scale: float) -> FaceChoice:
        return FaceChoice(self.rule, self.index, self.point, scale)

    def __call__(self, boxes: np.ndarray) -> int:
        """The index into ``boxes`` (N, 4: x0, y0, x1, y1) of the face to follow."""
        boxes = np.asarray(boxes, np.float64)
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        if self.rule == "largest":
            return int(np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
        from_left = np.argsort(centres[:, 0], kind="stable")
        if self.rule == "leftmost":
            return int(from_left[0])
        if self.rule == "rightmost":
            return int(from_left[-1])
        if self.rule == "index":
            if self.index >= len(boxes):
                raise TalkheadInputError(
                    f"face {self.index} was asked for, but the frame where the track starts holds "
                    f"{len(boxes)} face(s), numbered from 0 on the left"
                )
            return int(from_left[self.index])
        point = np.asarray(self.point) * self.scale
        inside = np.flatnonzero((boxes[:, :2] <= point).all(1) & (point <= boxes[:, 2:]).all(1))
        candidates = inside if inside.size else np.arange(len(boxes))
        return int(candidates[np.argmin(np.linalg.norm(centres[candidates] - point, axis=1))])

    def describe(self, boxes: np.ndarray, chosen: int) -> str:
        """``face 2 of 3 from the left (x 410-520)`` in the video's pixels, for the notes of a run."""
        boxes = np.asarray(boxes, np.float64)
        order = list(np.argsort((boxes[:, 0] + boxes[:, 2]) / 2, kind="stable"))
        x0, _, x1, _ = boxes[chosen] / self.scale
        return f"face {order.index(chosen) + 1} of {len(boxes)} from the left (x {x0:.0f}-{x1:.0f})"
