"""Face detection, 68-point landmarks, tracking, crops and paste-back.

Backend: dlib's HOG frontal-face detector and the iBUG-68 shape predictor shipped in
``face-recognition-models`` (the papers use FAN/S3FD, which need weights we cannot download).

Tracking is detect-then-track: a full-frame detection starts a track; after that the landmarks of
frame t give the box for frame t+1, and a cheap detection in a small window around the track
confirms the face every ``redetect_every`` frames or as soon as the landmark box jumps. That keeps
detection + landmarks well above 100 frames/s at 256 px on one core (benchmarks/RESULTS.md).

Boxes are float (x0, y0, x1, y1) in frame pixels. Crops:

* :func:`clip_crop_box`: one fixed square per clip (the union of its face boxes, enlarged): the
  frame of reference for normalised landmarks (VoxCeleb2 (II) / FOMM protocol, spec §1.1).
* :func:`face_crop_boxes`: per-frame square boxes around the face for the 96x96 crops of the
  image-side models (Wav2Lip-style tight crops with the chin inside, spec §6.1).
* :func:`crop_faces` / :func:`paste_face`: cut out and put back, with a feathered mask.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .landmarks import EYEBROWS, NUM_LANDMARKS, landmark_bounds

FACE_SIZE = 96


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
        window = cv2.resize(image[y0:y1, x0:x1], None, fx=scale, fy=scale,
                            interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
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
        self._predictor = dlib.shape_predictor(str(model_path or face_model_path("shape_predictor_68_face_landmarks.dat")))

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


@lru_cache(maxsize=1)
def default_detector() -> DlibHOGDetector:
    return DlibHOGDetector()


@lru_cache(maxsize=1)
def default_landmark_predictor() -> DlibLandmarkPredictor:
    return DlibLandmarkPredictor()


@lru_cache(maxsize=1)
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

    def __init__(self, detector: FaceDetector | None = None, predictor: LandmarkPredictor | None = None,
                 redetect_every: int = 5, min_iou: float = 0.5, min_similarity: float = 0.6):
        self.detector = detector or default_detector()
        self.predictor = predictor or default_landmark_predictor()
        self.redetect_every = redetect_every
        self.min_iou = min_iou
        self.min_similarity = min_similarity
        self.reset()

    def reset(self) -> None:
        self._box: np.ndarray | None = None  # detector-style box predicted for the next frame
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
            self._box = None
            return False
        if self._box is not None and len(boxes) > 1:  # stay on the tracked face
            boxes = boxes[np.argsort([-box_iou(b, self._box) for b in boxes], kind="stable")]
        box = boxes[0].astype(np.float64)
        bounds = landmark_bounds(self.predictor(frame, box))
        width = max(bounds[2] - bounds[0], 1.0)
        self._offset = (box - bounds) / width
        self._box = box
        return True

    def _box_from_landmarks(self, bounds: np.ndarray) -> np.ndarray:
        width = max(bounds[2] - bounds[0], 1.0)
        return bounds + self._offset * width


def _appearance(frame: np.ndarray, box: np.ndarray, size: int = 24) -> np.ndarray | None:
    """A zero-mean, unit-norm grey thumbnail of ``box`` (``None`` if flat): for cheap look-alike tests."""
    patch = crop_face(frame, box, size).astype(np.float32).mean(axis=2).ravel()
    patch -= patch.mean()
    norm = float(np.linalg.norm(patch))
    return patch / norm if norm > 1e-3 * size else None


def largest_face(image: np.ndarray, detector: FaceDetector | None = None) -> tuple[np.ndarray, int]:
    """The largest face box in a still image, and how many faces were found."""
    boxes = (detector or default_detector()).detect(image)
    return (boxes[0] if len(boxes) else None), len(boxes)


def fill_short_gaps(values: np.ndarray, found: np.ndarray, max_gap: int = 2,
                    hold_ends: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolate gaps of at most ``max_gap`` missing frames between two found frames.

    Returns the filled values and the mask of frames that now hold values (found or filled).
    Longer gaps stay missing; so do gaps at either end (spec §1.1), unless ``hold_ends``, which fills
    end gaps of at most ``max_gap`` frames with the nearest found frame (a fade-in, a last frame).
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
    return list(zip(changes[::2].tolist(), changes[1::2].tolist()))


def valid_segments(valid: np.ndarray, min_length: int = 1) -> list[tuple[int, int]]:
    """[start, stop) of every run of valid frames at least ``min_length`` long."""
    return [(a, b) for a, b in _runs(valid) if b - a >= min_length]


def smooth_boxes(boxes: np.ndarray, window: int = 5) -> np.ndarray:
    """Centred moving average of boxes over time (edge-padded); removes crop jitter. (T, 4) -> (T, 4)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    if window <= 1 or len(boxes) < 2:
        return boxes.astype(np.float32)
    half = window // 2
    padded = np.pad(boxes, ((half, half), (0, 0)), mode="edge")
    cumulative = np.cumsum(np.concatenate([np.zeros((1, 4)), padded]), axis=0)
    return ((cumulative[window:] - cumulative[:-window]) / window).astype(np.float32)


def square_box(center: np.ndarray, side: np.ndarray) -> np.ndarray:
    center = np.asarray(center, np.float64)
    half = np.asarray(side, np.float64)[..., None] / 2
    return np.concatenate([center - half, center + half], axis=-1).astype(np.float32)


