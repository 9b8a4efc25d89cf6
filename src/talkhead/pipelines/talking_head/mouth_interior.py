"""The talking head's mouth interior: the mouth-interior generator fills the inside of the lips where
the warped photo's mouth opens wider than the photo's own.

A warp can stretch lips but cannot open a mouth: between the lips of a closed photo it smears the lip line. For
each frame, :class:`MouthInteriorRenderer` cuts the mouth crop of the warped frame at the frame's landmarks
(:mod:`talkhead.processing.mouth_crops`), lets :class:`~talkhead.models.mouth_interior.MouthInteriorGenerator`
fill the inner-lip polygon with the photo's mouth as reference, and pastes only that polygon back with a soft
edge; every pixel outside the lips stays the warp's. A photo whose lips are apart already shows its mouth: there
the generated interior fades in only as the mouth opens past the photo's opening. Without the generator,
:func:`paint_mouth_interior` shades the opened mouth of a closed photo (a dark cavity and a band of upper teeth:
the talking head's fallback and a benchmark row).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from ...models.mouth_interior import crop_to_tensor as to_tensor
from ...processing.face_crops import crop_face, paste_face, smooth_boxes
from ...processing.mouth import INNER_LIP_PAIRS
from ...processing.mouth_crops import MIN_OPEN_AREA, inner_lip_area, inner_mouth_mask, mouth_crop_boxes, points_in_box

FADE_IN = 0.08  # mouth widths of opening beyond the photo's over which the generated interior fades in


def lip_gap(points: np.ndarray) -> np.ndarray:
    """(...,) mean vertical gap of the inner-lip pairs, pixels."""
    points = np.asarray(points, np.float64)
    tops, bottoms = zip(*INNER_LIP_PAIRS, strict=True)
    return np.mean(points[..., list(bottoms), 1] - points[..., list(tops), 1], axis=-1)


def interior_strength(points: np.ndarray, rest_gap: float) -> float:
    """How much of a made-up interior a frame takes: 0 up to the rest pose's lip gap ``rest_gap`` (pixels), 1 once
    the mouth is open ``FADE_IN`` mouth widths wider."""
    width = float(np.linalg.norm(points[64] - points[60]))
    return float(np.clip((lip_gap(points) - max(rest_gap, 0.0)) / max(FADE_IN * width, 1.0), 0.0, 1.0))


def lips_apart(points: np.ndarray) -> bool:
    """Whether the inner lips of (68, 2) ``points`` enclose anything to fill (:data:`MIN_OPEN_AREA`)."""
    return bool(inner_lip_area(points) >= MIN_OPEN_AREA)


class MouthInteriorRenderer:
    """Fills the opened mouths of warped frames. ``photo`` and ``photo_points`` are the photo as it is warped (its
    pixels and 68 landmarks); ``points`` all frames' target landmarks, for boxes smoothed over time;
    ``rest_points`` the mouth the generated interior fades in from (default the photo's: a closed photo's mouth is
    filled whenever it opens, an open photo's only past its own opening)."""

    def __init__(
        self,
        model,
        photo: np.ndarray,
        photo_points: np.ndarray,
        points: np.ndarray,
        rest_points: np.ndarray | None = None,
    ):
        self.model = model.eval()
        config = model.config
        self.size, self.scale, self.grow = config.mouth_size, config.box_scale, config.mask_grow
        reference = to_tensor(crop_face(photo, mouth_crop_boxes(photo_points, self.scale), self.size))[None]
        with torch.inference_mode():  # the photo's mouth is every frame's reference: encoded once
            self.reference_maps = (
                model.encode_reference(reference.to(model.device)) if model.reference_encoder is not None else None
            )
        self.photo_gap = float(lip_gap(photo_points if rest_points is None else rest_points))
        self.boxes = smooth_boxes(mouth_crop_boxes(points, self.scale), window=3)

    def __call__(self, frames: list[np.ndarray], points: np.ndarray, indices: list[int]) -> list[np.ndarray]:
        """``frames`` (warped, RGB uint8) with their mouths filled; ``points`` (len(frames), 68, 2) their landmarks
        and ``indices`` their frame numbers."""
        work = []
        for position, (frame_points, index) in enumerate(zip(points, indices, strict=True)):
            strength = interior_strength(frame_points, self.photo_gap)
            if strength <= 0:
                continue
            box = self.boxes[index]
            mask = inner_mouth_mask(points_in_box(frame_points, box, self.size), self.size, self.grow)
            if mask.any():
                work.append((position, box, mask, strength))
        if not work:
            return frames
        crops = torch.stack([to_tensor(crop_face(frames[p], box, self.size)) for p, box, _, _ in work])
        masks = torch.from_numpy(np.stack([m for _, _, m, _ in work]))[:, None]
        device = self.model.device
        with torch.inference_mode():
            images = self.model(crops.to(device), masks.to(device), reference_maps=self.reference_maps).images.cpu()
        out = list(frames)
        for (position, box, mask, strength), image in zip(work, images, strict=True):
            crop = np.clip(image.permute(1, 2, 0).numpy() * 255 + 0.5, 0, 255).astype(np.uint8)
            out[position] = paste_face(frames[position], crop, box, mask=mask * strength)
        return out


TEETH_RGB = np.array([225, 220, 210], np.float32)
CAVITY_RGB = np.array([45, 18, 22], np.float32)


def paint_mouth_interior(frame: np.ndarray, points: np.ndarray, photo_points: np.ndarray) -> np.ndarray:
    """``frame`` with the inside of its inner lips (points 60-67) dark, and a band of upper teeth, where the mouth
    is open wider than in the photo: a warp only stretches the lips of a closed photo, it cannot open a mouth."""
    gap, width = float(lip_gap(points)), float(np.linalg.norm(points[64] - points[60]))
    strength = interior_strength(points, float(lip_gap(photo_points)))
    if strength <= 0 or width < 4:
        return frame
    x0, y0 = np.floor(points[60:68].min(0) - 3).astype(int)
    x1, y1 = np.ceil(points[60:68].max(0) + 3).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, frame.shape[1]), min(y1, frame.shape[0])
    if x1 - x0 < 3 or y1 - y0 < 2:
        return frame
    local = (points[60:68] - (x0, y0)) * 4
    inside = np.zeros((y1 - y0, x1 - x0), np.float32)
    cv2.fillPoly(inside, [np.round(local).astype(np.int32)], 1.0, cv2.LINE_AA, shift=2)
    rows = np.arange(y1 - y0, dtype=np.float32)[:, None] + y0
    upper_lip = np.interp(np.arange(x0, x1), points[[60, 61, 62, 63, 64], 0], points[[60, 61, 62, 63, 64], 1])[None]
    teeth = np.clip((upper_lip + 0.3 * gap - rows) / max(0.1 * gap, 0.5), 0, 1)  # upper teeth: a third of the gap
    colour = teeth[..., None] * TEETH_RGB + (1 - teeth[..., None]) * CAVITY_RGB
    alpha = cv2.GaussianBlur(inside, (0, 0), max(0.02 * width, 0.6))[..., None] * strength
    out = frame.copy()
    region = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(region * (1 - alpha) + colour * alpha + 0.5, 0, 255).astype(np.uint8)
    return out


def own_mouth_interior(
    frame: np.ndarray, points: np.ndarray, opened: np.ndarray, box: tuple[int, int, int, int], grow: float = 1.5
) -> np.ndarray:
    """``frame`` with the inside of its inner lips (landmarks ``points``) taken from ``opened``, the patch at ``box``
    (x0, y0, x1, y1) of the open photo warped to the frame's mouth (a photo taken mid-word, closed for the warp,
    talks with its real teeth; :class:`~talkhead.pipelines.talking_head.photo_frames.PhotoFrames`).

    Only the inner-lip polygon, grown by ``grow`` pixels and feathered, is pasted; nothing when the lips touch.
    """
    x0, y0, x1, y1 = box
    mask = inner_mouth_mask(points - (x0, y0), max(x1 - x0, y1 - y0), grow)[: y1 - y0, : x1 - x0, None]
    if not mask.any():
        return frame
    out = frame.copy()
    region = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(region + (opened - region) * mask + 0.5, 0, 255).astype(np.uint8)
    return out
