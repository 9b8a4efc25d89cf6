"""Training windows of 96x96 face crops for the image-side models.

A window is 5 consecutive faces and the 16-frame mel window (200 ms) that starts at the same video
frame (Yaman et al., stabilized sync, §3.4-3.5; Wav2Lip, color_syncnet_train.py). :class:`SyncWindowDataset`
gives the experts' BCE samples: with probability ½ the aligned audio (label 1), else a mel window of the same clip
at least 5 frames away (label 0).
:class:`FaceWindowDataset` gives the generator's samples: target frames, an identity reference
window of the same clip that does not overlap them, the per-frame mel windows centred on each frame
(starting 2 frames before it), and the window's own mel for the sync losses. :class:`OffsetWindowDataset` gives
the multi-way samples the experts train on here (after Chung et al., "Perfect match", 2019): M face windows of one clip
``stride`` frames apart and their M mel windows; each face window's negatives are the other windows'
audio, shifted by multiples of ``stride`` frames in the same clip, so speaker identity never helps,
and M audio windows serve M(M - 1) comparisons.

Faces come out as float32 (5, 3, 96, 96) in [0, 1]; mel windows as (1, 80, 16), mel on the
frequency axis as in Wav2Lip. A streamed shuffle buffer holds hundreds of samples: :func:`stored_faces` keeps their
faces as uint8 (a quarter of the memory) and :func:`collate_stored` makes batches of them as the models read them.
"""

from __future__ import annotations

import numpy as np
import torch

from ..processing.audio import VIDEO_WINDOW as WINDOW  # frames per window (200 ms)
from ..processing.audio import mel_tensor
from ..processing.face_crops import faces_to_tensor
from ..processing.landmarks import mouth_shape
from .clips import Clip

FACE_KEYS = ("faces", "target", "reference")  # the face windows of the samples below


def stored_faces(sample: dict) -> dict:
    """``sample`` with its face windows as uint8 (…, 3, 96, 96): the crops they were read from, exactly, unless
    augmentation moved them off the 1/255 grid."""
    return {k: v.mul(255).round_().to(torch.uint8) if k in FACE_KEYS else v for k, v in sample.items()}


def collate_stored(samples: list[dict]) -> dict:
    """A batch of :func:`stored_faces` samples, the face windows float32 in [0, 1] again (the values
    :func:`~talkhead.processing.face_crops.faces_to_tensor` gives)."""
    batch = torch.utils.data.default_collate(samples)
    return {k: v.float() / 255.0 if k in FACE_KEYS and v.dtype == torch.uint8 else v for k, v in batch.items()}


def far_start(rng: np.random.Generator, num_frames: int, start: int, gap: int = WINDOW) -> int:
    """A window start in the same clip whose window does not overlap ``start``'s (|s' - s| >= gap)."""
    choices = [s for s in range(num_frames - WINDOW + 1) if abs(s - start) >= gap]
    return int(rng.choice(choices))


def usable_clips(clips: list[Clip]) -> list[Clip]:
    """Clips with faces and room for two non-overlapping windows."""
    missing = [c.clip_id for c in clips if c.faces is None]
    if missing:
        raise ValueError(
            f"clips {missing[:3]} have no face crops: build the dataset with `talkhead preprocess --faces`"
        )
    return [c for c in clips if c.num_frames >= 2 * WINDOW]


def usable_clip(clip: Clip, min_frames: int) -> Clip | None:
    """``clip`` when it has faces and ``min_frames`` frames, else None (a streamed clip, one at a time)."""
    usable = usable_clips([clip])
    return clip if usable and clip.num_frames >= min_frames else None


def sync_pair_sample(clip: Clip, rng: np.random.Generator) -> dict:
    """A BCE sample of ``clip`` (:class:`SyncWindowDataset`)."""
    start = int(rng.integers(0, clip.num_frames - WINDOW + 1))
    aligned = bool(rng.random() < 0.5)
    audio_start = start if aligned else far_start(rng, clip.num_frames, start)
    return {
        "faces": faces_to_tensor(clip.faces[start : start + WINDOW]),
        "mel": mel_tensor(clip.mel, audio_start),
        "label": torch.tensor(float(aligned)),
    }


def face_window_sample(clip: Clip, rng: np.random.Generator, av_hubert_audio: np.ndarray | None = None) -> dict:
    """A generator sample of ``clip`` (:class:`FaceWindowDataset`); with the clip's AV-HuBERT audio features
    (``av_hubert_audio``, (T, 104)), the target window's rows of them as ``av_hubert_audio``."""
    start = int(rng.integers(0, clip.num_frames - WINDOW + 1))
    reference = far_start(rng, clip.num_frames, start)
    sample = {
        "target": faces_to_tensor(clip.faces[start : start + WINDOW]),
        "reference": faces_to_tensor(clip.faces[reference : reference + WINDOW]),
        "frame_mels": torch.stack([mel_tensor(clip.mel, t - 2) for t in range(start, start + WINDOW)]),
        "mel": mel_tensor(clip.mel, start),
    }
    if av_hubert_audio is not None:
        sample["av_hubert_audio"] = torch.from_numpy(av_hubert_audio[start : start + WINDOW])
    return sample


