"""The cleaning big talking-face sets need: small faces, scene cuts, and audio-video offsets.

LatentSync and MuseTalk document the same steps for VoxCeleb2 / HDTF-scale data: drop faces too small to learn a
mouth from, cut clips where the shot changes (a montage of two speakers is not one face track), and measure each
clip's audio-video offset with a sync expert, shifting the audio when the offset is small and dropping the clip
when it is large. Here:

* :func:`scene_cuts` finds the frames where the face track jumps: between two frames with a face (at most
  ``max_gap + 1`` apart), the face centre moves by more than ``max_jump`` face sizes or its size changes by more
  than that share. A real head at 25 fps moves a few hundredths of its size per frame.
* :func:`face_sizes` is each frame's face size in source pixels (the larger side of the landmarks' extent); a
  segment whose median is below ``min_face_size`` is dropped.
* :func:`av_offset` is the mouth-sync expert's offset and confidence (:func:`talkhead.data.mouth_sync.clip_offset`,
  1 s of tracked mouth shapes against phones and mel); :func:`shifted_ranges` pairs the video frames with the
  audio frames that made them.

Every filter counts what it did into a :class:`FilterCounts`, which the preprocessing summary and the shard
manifests report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..defaults import VIDEO_FPS
from ..models.mouth_motion.feature_extraction_mouth_motion import mouth_audio_features
from .mouth_sync import clip_offset, mouth_displacements

FILTER_NAMES = ("short", "small_face", "scene_cut", "av_offset")


@dataclass
class FilterCounts:
    """Per filter: how many clips it touched, segments it cut or dropped, frames it dropped, clips it shifted."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, name: str, **values: int) -> None:
        entry = self.counts.setdefault(name, {})
        for key, value in values.items():
            entry[key] = entry.get(key, 0) + int(value)

    def merge(self, other: dict[str, dict[str, int]]) -> None:
        for name, values in other.items():
            self.add(name, **values)

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {name: dict(values) for name, values in sorted(self.counts.items())}


def face_sizes(landmarks: np.ndarray) -> np.ndarray:
    """(T,) the larger side of each frame's landmark extent, in the landmarks' units (NaN where a frame has none)."""
    points = np.asarray(landmarks, np.float64)
    extent = np.nanmax(points, axis=1) - np.nanmin(points, axis=1)
    return extent.max(axis=1)


def scene_cuts(landmarks: np.ndarray, found: np.ndarray, max_jump: float, max_gap: int = 2) -> list[int]:
    """Frames at which a new shot starts: the face track jumps by more than ``max_jump`` (see the module docstring)
    from the previous frame with a face, at most ``max_gap + 1`` frames back. ``max_jump`` <= 0: none."""
    if max_jump <= 0:
        return []
    points = np.asarray(landmarks, np.float64)
    frames = np.flatnonzero(np.asarray(found, bool))
    if len(frames) < 2:
        return []
    centres, sizes = points[frames].mean(axis=1), face_sizes(points[frames])
    previous, current = slice(0, -1), slice(1, None)
    near = np.diff(frames) <= max_gap + 1
    moved = np.linalg.norm(centres[current] - centres[previous], axis=1) / np.maximum(sizes[previous], 1e-6)
    resized = np.abs(np.log(np.maximum(sizes[current], 1e-6) / np.maximum(sizes[previous], 1e-6)))
    jumped = near & ((moved > max_jump) | (resized > np.log1p(max_jump)))
    return [int(frame) for frame in frames[1:][jumped]]


def split_at(segments: list[tuple[int, int]], cuts: list[int]) -> list[tuple[int, int]]:
    """``segments`` ([start, stop) frame ranges) cut at each frame of ``cuts`` (a cut frame starts a new segment)."""
    pieces = []
    for start, stop in segments:
        edges = [start, *sorted(c for c in cuts if start < c < stop), stop]
        pieces += list(zip(edges[:-1], edges[1:], strict=True))
    return pieces


def shifted_ranges(start: int, stop: int, offset: int) -> tuple[int, int, int]:
    """(video start, video stop, audio start) pairing each kept frame with its sound: ``offset`` > 0 (the mouth
    moves ``offset`` frames after the sound that made it) drops the first video frames and the last audio frames,
    ``offset`` < 0 the reverse."""
    if offset >= 0:
        return start + offset, stop, start
    return start, stop + offset, start - offset


def av_offset(expert, wave: np.ndarray, landmarks: np.ndarray, found: np.ndarray, max_lag: int) -> dict | None:
    """The mouth-sync expert's {offset, confidence} of a segment (``wave`` its 16 kHz audio, ``landmarks`` its (T, 68,
    2) track in any pixels, ``found`` its detections); ``None`` when it is too short to search ±``max_lag`` frames."""
    frames = len(landmarks)
    if frames < expert.config.window + 2 * max_lag + 1:
        return None
    features = mouth_audio_features(wave, frames, VIDEO_FPS, expert.config)
    found = np.asarray(found, bool)
    result = clip_offset(expert, features, mouth_displacements(np.asarray(landmarks), found), max_lag)
    return {"offset": int(result["offset"]), "confidence": float(result["confidence"])}