def face_crop_boxes(landmarks: np.ndarray, forehead: float = 0.25, chin: float = 0.08, zoom: float = 1.0) -> np.ndarray:
    """Square crop boxes (..., 4) for the tight 96x96 face crops, from 68-point landmarks.

    The box spans from a little above the eyebrows (``forehead`` face widths) to just below the chin
    (``chin``), as wide as the jaw, so the eyes fall in the upper half and the mouth in the lower
    half that the generators repaint (spec §6.1).
    """
    landmarks = np.asarray(landmarks, np.float64)
    x0, x1 = landmarks[..., 0].min(-1), landmarks[..., 0].max(-1)
    width = x1 - x0
    top = landmarks[..., EYEBROWS, 1].min(-1) - forehead * width
    bottom = landmarks[..., 1].max(-1) + chin * width
    side = np.maximum(width, bottom - top) * zoom
    center = np.stack([(x0 + x1) / 2, (top + bottom) / 2], axis=-1)
    return square_box(center, side)


def clip_crop_box(boxes: np.ndarray, enlarge: float = 0.3) -> np.ndarray:
    """One square box holding every face box of a clip, enlarged by ``enlarge`` of its side on each side.

    Used as the fixed frame of reference for normalised landmarks. It may extend past the image.
    """
    boxes = np.asarray(boxes, np.float64)
    boxes = boxes[np.all(np.isfinite(boxes), axis=-1)]
    if len(boxes) == 0:
        raise ValueError("no face boxes to build a clip crop from")
    union = np.concatenate([boxes[:, :2].min(0), boxes[:, 2:].max(0)])
    side = max(union[2] - union[0], union[3] - union[1]) * (1 + 2 * enlarge)
    return square_box((union[:2] + union[2:]) / 2, side)


def crop_box_transform(box: np.ndarray, size: int) -> np.ndarray:
    """2x3 affine that maps frame pixels into a ``size`` x ``size`` crop of ``box``."""
    x0, y0, x1, y1 = np.asarray(box, np.float64)
    sx, sy = size / (x1 - x0), size / (y1 - y0)
    return np.array([[sx, 0, -x0 * sx], [0, sy, -y0 * sy]], np.float64)


def crop_face(frame: np.ndarray, box: np.ndarray, size: int = FACE_SIZE) -> np.ndarray:
    """Cut ``box`` out of ``frame`` and resize to ``size`` x ``size``; outside the frame is edge-replicated."""
    box = np.asarray(box, np.float64)
    height, width = frame.shape[:2]
    # work on the box's region only; where the box leaves the frame the region ends at the frame edge,
    # so replicating the region's border is replicating the frame's
    x0, y0 = int(np.clip(np.floor(box[0]) - 1, 0, width - 1)), int(np.clip(np.floor(box[1]) - 1, 0, height - 1))
    x1, y1 = int(np.clip(np.ceil(box[2]) + 2, x0 + 1, width)), int(np.clip(np.ceil(box[3]) + 2, y0 + 1, height))
    region = frame[y0:y1, x0:x1]
    matrix = crop_box_transform(box - [x0, y0, x0, y0], size)
    scale = matrix[0, 0]
    if scale < 0.5:  # area-average first when shrinking a lot: bilinear sampling alone would alias
        factor = 0.5 / scale
        region = cv2.resize(region, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA)
        matrix = matrix @ np.array([[factor, 0, 0], [0, factor, 0], [0, 0, 1]])
    return cv2.warpAffine(region, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def crop_faces(frames, boxes: np.ndarray, size: int = FACE_SIZE) -> np.ndarray:
    """(T, size, size, 3) uint8 crops, one box per frame."""
    return np.stack([crop_face(frame, box, size) for frame, box in zip(frames, boxes)])


@lru_cache(maxsize=8)
def feather_mask(size: int, feather: float = 0.1, lower_only: bool = False) -> np.ndarray:
    """(size, size) float32 blending weights: 1 inside, falling smoothly to 0 over ``feather`` of the side.

    ``lower_only`` keeps only the bottom half of the face (the region the generators repaint), with a
    soft upper edge.
    """
    ramp = max(1, int(round(size * feather)))
    edge = np.minimum(np.arange(size), np.arange(size)[::-1]).astype(np.float32)
    profile = np.clip(edge / ramp, 0, 1)
    profile = profile * profile * (3 - 2 * profile)  # smoothstep
    mask = np.outer(profile, profile)
    if lower_only:
        rows = np.clip((np.arange(size) - size * 0.45) / ramp, 0, 1).astype(np.float32)
        mask = mask * (rows * rows * (3 - 2 * rows))[:, None]
    return mask.astype(np.float32)


def paste_face(frame: np.ndarray, face: np.ndarray, box: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Blend a square ``face`` crop back into ``frame`` at ``box`` (the inverse of :func:`crop_face`).

    ``mask`` (face-sized weights, :func:`feather_mask` by default) feathers the seam. Returns a new frame.
    """
    size = face.shape[0]
    if mask is None:
        mask = feather_mask(size)
    height, width = frame.shape[:2]
    x0, y0 = (max(int(np.floor(v)), 0) for v in box[:2])
    x1, y1 = min(int(np.ceil(box[2])) + 1, width), min(int(np.ceil(box[3])) + 1, height)
    result = frame.copy()
    if x1 <= x0 or y1 <= y0:
        return result
    # warp only into the box's region of the frame
    inverse = cv2.invertAffineTransform(crop_box_transform(box, size))
    inverse[:, 2] -= (x0, y0)
    region = (x1 - x0, y1 - y0)
    warped = cv2.warpAffine(face, inverse, region, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(mask, inverse, region, flags=cv2.INTER_LINEAR, borderValue=0.0)[..., None]
    background = frame[y0:y1, x0:x1].astype(np.float32)
    blended = background + (warped.astype(np.float32) - background) * alpha
    result[y0:y1, x0:x1] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    return result
