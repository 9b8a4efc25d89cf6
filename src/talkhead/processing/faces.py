"""Face detection, 68-point landmarks and tracking.

Backend: dlib's HOG frontal-face detector and the iBUG-68 shape predictor shipped in
``face-recognition-models`` (the papers use FAN/S3FD, which need weights we cannot download).

Tracking is detect-then-track: a full-frame detection starts a track; after that the landmarks of
frame t give the box for frame t+1, and a cheap detection in a small window around the track
confirms the face every ``redetect_every`` frames or as soon as the landmark box jumps. That keeps
detection + landmarks well above 100 frames/s at 256 px on one core (benchmarks/RESULTS.md).

Boxes are float (x0, y0, x1, y1) in frame pixels. Gaps in a track are filled by :func:`fill_short_gaps`
(datasets: at most 2 frames, longer gaps split the clip) or :func:`fill_all_gaps` (metrics). The crop
geometry is in :mod:`talkhead.processing.face_crops`.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .face_crops import crop_face
from .landmarks import NUM_LANDMARKS, landmark_bounds
from .per_thread import per_thread


class FaceDetector(Protocol):
    """Anything that finds faces: ``detect(image) -> (N, 4)`` boxes, largest first."""

    def detect(self, image: np.ndarray) -> np.ndarray: ...


class LandmarkPredictor(Protocol):
    """Anything that puts 68 points in a face box: ``(image, box) -> (68, 2)``."""

    def __call__(self, image: np.ndarray, box: np.ndarray) -> np.ndarray: ...


def _face_models_dir() -> Path:
    # face_recognition_models' own __init__ imports pkg_resources, which recent setuptools dropped:
    # find the package folder without executing it.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("face-recognition-models is not installed: pip install face-recognition-models")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def face_model_path(name: str) -> Path:
    """Path of a model file shipped in face-recognition-models (e.g. the 68-point predictor)."""
    path = _face_models_dir() / name
    if not path.exists():
        raise FileNotFoundError(f"{name} is missing from face-recognition-models ({path}); reinstall it")
    return path


def _import_dlib():
    try:
        import dlib
    except ImportError as err:  # pragma: no cover - a dependency of the package
        raise ImportError("dlib is not installed: pip install dlib-bin") from err
    return dlib


def box_area(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64)
    return np.clip(boxes[..., 2] - boxes[..., 0], 0, None) * np.clip(boxes[..., 3] - boxes[..., 1], 0, None)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    inter = box_area(np.concatenate([np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])]))
    union = box_area(a) + box_area(b) - inter
    return float(inter / union) if union > 0 else 0.0


class DlibHOGDetector:
    """dlib's HOG + linear SVM frontal-face detector.

    The image is downscaled so its longest side is ``working_side`` (HOG finds faces of about 80 px
    and more); if nothing is found, it retries with dlib's 2x upsampling, which finds faces down to
    about 40 px at that scale. Boxes come back in the input's pixels, largest first.
    """

    def __init__(self, working_side: int = 320, upsample: tuple[int, ...] = (0, 1)):
        self._detector = _import_dlib().get_frontal_face_detector()
        self.working_side = working_side
        self.upsample = upsample

    def detect(self, image: np.ndarray) -> np.ndarray:
        scale = min(1.0, self.working_side / max(image.shape[:2]))
        small = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        for upsample in self.upsample:
            boxes = self._run(small, upsample)
            if len(boxes):
                return boxes / scale
        return np.zeros((0, 4), np.float32)

    def detect_near(self, image: np.ndarray, box: np.ndarray, margin: float = 0.6, face_px: int = 100) -> np.ndarray:
        """Detect only in a window around ``box``, rescaled so the face is about ``face_px`` wide.

        About ten times cheaper than a full-frame detection; used to confirm a track.
        """
        box = np.asarray(box, np.float64)
        size = max(box[2] - box[0], box[3] - box[1])
        center = (box[:2] + box[2:]) / 2
        half = size * (0.5 + margin)
        x0, y0 = np.floor(np.maximum(center - half, 0)).astype(int)
        x1 = int(min(np.ceil(center[0] + half), image.shape[1]))
        y1 = int(min(np.ceil(center[1] + half), image.shape[0]))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return np.zeros((0, 4), np.float32)
        scale = face_px / max(size, 1.0)
        window = cv2.resize(
            image[y0:y1, x0:x1],
            None,
            fx=scale,
            fy=scale,
            interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
        )
        boxes = self._run(window, 0)
        if len(boxes) == 0:
            return boxes
        return (boxes / scale + np.array([x0, y0, x0, y0])).astype(np.float32)

    def _run(self, image: np.ndarray, upsample: int) -> np.ndarray:
        rects = self._detector(np.ascontiguousarray(image), upsample)
        boxes = np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in rects], np.float32).reshape(-1, 4)
        return boxes[np.argsort(-box_area(boxes), kind="stable")]


class DlibLandmarkPredictor:
    """dlib's iBUG-68 shape predictor (the 68-point model of face-recognition-models)."""

    def __init__(self, model_path: str | os.PathLike | None = None):
        dlib = _import_dlib()
        self._dlib = dlib
        self._predictor = dlib.shape_predictor(
            str(model_path or face_model_path("shape_predictor_68_face_landmarks.dat"))
        )

    def shape(self, image: np.ndarray, box: np.ndarray):
        """dlib's own ``full_object_detection`` (what its face-embedding net takes)."""
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        return self._predictor(np.ascontiguousarray(image), self._dlib.rectangle(x0, y0, x1, y1))

    def __call__(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        return np.array([(p.x, p.y) for p in self.shape(image, box).parts()], np.float32)


class DlibFaceEmbedder:
    """dlib's 128-d face-recognition ResNet (face-recognition-models): identity embeddings of RGB uint8 faces."""

    def __init__(self, predictor: DlibLandmarkPredictor | None = None):
        dlib = _import_dlib()
        self._predictor = predictor or default_landmark_predictor()
        self._net = dlib.face_recognition_model_v1(str(face_model_path("dlib_face_recognition_resnet_model_v1.dat")))

    def __call__(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        image = np.ascontiguousarray(image)
        return np.array(self._net.compute_face_descriptor(image, self._predictor.shape(image, box)), np.float32)


# one of each per thread: dlib's detector keeps scratch buffers and is not safe to share (processing.per_thread)
@per_thread
def default_detector() -> DlibHOGDetector:
    return DlibHOGDetector()


@per_thread
def default_landmark_predictor() -> DlibLandmarkPredictor:
    return DlibLandmarkPredictor()


@per_thread
def default_face_embedder() -> DlibFaceEmbedder:
    return DlibFaceEmbedder()


@dataclass
class FaceTrack:
    """Per-frame results of :class:`FaceTracker`. Missing frames hold NaN."""

    landmarks: np.ndarray  # (T, 68, 2) float32, frame pixels
    found: np.ndarray  # (T,) bool
    detections: int = 0  # how many (full or local) detector calls the track needed

    @property
    def found_rate(self) -> float:
        return float(self.found.mean()) if self.found.size else 0.0


class FaceTracker:
    """Detect-then-track 68-point landmarks over a frame sequence, one face (the largest).

    Args:
        detector: a :class:`FaceDetector`; the dlib HOG detector by default.
        predictor: a :class:`LandmarkPredictor`; the dlib 68-point model by default.
        redetect_every: confirm the track with a local detection every this many frames.
        min_iou: a landmark box that overlaps the previous one less than this is a lost track and
            triggers a detection on the same frame.
        min_similarity: the tracked box must look like it did a frame earlier (normalised
            correlation of a small grey patch); below this, as at a cut, an occlusion or a blank
            frame, the face is detected again on the same frame.
    """

    def __init__(
        self,
        detector: FaceDetector | None = None,
        predictor: LandmarkPredictor | None = None,
        redetect_every: int = 5,
        min_iou: float = 0.5,
        min_similarity: float = 0.6,
        choose=None,
    ):
        self.detector = detector or default_detector()
        self.predictor = predictor or default_landmark_predictor()
        self.redetect_every = redetect_every
        self.min_iou = min_iou
        self.min_similarity = min_similarity
        self.choose = choose  # boxes -> index of the face a new track follows (processing.face_choice); None: largest
        self.reset()

    def reset(self) -> None:
        self._box: np.ndarray | None = None  # detector-style box predicted for the next frame
        self._lost: np.ndarray | None = None  # where the last track was when it was lost
        self.started: tuple[np.ndarray, int] | None = None  # (boxes, chosen index) where the first track started
        self._offset: np.ndarray | None = None  # detector box relative to the landmark box, in face widths
        self._since_detection = 0
        self._patch: np.ndarray | None = None
        self.detections = 0

    def update(self, frame: np.ndarray) -> np.ndarray | None:
        """Landmarks (68, 2) of the tracked face in ``frame``, or ``None`` when no face is there."""
        if self._box is not None and self._since_detection < self.redetect_every:
            patch = _appearance(frame, self._box)
            if patch is None or self._patch is None or float(patch @ self._patch) < self.min_similarity:
                self._since_detection = self.redetect_every  # the view changed: detect now
        if self._box is None or self._since_detection >= self.redetect_every:
            if not self._detect(frame):
                self._patch = None
                return None
        assert self._box is not None  # kept from the last frame, or set by a successful _detect
        landmarks = self.predictor(frame, self._box)
        bounds = landmark_bounds(landmarks)
        if self._since_detection > 0 and box_iou(self._box_from_landmarks(bounds), self._box) < self.min_iou:
            if not self._detect(frame):
                return None
            landmarks = self.predictor(frame, self._box)
            bounds = landmark_bounds(landmarks)
        self._box = self._box_from_landmarks(bounds)
        self._patch = _appearance(frame, self._box)
        self._since_detection += 1
        return landmarks

    def track(self, frames) -> FaceTrack:
        """Run over an iterable of frames from a fresh state."""
        self.reset()
        points, found = [], []
        for frame in frames:
            landmarks = self.update(frame)
            found.append(landmarks is not None)
            points.append(landmarks if landmarks is not None else np.full((NUM_LANDMARKS, 2), np.nan, np.float32))
        landmarks = np.stack(points) if points else np.zeros((0, NUM_LANDMARKS, 2), np.float32)
        return FaceTrack(landmarks, np.array(found, bool), self.detections)

    def _detect(self, frame: np.ndarray) -> bool:
        """Find the face (near the track if there is one) and reset the box relation; False if none."""
        boxes = np.zeros((0, 4), np.float32)
        if self._box is not None and hasattr(self.detector, "detect_near"):
            boxes = self.detector.detect_near(frame, self._box)
            self.detections += 1
        if len(boxes) == 0:
            boxes = self.detector.detect(frame)
            self.detections += 1
        self._since_detection = 0
        if len(boxes) == 0:
            self._lost = self._box if self._box is not None else self._lost
            self._box = None
            return False
        box = boxes[self._pick(boxes)].astype(np.float64)
        bounds = landmark_bounds(self.predictor(frame, box))
        width = max(bounds[2] - bounds[0], 1.0)
        self._offset = (box - bounds) / width
        self._box = box
        return True

    def _pick(self, boxes: np.ndarray) -> int:
        """Stay on the tracked face; after a loss, take the one nearest where it was (within two face widths);
        else ask :attr:`choose`."""
        if self._box is not None:
            return int(np.argmax([box_iou(b, self._box) for b in boxes]))
        if self._lost is not None and len(boxes) > 1:
            centres, lost = (boxes[:, :2] + boxes[:, 2:]) / 2, (self._lost[:2] + self._lost[2:]) / 2
            distance = np.linalg.norm(centres - lost, axis=1)
            if distance.min() < 2 * (self._lost[2] - self._lost[0]):
                return int(np.argmin(distance))
        chosen = self.choose(boxes) if self.choose is not None else 0  # detectors give the largest first
        if self.started is None:
            self.started = (np.asarray(boxes, np.float64), chosen)
        return chosen

    def _box_from_landmarks(self, bounds: np.ndarray) -> np.ndarray:
        width = max(bounds[2] - bounds[0], 1.0)
        return bounds + self._offset * width


def _appearance(frame: np.ndarray, box: np.ndarray, size: int = 24) -> np.ndarray | None:
    """A zero-mean, unit-norm grey thumbnail of ``box`` (``None`` if flat): for cheap look-alike tests."""
    patch = crop_face(frame, box, size).astype(np.float32).mean(axis=2).ravel()
    patch -= patch.mean()
    norm = float(np.linalg.norm(patch))
    return patch / norm if norm > 1e-3 * size else None


def largest_face(image: np.ndarray, detector: FaceDetector | None = None) -> tuple[np.ndarray | None, int]:
    """The largest face box in a still image (None when there is no face), and how many faces were found."""
    boxes = (detector or default_detector()).detect(image)
    return (boxes[0] if len(boxes) else None), len(boxes)


def fill_short_gaps(
    values: np.ndarray, found: np.ndarray, max_gap: int = 2, hold_ends: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolate gaps of at most ``max_gap`` missing frames between two found frames.

    Returns the filled values and the mask of frames that now hold values (found or filled).
    Longer gaps stay missing; so do gaps at either end (as in the SUHMo code's ``interpolate``), unless
    ``hold_ends``, which fills end gaps of at most ``max_gap`` frames with the nearest found frame (a fade-in, a
    last frame).
    """
    values = np.array(values, dtype=np.float32, copy=True)
    valid = np.asarray(found, bool).copy()
    for start, stop in _runs(~valid):
        if stop - start > max_gap or (start == 0 and stop == len(valid)):
            continue
        if start > 0 and stop < len(valid):
            left, right = values[start - 1], values[stop]
            for offset, index in enumerate(range(start, stop), 1):
                weight = offset / (stop - start + 1)
                values[index] = (1 - weight) * left + weight * right
            valid[start:stop] = True
        elif hold_ends:
            values[start:stop] = values[stop] if start == 0 else values[start - 1]
            valid[start:stop] = True
    return values, valid


def fill_all_gaps(values: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Every missing frame filled: linear interpolation inside, the nearest found frame at the ends."""
    found = np.asarray(found, bool)
    if not found.any():
        raise ValueError("no frame has a value to interpolate from")
    values = np.array(values, dtype=np.float32, copy=True)
    frames = np.arange(len(found))
    flat = values.reshape(len(found), -1)
    for column in range(flat.shape[1]):
        flat[:, column] = np.interp(frames, frames[found], flat[found, column])
    return flat.reshape(values.shape)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of every run of True."""
    padded = np.concatenate([[False], np.asarray(mask, bool), [False]])
    changes = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(changes[::2].tolist(), changes[1::2].tolist(), strict=True))


def valid_segments(valid: np.ndarray, min_length: int = 1) -> list[tuple[int, int]]:
    """[start, stop) of every run of valid frames at least ``min_length`` long."""
    return [(a, b) for a, b in _runs(valid) if b - a >= min_length]
