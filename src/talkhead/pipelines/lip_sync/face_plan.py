"""Lip-sync's first pass: the video decoded at ``track_side``, the face followed with dlib, and what the
other passes need kept: per-frame landmarks, smoothed crop boxes, the missing-face policy applied, and the identity
references of the generator renderer (:class:`FacePlan`)."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from ...errors import NoFaceError, TalkheadInputError
from ...io.video import VideoReader
from ...options import LipSyncOptions
from ...processing import audio as audio_lib
from ...processing.face_choice import FaceChoice
from ...processing.face_crops import crop_face, face_crop_boxes, smooth_boxes
from ...processing.faces import (
    FaceTracker,
    default_detector,
    default_landmark_predictor,
    fill_all_gaps,
    fill_short_gaps,
    valid_segments,
)
from ...processing.landmarks import normalize_landmarks
from ..concurrency import read_ahead
from ..generator_renderer import pose_descriptor
from ..stages import StageTimes, TimedDetector, TimedPredictor


@dataclass
class FacePlan:
    """What the tracking pass learned about a video (all small; no frames).

    ``boxes`` are face crop boxes in full-size pixels, NaN where the frame is passed through.
    """

    boxes: np.ndarray  # (T, 4)
    found: np.ndarray  # (T,) bool, the tracker's detections
    landmarks: np.ndarray  # (T, 68, 2) in units of each frame's crop box (pose and mouth mask)
    pixels: np.ndarray  # (T, 68, 2) full-size image pixels, NaN where the frame is passed through
    references: np.ndarray  # (K, 96, 96, 3) uint8 identity crops
    reference_poses: np.ndarray  # (K, 96)
    missing: list[tuple[int, int]]  # [start, stop) source frames without a face (gaps > 2 frames)
    faces_where_tracked: int  # faces in the frame where the track started
    face: str  # which of them was dubbed, e.g. "face 1 of 2 from the left (x 12-140)"

    @property
    def num_frames(self) -> int:
        return len(self.found)


def ranges_text(ranges: list[tuple[int, int]], limit: int = 5) -> str:
    text = ", ".join(f"{a}-{b - 1}" if b - a > 1 else f"{a}" for a, b in ranges[:limit])
    return text + (f" and {len(ranges) - limit} more" if len(ranges) > limit else "")


def track_faces(reader: VideoReader, options: LipSyncOptions, times: StageTimes, name: str) -> FacePlan:
    """The first pass: landmarks per frame, smoothed crop boxes, missing-face policy, identity references."""

    choice = FaceChoice.parse(options.face).at_scale(reader.scale)
    tracker = FaceTracker(
        TimedDetector(default_detector(), times), TimedPredictor(default_landmark_predictor(), times), choose=choice
    )
    expected = max(reader.estimated_num_frames, 1)
    wanted = set(np.linspace(0, expected - 1, options.references).round().astype(int).tolist())
    unknown_length = expected == 1  # live-muxed files carry no duration: take a reference every 5 s instead
    landmarks, found, references, reference_poses = [], [], [], []
    # decoded in a thread while dlib tracks; closed here even when tracking fails, so the thread and the file go too
    with closing(read_ahead(times.iterate("decode", reader), depth=16)) as frames:
        bar = tqdm(frames, total=expected, desc="tracking", unit="frame", disable=not options.progress)
        for index, frame in enumerate(bar):
            points = tracker.update(frame)
            found.append(points is not None)
            landmarks.append(points if points is not None else np.full((68, 2), np.nan, np.float32))
            every_5_s = unknown_length and index % (5 * audio_lib.VIDEO_FPS) == 0
            wanted_here = index in wanted or every_5_s or not references
            if points is not None and wanted_here and len(references) <= options.references:
                with times.stage("render"):
                    box = face_crop_boxes(points)
                    references.append(crop_face(frame, box))
                    reference_poses.append(pose_descriptor(normalize_landmarks(points, box)))
    if not found:
        raise TalkheadInputError(f"'{name}' holds no decodable video frames")
    found = np.array(found)
    if not found.any():
        raise NoFaceError(
            f"no face found in any of the {len(found)} frames of '{name}'; lip-sync needs a visible, "
            "roughly frontal face at least about an eighth of the frame's longest side"
        )
    points = np.stack(landmarks) / reader.scale
    filled, valid = fill_short_gaps(points, found, hold_ends=True)
    missing = valid_segments(~valid)
    if missing and options.on_missing_face == "error":
        raise NoFaceError(
            f"no face found in frames {ranges_text(missing)} of '{name}'; use "
            "on_missing_face=passthrough to keep those frames unchanged, or on_missing_face=interpolate "
            "to fill them"
        )
    if options.on_missing_face == "interpolate":
        filled, valid = fill_all_gaps(filled, valid), np.ones_like(valid)
    boxes = np.full((len(found), 4), np.nan, np.float32)
    for a, b in valid_segments(valid):
        boxes[a:b] = smooth_boxes(face_crop_boxes(filled[a:b]))
    box_landmarks = np.full(filled.shape, np.nan, np.float32)
    box_landmarks[valid] = normalize_landmarks(filled[valid], boxes[valid])
    pixels = np.where(valid[:, None, None], filled, np.nan).astype(np.float32)
    return FacePlan(
        boxes,
        found,
        box_landmarks,
        pixels,
        np.stack(references[: options.references]),
        np.stack(reference_poses[: options.references]),
        missing,
        len(tracker.started[0]),
        choice.describe(*tracker.started),
    )
