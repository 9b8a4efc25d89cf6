"""Per-frame landmarks of a video file, at a fixed frame rate: one tracking convention for every video metric."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..processing.audio import VIDEO_FPS


@dataclass
class TrackedVideo:
    """Landmarks (T, 68, 2) in source pixels, NaN where no face was found (gaps of up to 2 frames filled)."""

    landmarks: np.ndarray
    found: np.ndarray  # (T,) bool, after gap filling
    fps: float

    @property
    def num_frames(self) -> int:
        return len(self.found)

    def mouth_opening(self) -> np.ndarray:
        """(T,) inner-lip opening over the inter-ocular distance (NaN without a face)."""
        from ..processing.mouth import inner_lip_opening

        return inner_lip_opening(self.landmarks)


def track_video(path: str | os.PathLike, fps: float = VIDEO_FPS, max_side: int | None = 640, frames=None) -> TrackedVideo:
    """Follow the largest face of ``path`` with dlib at ``fps`` (frames downscaled to ``max_side`` for tracking).

    ``frames`` may give already decoded frames instead (then ``path`` only names them).
    """
    from ..processing.faces import FaceTracker, fill_short_gaps
    from ..processing.video import VideoReader

    reader = None
    if frames is None:
        reader = VideoReader(path, fps=fps, max_side=max_side)
        frames = reader
    tracker = FaceTracker()
    points, found = [], []
    for frame in frames:
        landmarks = tracker.update(frame)
        found.append(landmarks is not None)
        points.append(landmarks if landmarks is not None else np.full((68, 2), np.nan, np.float32))
    if not points:
        return TrackedVideo(np.zeros((0, 68, 2), np.float32), np.zeros(0, bool), fps)
    scale = reader.scale if reader is not None else 1.0
    filled, valid = fill_short_gaps(np.stack(points) / scale, np.array(found))
    filled = np.where(valid[:, None, None], filled, np.nan).astype(np.float32)
    return TrackedVideo(filled, valid, fps)
