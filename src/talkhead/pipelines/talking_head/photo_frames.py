"""The frames of a talking photo: each one the photo warped through its landmarks, its eyes
blinked and its opened mouth filled, rendered in worker threads while the caller encodes.

A frame depends only on its own landmarks and the photo, so batches of frames render independently, in worker
threads while the caller encodes (:func:`~talkhead.pipelines.concurrency.render_in_order`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...processing.landmarks import mouth_opening
from ...processing.mouth import INNER_LIP_PAIRS
from ..warp import thin_plate_map, thin_plate_region
from .blinks import close_eyes
from .mouth_interior import MouthInteriorRenderer, lips_apart, own_mouth_interior, paint_mouth_interior

WARP_POINTS = np.r_[0:60]  # all but the inner lips (they coincide on a closed mouth)
OPEN_WARP_POINTS = np.r_[0:68]  # a photo whose lips are apart: the inner lips steer the teeth and the gap too
OPEN_PHOTO_GAP = 0.05  # inner-lip gap over mouth width above which a photo's mouth counts as open


def warp_photo(photo: np.ndarray, start: np.ndarray, frame_points: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """The photo with its landmarks ``start`` moved to ``frame_points``."""
    height, width = photo.shape[:2]
    points = OPEN_WARP_POINTS if mouth_opening(start) > OPEN_PHOTO_GAP else WARP_POINTS
    target = np.concatenate([frame_points[points], anchors])
    source = np.concatenate([start[points], anchors])
    low, high = frame_points.min(0), frame_points.max(0)
    margin = 0.15 * (high - low).max()
    mapping = thin_plate_map(target, source, width, height, detail=np.concatenate([low - margin, high + margin]))
    return cv2.remap(photo, mapping, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def open_teeth(points: np.ndarray, photo_points: np.ndarray, least: float = 0.35) -> np.ndarray:
    """``points`` with the inner lips kept at least ``least`` of the photo's gap apart, for warping an open photo's
    teeth: a thin-plate spline through inner lips that meet folds (only the true polygon is pasted)."""
    points = np.array(points, np.float64, copy=True)
    for top, bottom in INNER_LIP_PAIRS:
        wanted = least * max(photo_points[bottom, 1] - photo_points[top, 1], 0.0)
        short = max(wanted - (points[bottom, 1] - points[top, 1]), 0.0)
        points[top, 1] -= short / 2
        points[bottom, 1] += short / 2
    return points


def inner_mouth_box(points: np.ndarray, shape: tuple) -> tuple[int, int, int, int] | None:
    """The box (x0, y0, x1, y1) around the inner lips that :func:`own_mouth_interior` pastes into, or None."""
    x0, y0 = np.floor(points[60:68].min(0) - 4).astype(int)
    x1, y1 = np.ceil(points[60:68].max(0) + 5).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])
    return None if x1 - x0 < 3 or y1 - y0 < 3 else (int(x0), int(y0), int(x1), int(y1))


@dataclass
class PhotoFrames:
    """Everything a frame of the talking photo is made from (read-only while rendering).

    Args:
        photo, start: the photo as it is warped (closed first when it was taken mid-word) and its 68 landmarks.
        points: (T, 68, 2) every frame's target landmarks; blinks: (T,) eyelid closure per frame.
        anchors: the fixed border points of the warp.
        open_photo: (the photo as given, its landmarks) when it was closed for the warp: its own teeth are warped
            into every frame's open mouth.
        interior: the mouth-interior generator's renderer (a closed photo's opened mouth), or None.
        paint: with no generator, shade the opened mouth of a closed photo.
    """

    photo: np.ndarray
    start: np.ndarray
    points: np.ndarray
    blinks: np.ndarray
    anchors: np.ndarray
    open_photo: tuple[np.ndarray, np.ndarray] | None = None
    interior: MouthInteriorRenderer | None = None
    paint: bool = False

    def render(self, indices: list[int]) -> list[np.ndarray]:
        frames = [
            close_eyes(warp_photo(self.photo, self.start, self.points[i], self.anchors), self.points[i], self.blinks[i])
            for i in indices
        ]
        if self.open_photo is not None:
            return [self.with_own_teeth(frame, self.points[i]) for frame, i in zip(frames, indices, strict=True)]
        if self.interior is not None:
            return self.interior(frames, self.points[indices], indices)
        if self.paint:
            return [paint_mouth_interior(f, self.points[i], self.start) for f, i in zip(frames, indices, strict=True)]
        return frames

    def with_own_teeth(self, frame: np.ndarray, points: np.ndarray) -> np.ndarray:
        """The open photo's teeth, warped to ``points``' mouth, inside its inner lips (lips that touch: nothing)."""
        box = inner_mouth_box(points, frame.shape) if lips_apart(points) else None
        if box is None:
            return frame
        opened, opened_points = self.open_photo
        target = open_teeth(points, opened_points)
        points_used = OPEN_WARP_POINTS if mouth_opening(opened_points) > OPEN_PHOTO_GAP else WARP_POINTS
        patch = thin_plate_region(
            opened,
            np.concatenate([target[points_used], self.anchors]),
            np.concatenate([opened_points[points_used], self.anchors]),
            box,
        )
        return own_mouth_interior(frame, points, patch, box)
