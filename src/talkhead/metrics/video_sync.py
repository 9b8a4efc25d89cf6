"""Sync scores of whole videos: track the face, crop it as the datasets do, score it with a sync expert.

The LSE-style protocol of the stabilized-sync paper (spec §5.5, §6.9) with our own expert
(``hub_configs/syncnet-eval``, a Wav2Lip-style SyncNet trained here) in place of the Oxford SyncNet:
face crops are the 96x96 boxes of :func:`talkhead.processing.faces.face_crop_boxes` (smoothed), audio
is the 80-band mel, and the offset search is :func:`talkhead.metrics.sync.offset_search`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import NoFaceError


@dataclass
class TrackedFaces:
    """96x96 face crops of a frame sequence and where they came from."""

    crops: np.ndarray  # (T, 96, 96, 3) uint8; frames without a face hold the nearest face's box
    landmarks: np.ndarray  # (T, 68, 2) frame pixels, gaps interpolated
    found: np.ndarray  # (T,) bool, the tracker's detections


def track_face_crops(frames, size: int = 96, tracker=None) -> TrackedFaces:
    """Track the largest face over ``frames`` (an array or an iterable of RGB frames) and crop it."""
    from ..processing.faces import FaceTracker, crop_faces, face_crop_boxes, fill_all_gaps, smooth_boxes

    frames = frames if isinstance(frames, np.ndarray) else np.stack(list(frames))
    track = (tracker or FaceTracker()).track(frames)
    if not track.found.any():
        raise NoFaceError(f"no face found in any of the {len(frames)} frames")
    landmarks = fill_all_gaps(track.landmarks, track.found)
    boxes = smooth_boxes(face_crop_boxes(landmarks))
    return TrackedFaces(crop_faces(frames, boxes, size), landmarks, track.found)


@dataclass
class VideoSyncScore:
    """The SyncNet-protocol numbers of one video against one audio track."""

    offset: int  # frames; 0 is in sync, positive: the audio leads
    confidence: float  # median - min of the mean distance over offsets (higher: surer of the offset)
    distance: float  # the minimum mean distance (lower: closer audio and video)
    frame_confidence: np.ndarray  # (windows,) per-window confidence at the best offset
    face_found_rate: float

    def to_dict(self) -> dict:
        return {"offset": self.offset, "confidence": self.confidence, "distance": self.distance,
                "face_found_rate": self.face_found_rate}


def expert_sync_video(expert, frames, wave: np.ndarray, tracked: TrackedFaces | None = None) -> VideoSyncScore:
    """Sync of 25-fps ``frames`` against 16 kHz ``wave`` with a :class:`~talkhead.models.avsyncnet.SyncNetExpert`."""
    from ..data.face_windows import faces_to_tensor
    from ..processing.audio import mel80
    from .image import expert_sync

    tracked = tracked or track_face_crops(frames)
    result = expert_sync(expert, faces_to_tensor(tracked.crops), mel80(np.asarray(wave, np.float32)))
    return VideoSyncScore(int(result.offset), float(result.confidence), float(result.min_distance),
                          np.asarray(result.frame_confidence, np.float32), float(tracked.found.mean()))