def offset_span(windows: int, stride: int) -> int:
    """The frames an offset sample of ``windows`` windows ``stride`` frames apart covers."""
    if windows < 2 or stride < 1:
        raise ValueError(f"windows={windows}, stride={stride}: need at least 2 windows at least 1 frame apart")
    return WINDOW + stride * (windows - 1)


def offset_sample(clip: Clip, rng: np.random.Generator, windows: int, stride: int, augment: bool = False) -> dict:
    """A multi-way sample of ``clip`` (:class:`OffsetWindowDataset`)."""
    first = int(rng.integers(0, clip.num_frames - offset_span(windows, stride) + 1))
    starts = range(first, first + stride * windows, stride)
    faces = faces_to_tensor(np.stack([clip.faces[s : s + WINDOW] for s in starts]))
    if augment:
        faces = augment_faces(faces.flatten(0, 1), rng).unflatten(0, faces.shape[:2])
    mouth = mouth_shape(np.stack([clip.landmarks[s : s + WINDOW] for s in starts]))
    return {
        "faces": faces,
        "mels": torch.stack([mel_tensor(clip.mel, s) for s in starts]),
        "mouth": torch.from_numpy(mouth),
    }


def augment_faces(faces: torch.Tensor, rng: np.random.Generator, max_shift: int = 4) -> torch.Tensor:
    """One random jitter for a whole (T, 3, H, W) window, so motion between its frames is untouched:
    a shift of up to ``max_shift`` px (edges replicated), a mirror flip (sync does not care about
    left and right), brightness and contrast within ±15 %."""
    dy, dx = (int(v) for v in rng.integers(-max_shift, max_shift + 1, size=2))
    height, width = faces.shape[-2:]
    padded = torch.nn.functional.pad(faces, (max_shift,) * 4, mode="replicate")
    faces = padded[..., max_shift + dy : max_shift + dy + height, max_shift + dx : max_shift + dx + width]
    if rng.random() < 0.5:
        faces = faces.flip(-1)
    contrast, brightness = rng.uniform(0.85, 1.15), rng.uniform(-0.15, 0.15)
    mean = faces.mean(dim=(-3, -2, -1), keepdim=True)
    return ((faces - mean) * contrast + mean + brightness).clamp(0, 1)


class _WindowDataset(torch.utils.data.Dataset):
    min_frames = 2 * WINDOW  # room for two non-overlapping windows

    def __init__(self, clips: list[Clip], samples_per_epoch: int | None = None, seed: int = 0):
        self.clips = [c for c in usable_clips(clips) if c.num_frames >= self.min_frames]
        if not self.clips:
            raise ValueError(f"no clip has the {self.min_frames} frames a {type(self).__name__} sample needs")
        frames = np.array([c.num_frames - self.min_frames + WINDOW + 1 for c in self.clips], float)
        self.weights = frames / frames.sum()  # longer clips are drawn more often
        self.samples_per_epoch = samples_per_epoch or int(frames.sum())
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return self.samples_per_epoch

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, index])

    def _choose(self, rng) -> Clip:
        return self.clips[rng.choice(len(self.clips), p=self.weights)]

    def _draw(self, rng) -> tuple[Clip, int]:
        """The clip and the window start a sample of ``rng`` begins with."""
        clip = self._choose(rng)
        return clip, int(rng.integers(0, clip.num_frames - WINDOW + 1))


class SyncWindowDataset(_WindowDataset):
    """``{"faces": (5, 3, 96, 96), "mel": (1, 80, 16), "label": 0. or 1.}``.

    (Yaman et al., stabilized sync, §3.4.)
    """

    def __getitem__(self, index: int) -> dict:
        rng = self._rng(index)
        return sync_pair_sample(self._choose(rng), rng)


class FaceWindowDataset(_WindowDataset):
    """The generator's samples (Yaman et al., stabilized sync, §3.5).

    ``target`` (5, 3, 96, 96); ``reference`` (5, 3, 96, 96) from a non-overlapping window;
    ``frame_mels`` (5, 1, 80, 16), frame t's window starting at t - 2; ``mel`` (1, 80, 16) the window at
    the target's start, for the sync losses.
    """

    def __getitem__(self, index: int) -> dict:
        rng = self._rng(index)
        return face_window_sample(self._choose(rng), rng)


class OffsetWindowDataset(_WindowDataset):
    """``{"faces": (M, 5, 3, 96, 96), "mels": (M, 1, 80, 16), "mouth": (M, 5, 3)}``: window m starts ``stride * m``
    frames after window 0, faces and mel alike; ``mouth`` is the dlib mouth shape of each face
    (processing.landmarks.mouth_shape), for an auxiliary target. ``augment`` jitters the faces, one
    jitter per sample (:func:`augment_faces`); the mouth shape does not change under it."""

    def __init__(
        self,
        clips: list[Clip],
        windows: int = 8,
        stride: int = 2,
        samples_per_epoch: int | None = None,
        seed: int = 0,
        augment: bool = False,
    ):
        self.windows, self.stride, self.augment = windows, stride, augment
        self.min_frames = offset_span(windows, stride)
        super().__init__(clips, samples_per_epoch, seed)

    def __getitem__(self, index: int) -> dict:
        rng = self._rng(index)
        return offset_sample(self._choose(rng), rng, self.windows, self.stride, self.augment)
