"""Training windows of 96x96 face crops for the image-side models (spec §6.1, §6.5, §6.7).

A window is 5 consecutive faces and the 16-frame mel window (200 ms) that starts at the same video
frame. :class:`SyncWindowDataset` gives the experts' BCE samples: with probability ½ the aligned
audio (label 1), else a mel window of the same clip at least 5 frames away (label 0).
:class:`FaceWindowDataset` gives the generator's samples: target frames, an identity reference
window of the same clip that does not overlap them, the per-frame mel windows centred on each frame
(starting 2 frames before it), and the window's own mel for the sync losses.

Faces come out as float32 (5, 3, 96, 96) in [0, 1]; mel windows as (1, 80, 16), mel on the
frequency axis as in Wav2Lip.
"""

from __future__ import annotations

import numpy as np
import torch

from ..processing.audio import mel_window
from .clips import Clip

WINDOW = 5  # frames per window (200 ms)


def faces_to_tensor(faces: np.ndarray) -> torch.Tensor:
    """(..., 96, 96, 3) uint8 -> (..., 3, 96, 96) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(faces)).movedim(-1, -3).float() / 255.0


def mel_tensor(mel: np.ndarray, frame: int) -> torch.Tensor:
    """The (1, 80, 16) mel window starting at video frame ``frame``."""
    return torch.from_numpy(np.ascontiguousarray(mel_window(mel, frame).T))[None]


def far_start(rng: np.random.Generator, num_frames: int, start: int, gap: int = WINDOW) -> int:
    """A window start in the same clip whose window does not overlap ``start``'s (|s' - s| >= gap)."""
    choices = [s for s in range(num_frames - WINDOW + 1) if abs(s - start) >= gap]
    return int(rng.choice(choices))


def usable_clips(clips: list[Clip]) -> list[Clip]:
    """Clips with faces and room for two non-overlapping windows."""
    missing = [c.clip_id for c in clips if c.faces is None]
    if missing:
        raise ValueError(f"clips {missing[:3]} have no face crops: build the dataset with `talkhead preprocess --faces`")
    return [c for c in clips if c.num_frames >= 2 * WINDOW]


class _WindowDataset(torch.utils.data.Dataset):
    def __init__(self, clips: list[Clip], samples_per_epoch: int | None = None, seed: int = 0):
        self.clips = usable_clips(clips)
        if not self.clips:
            raise ValueError(f"no clip has the {2 * WINDOW} frames two non-overlapping windows need")
        frames = np.array([c.num_frames - WINDOW + 1 for c in self.clips], float)
        self.weights = frames / frames.sum()  # longer clips are drawn more often
        self.samples_per_epoch = samples_per_epoch or int(frames.sum())
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return self.samples_per_epoch

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, index])

    def _draw(self, rng) -> tuple[Clip, int]:
        clip = self.clips[rng.choice(len(self.clips), p=self.weights)]
        return clip, int(rng.integers(0, clip.num_frames - WINDOW + 1))


class SyncWindowDataset(_WindowDataset):
    """``{"faces": (5, 3, 96, 96), "mel": (1, 80, 16), "label": 0. or 1.}`` (spec §6.5)."""

    def __getitem__(self, index: int) -> dict:
        rng = self._rng(index)
        clip, start = self._draw(rng)
        aligned = bool(rng.random() < 0.5)
        audio_start = start if aligned else far_start(rng, clip.num_frames, start)
        return {"faces": faces_to_tensor(clip.faces[start : start + WINDOW]), "mel": mel_tensor(clip.mel, audio_start),
                "label": torch.tensor(float(aligned))}


class FaceWindowDataset(_WindowDataset):
    """The generator's samples (spec §6.1).

    ``target`` (5, 3, 96, 96); ``reference`` (5, 3, 96, 96) from a non-overlapping window;
    ``frame_mels`` (5, 1, 80, 16), frame t's window starting at t - 2; ``mel`` (1, 80, 16) the window at
    the target's start, for the sync losses.
    """

    def __getitem__(self, index: int) -> dict:
        rng = self._rng(index)
        clip, start = self._draw(rng)
        reference = far_start(rng, clip.num_frames, start)
        return {
            "target": faces_to_tensor(clip.faces[start : start + WINDOW]),
            "reference": faces_to_tensor(clip.faces[reference : reference + WINDOW]),
            "frame_mels": torch.stack([mel_tensor(clip.mel, t - 2) for t in range(start, start + WINDOW)]),
            "mel": mel_tensor(clip.mel, start),
        }
