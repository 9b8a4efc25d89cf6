"""Mouth crops: the square around the lips the mouth-interior generator reads and writes, and the lip-reading
mouth ROI the AV-HuBERT expert reads.

One convention for ``talkhead preprocess --mouths``, the training script and the talking-head pipeline:

* :func:`mouth_crop_boxes`: a square centred on the mouth's 20 points, ``MOUTH_BOX_SCALE`` inter-ocular distances
  on a side (the mouth, wide open, and a margin of cheek and chin), cut at ``MOUTH_SIZE`` pixels with
  :func:`~talkhead.processing.face_crops.crop_face`. Scaled by the eyes, not by the mouth's width, so a
  smile or an open jaw does not zoom the crop.
* :func:`inner_mouth_mask`: the region a generator fills: the polygon of the inner lips (points 60-67),
  grown by a few pixels so the seam falls on the lips' inner edge, which the warp of a closed photo smears.

The lip-reading ROI is AV-HuBERT's (Shi et al. 2022, ``preparation/align_mouth.py`` and ``hubert_dataset.py`` of
facebookresearch/av_hubert): what :attr:`talkhead.processing.tracked_clip.TrackedClip.mouth_rois` holds and
:mod:`talkhead.models.av_hubert.feature_extraction_av_hubert` hands the model.

* :func:`mouth_rois`: video frames + 68 landmarks -> (T, 96, 96) uint8 grayscale mouth crops: each frame warped by
  the similarity that takes its five stable points (nose tip 33, eye corners 36, 39, 42, 45), averaged over a
  12-frame window, onto a mean face in a 256x256 canvas, then a 96x96 crop centred on the mean of that frame's mouth
  points 48-67. :func:`mouth_roi_transforms` gives the per-frame 2x3 affine (frame pixels -> crop pixels) on its
  own, for the differentiable paste-back path of the lip-sync loss (Yaman et al., AV-HuBERT expert, §3.5, Fig. 3).
* :func:`normalize_rois`: centre crop 88, /255, (x - 0.421) / 0.165 -> what
  :class:`~talkhead.models.av_hubert.AVHubertModel` takes.

Where the ROI differs from AV-HuBERT's preparation and why:

* The mean face. AV-HuBERT aligns to ``20words_mean_face.npy`` (from mpc001's lip-reading repository),
  which cannot be downloaded here. :data:`ROI_MEAN_FACE` is our own 5-point mean face: the proportions
  of the widely used 51-point dlib mean-face template (outer eye-corner distance D; inner corners 0.21 D
  from the centre line; nose tip 0.55 D below the eye line; the mouth then falls 0.78 D below it), scaled
  to D = 90 px with the eye line at y = 100 and the face centred at x = 128 in the 256x256 canvas, so the
  mouth centre lands near (128, 170) and a 96x96 crop spans nostrils to chin with a ~58 px wide mouth,
  about what AV-HuBERT's ROIs look like. Pass the official points with ``mean_face=`` to match it exactly.
* Crops that would leave the 256 canvas are clamped to it; AV-HuBERT raises beyond 5 px.
* Warping uses OpenCV (bilinear, black border) in place of scikit-image (bilinear, black border), and the
  crop is folded into the affine so the 256x256 canvas is never materialised; the sampled points are the same.
"""

from __future__ import annotations

import cv2
import numpy as np

from .face_crops import square_box
from .landmarks import INNER_LIP, MOUTH, apply_transform, similarity_transform
from .mouth import eye_distance

MOUTH_SIZE = 64  # side of the mouth crops (a mouth about 45 px wide: teeth show, and a CPU trains on it)
MOUTH_BOX_SCALE = 1.25  # side of the mouth crop over the inter-ocular distance
MIN_OPEN_AREA = 4.0  # squared pixels of inner-lip polygon below which the lips count as touching
MASK_GROW = 1.5  # pixels (at MOUTH_SIZE) the inner-lip polygon is grown by

# the lip-reading ROI (AV-HuBERT's)
ROI_STABLE_POINTS = (33, 36, 39, 42, 45)  # nose tip, outer/inner corner of the right eye, inner/outer of the left
ROI_CANVAS_SIZE = 256
ROI_SIZE = 96
ROI_CROP_SIZE = 88
ROI_PIXEL_MEAN = 0.421
ROI_PIXEL_STD = 0.165
ROI_SMOOTHING_WINDOW = 12

