"""Training samples of the mouth-interior generator, from the mouth crops of ``talkhead preprocess
--mouths``.

A sample is a target frame of a clip (its crop, and the mask of its inner lips from its landmarks) and a
reference frame of the same clip (another moment of the same person: the photo, in the pipeline). Targets
are drawn mostly where the mouth is open (a closed mouth has nothing to fill) and references mostly where it
is closed, because a photo usually is: the model must learn to make teeth up, not copy them.
"""

from __future__ import annotations

import numpy as np
import torch

from ..models.mouth_interior import crop_to_tensor as to_tensor
from ..processing.landmarks import denormalize_landmarks
from ..processing.mouth import inner_lip_opening
from ..processing.mouth_crops import MASK_GROW, inner_mouth_mask, points_in_box

OPEN_MOUTH = 0.08  # inner-lip opening (inter-ocular units) above which a frame counts as open
MIN_REFERENCE_DISTANCE = 12  # frames between a target and its reference (the next frame is nearly the answer)
SAMPLE_SPAN = 2 * MIN_REFERENCE_DISTANCE  # frames per streamed draw: about a second of a clip per target


class MouthInteriorClip:
    """One clip's mouth crops with each frame's crop-pixel landmarks and opening (frames without a face left out)."""

    def __init__(self, clip):
        if clip.mouths is None or clip.mouth_boxes is None:
            raise ValueError(
                f"clip {clip.clip_id} has no mouth crops: build the dataset with `talkhead preprocess --mouths`"
            )
        self.clip_id = clip.clip_id
        self.mouths = clip.mouths
        size = clip.mouths.shape[1]
        pixels = denormalize_landmarks(clip.landmarks, clip.clip_box)
        self.points = points_in_box(pixels, clip.mouth_boxes, size).astype(np.float32)
        self.opening = inner_lip_opening(pixels)
        usable = np.asarray(clip.face_found, bool) & np.isfinite(clip.mouth_boxes).all(1)
        self.frames = np.flatnonzero(usable)
        self.open_frames = self.frames[self.opening[self.frames] > OPEN_MOUTH]
        order = self.frames[np.argsort(self.opening[self.frames])]
        self.closed_frames = order[: max(1, len(order) // 5)]  # the fifth of the frames with the lips closest


def interior_clip(clip) -> MouthInteriorClip | None:
    """``clip`` prepared for sampling, or None when too few of its frames have a face."""
    prepared = MouthInteriorClip(clip)
    return prepared if len(prepared.frames) > 2 * MIN_REFERENCE_DISTANCE else None


def mouth_interior_inputs(crop: np.ndarray, points: np.ndarray, reference: np.ndarray, grow: float = MASK_GROW):
    """The generator's inputs for one crop: (crop, mask, reference) tensors, the mask from the crop's landmarks."""
    mask = torch.from_numpy(inner_mouth_mask(points, crop.shape[0], grow))[None]
    return to_tensor(crop), mask, to_tensor(reference)


class MouthInteriorSamples(torch.utils.data.Dataset):
    """``samples`` draws per pass; draw ``i`` of pass ``epoch`` is fixed by (seed, epoch, i).

    Args:
        clips: :class:`~talkhead.data.clips.Clip` rows with ``mouths`` and ``mouth_boxes``.
        open_share: share of targets drawn from open-mouth frames.
        closed_reference_share: share of references drawn from the clip's most closed frames.
        augment: mirror both crops, and scale their brightness and colour together.
    """

    def __init__(
        self,
        clips,
        samples: int,
        seed: int = 0,
        open_share: float = 0.8,
        closed_reference_share: float = 0.6,
        augment: bool = True,
        grow: float = MASK_GROW,
    ):
        self.clips = [c for c in map(interior_clip, clips) if c is not None]
        if not self.clips:
            raise ValueError("no clip with enough frames with a face")
        weights = np.array([len(c.frames) for c in self.clips], np.float64)
        self.clip_weights = weights / weights.sum()
        self.samples, self.seed, self.epoch = samples, seed, 0
        self.open_share, self.closed_reference_share = open_share, closed_reference_share
        self.augment, self.grow = augment, grow

    def __len__(self) -> int:
        return self.samples

    def draw(self, index: int) -> tuple[MouthInteriorClip, int, int, np.random.Generator]:
        rng = np.random.default_rng((self.seed, self.epoch, index))
        clip = self.clips[rng.choice(len(self.clips), p=self.clip_weights)]
        return (clip, *frames_in_clip(clip, rng, self.open_share, self.closed_reference_share), rng)

    def __getitem__(self, index: int) -> dict:
        clip, target, reference, rng = self.draw(index)
        return interior_inputs(clip, target, reference, rng, self.augment, self.grow)


def frames_in_clip(
    clip: MouthInteriorClip, rng: np.random.Generator, open_share: float, closed_reference_share: float
) -> tuple[int, int]:
    """(target, reference) frames of ``clip``, drawn as :class:`MouthInteriorSamples` draws them."""
    pool = clip.open_frames if len(clip.open_frames) and rng.random() < open_share else clip.frames
    target = int(rng.choice(pool))
    far = lambda frames: frames[np.abs(frames - target) >= MIN_REFERENCE_DISTANCE]  # noqa: E731
    references = far(clip.closed_frames) if rng.random() < closed_reference_share else far(clip.frames)
    if not len(references):
        references = far(clip.frames)
    return target, int(rng.choice(references))


def interior_inputs(
    clip: MouthInteriorClip, target: int, reference: int, rng: np.random.Generator, augment: bool, grow: float
) -> dict:
    """The sample of ``clip``'s ``target`` frame with the ``reference`` one; ``augment`` mirrors both crops (with
    ``rng``), and scales their brightness and colour together."""
    crop, mask, reference_crop = mouth_interior_inputs(
        clip.mouths[target], clip.points[target], clip.mouths[reference], grow
    )
    if augment:
        if rng.random() < 0.5:
            crop, mask, reference_crop = crop.flip(-1), mask.flip(-1), reference_crop.flip(-1)
        gain = torch.from_numpy(rng.uniform(0.8, 1.2) * rng.uniform(0.93, 1.07, 3)).float()[:, None, None]
        crop, reference_crop = (crop * gain).clamp(0, 1), (reference_crop * gain).clamp(0, 1)
    return {"crops": crop, "masks": mask, "references": reference_crop}


def interior_sample(
    clip: MouthInteriorClip,
    rng: np.random.Generator,
    open_share: float = 0.8,
    closed_reference_share: float = 0.6,
    augment: bool = True,
    grow: float = MASK_GROW,
) -> dict:
    """One sample of ``clip`` drawn with ``rng`` alone (a streamed clip; see :class:`MouthInteriorSamples`)."""
    target, reference = frames_in_clip(clip, rng, open_share, closed_reference_share)
    return interior_inputs(clip, target, reference, rng, augment, grow)