ROI_MEAN_FACE = np.array(
    [
        [128.0, 149.4],  # 33 nose tip
        [83.0, 99.1],  # 36 outer corner, subject's right eye (image left)
        [109.0, 100.9],  # 39 inner corner
        [147.0, 100.9],  # 42 inner corner, subject's left eye
        [173.0, 99.1],  # 45 outer corner
    ],
    dtype=np.float64,
)
"""Our 5-point mean face in the 256x256 canvas, in :data:`ROI_STABLE_POINTS` order (see the module docstring)."""


def mouth_crop_boxes(landmarks: np.ndarray, scale: float = MOUTH_BOX_SCALE) -> np.ndarray:
    """(..., 4) square boxes (x0, y0, x1, y1) in the landmarks' pixels around the mouth of (..., 68, 2) landmarks."""
    landmarks = np.asarray(landmarks, np.float64)
    center = landmarks[..., MOUTH, :].mean(-2)
    return square_box(center, scale * eye_distance(landmarks))


def points_in_box(points: np.ndarray, boxes: np.ndarray, size: int = MOUTH_SIZE) -> np.ndarray:
    """(..., N, 2) frame-pixel points in the pixels of a ``size`` crop of ``boxes`` (..., 4)."""
    points, boxes = np.asarray(points, np.float64), np.asarray(boxes, np.float64)
    origin, side = boxes[..., None, :2], (boxes[..., None, 2:] - boxes[..., None, :2])
    return (points - origin) * (size / side)


def inner_lip_area(points: np.ndarray) -> np.ndarray:
    """(...,) area in squared pixels of the inner-lip polygon (points 60-67) of (..., 68, 2) landmarks."""
    x, y = np.asarray(points, np.float64)[..., INNER_LIP, 0], np.asarray(points, np.float64)[..., INNER_LIP, 1]
    return 0.5 * np.abs((x * np.roll(y, -1, -1) - np.roll(x, -1, -1) * y).sum(-1))


def inner_mouth_mask(crop_points: np.ndarray, size: int = MOUTH_SIZE, grow: float = MASK_GROW) -> np.ndarray:
    """(size, size) float32 in [0, 1]: the inner-lip polygon of (68, 2) crop-pixel landmarks, grown by ``grow``
    pixels, with an anti-aliased edge. All zeros when the lips touch (less than a pixel between them: nothing to
    fill)."""
    mask: np.ndarray = np.zeros((size, size), np.float32)
    if inner_lip_area(crop_points) < MIN_OPEN_AREA:
        return mask
    polygon = np.round(np.asarray(crop_points)[INNER_LIP] * 4).astype(np.int32)  # 2 bits of sub-pixel precision
    cv2.fillPoly(mask, [polygon], 1.0, cv2.LINE_AA, shift=2)
    if not mask.any():
        return mask
    if grow > 0:
        radius = int(np.ceil(grow))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        mask = cv2.dilate(mask, kernel)
    return np.clip(cv2.GaussianBlur(mask, (0, 0), 0.7), 0.0, 1.0)


def smoothed_stable_points(landmarks: np.ndarray, window: int = ROI_SMOOTHING_WINDOW) -> np.ndarray:
    """(T, 5, 2) stable points, frame t averaged over frames t .. t + window - 1 (a forward window, as
    AV-HuBERT's preparation); the last window - 1 frames reuse the last full window's average."""
    points = np.asarray(landmarks, np.float64)[:, ROI_STABLE_POINTS]
    width = max(1, min(len(points), window))
    sums = np.concatenate([np.zeros((1, 5, 2)), np.cumsum(points, axis=0)])
    averages = (sums[width:] - sums[:-width]) / width  # (T - width + 1, 5, 2)
    last = len(averages) - 1
    return averages[np.minimum(np.arange(len(points)), last)]


def mouth_roi_transforms(
    landmarks: np.ndarray,
    window: int = ROI_SMOOTHING_WINDOW,
    mean_face: np.ndarray | None = None,
    roi_size: int = ROI_SIZE,
) -> np.ndarray:
    """(T, 2, 3) affines from frame pixels to mouth-crop pixels: the smoothed similarity warp onto the mean face,
    followed by the ``roi_size`` crop centred on the frame's own mouth points (clamped to the 256 canvas).

    Args:
        landmarks: (T, 68, 2) iBUG-68 points in frame pixels, (x, y).
        window: frames averaged for the stable points (12 in AV-HuBERT).
        mean_face: the target of the warp, (5, 2) in :data:`ROI_STABLE_POINTS` order or a (68, 2) mean face,
            in the 256x256 canvas; :data:`ROI_MEAN_FACE` by default.
    """
    landmarks = np.asarray(landmarks, np.float64)
    if landmarks.ndim != 3 or landmarks.shape[1:] != (68, 2) or len(landmarks) == 0:
        raise ValueError(f"landmarks must be (T, 68, 2) pixels with T >= 1, got shape {landmarks.shape}")
    target = ROI_MEAN_FACE if mean_face is None else np.asarray(mean_face, np.float64)
    if target.shape == (68, 2):
        target = target[list(ROI_STABLE_POINTS)]
    if target.shape != (5, 2):
        raise ValueError(f"mean_face must be (5, 2) stable points or (68, 2), got shape {target.shape}")
    half = roi_size / 2
    transforms = np.empty((len(landmarks), 2, 3))
    for t, stable in enumerate(smoothed_stable_points(landmarks, window)):
        matrix = similarity_transform(stable, target)
        centre = apply_transform(matrix, landmarks[t, MOUTH]).mean(axis=0)
        centre = np.clip(np.round(centre), half, ROI_CANVAS_SIZE - half)
        matrix[:, 2] -= centre - half  # the crop's top-left corner becomes the origin
        transforms[t] = matrix
    return transforms


def to_gray(frames: np.ndarray) -> np.ndarray:
    """(..., H, W, 3) RGB uint8 -> (..., H, W) uint8 with 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601 luma)."""
    frames = np.asarray(frames)
    gray = frames[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(np.round(gray), 0, 255).astype(np.uint8)


def mouth_rois(
    frames: np.ndarray, landmarks: np.ndarray, window: int = ROI_SMOOTHING_WINDOW, mean_face: np.ndarray | None = None
) -> np.ndarray:
    """Grayscale mouth crops for AV-HuBERT, (T, 96, 96) uint8 (AV-HuBERT code,
    ``preparation/align_mouth.py``).

    Args:
        frames: (T, H, W, 3) RGB uint8 video frames (or (T, H, W) grayscale).
        landmarks: (T, 68, 2) iBUG-68 landmarks of those frames, in pixels.
        window, mean_face: see :func:`mouth_roi_transforms`.
    """

    frames = np.asarray(frames)
    if frames.ndim not in (3, 4) or (frames.ndim == 4 and frames.shape[-1] != 3):
        raise ValueError(f"frames must be (T, H, W, 3) RGB or (T, H, W) grayscale, got shape {frames.shape}")
    if len(frames) != len(landmarks):
        raise ValueError(f"{len(frames)} frames but {len(landmarks)} landmark sets")
    gray = to_gray(frames) if frames.ndim == 4 else frames.astype(np.uint8)
    transforms = mouth_roi_transforms(landmarks, window, mean_face)
    return np.stack(
        [
            cv2.warpAffine(
                image,
                matrix,
                (ROI_SIZE, ROI_SIZE),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=0,
            )
            for image, matrix in zip(gray, transforms, strict=True)
        ]
    )


def normalize_rois(rois: np.ndarray, crop_size: int = ROI_CROP_SIZE) -> np.ndarray:
    """(T, 96, 96) uint8 mouth crops -> (T, 88, 88) float32: centre crop, /255, (x - 0.421) / 0.165 (AV-HuBERT
    code, ``hubert_dataset.py``)."""
    rois = np.asarray(rois)
    height, width = rois.shape[-2:]
    if height < crop_size or width < crop_size:
        raise ValueError(f"crops of {height}x{width} are smaller than the {crop_size}x{crop_size} centre crop")
    top, left = (height - crop_size) // 2, (width - crop_size) // 2
    crop = rois[..., top : top + crop_size, left : left + crop_size].astype(np.float32) / 255.0
    return ((crop - ROI_PIXEL_MEAN) / ROI_PIXEL_STD).astype(np.float32)
