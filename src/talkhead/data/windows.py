"""Training windows cut from preprocessed clips, as torch datasets.

Syncer windows (Airale et al., MS-Sync, §3.1; the sampling of the authors' syncer-training script,
LouisBearing/FlowMatchingPortraits ``prepare_batch``): every clip's landmark and audio pyramids are computed once.
A sample is one clip: a random audio offset o in [0, 20), then non-overlapping 20-frame audio
windows starting at o, o + 20, ... with the 5-frame landmark window starting at a quarter of that
index, at every level. :func:`group_windows` pools the windows of a batch of clips and cuts them
into contrastive groups: mixed groups of 48 for InfoNCE, or groups of 12 from one clip for the
SyncNet-style evaluation syncers.

Augmentation (MS-Sync code, LouisBearing/HMo-audio; our choice: the flip is done on the fly where the code loads
pre-flipped files), the same for every window of a clip: horizontal flip with the iBUG-68
index swap (p = 0.5), isotropic scale U(0.9, 1.1) about the crop centre, translation U(-0.08, 0.08)
per axis, and a constant added to the log audio features, U(-0.1 R, 0.1 R) with R the clip's
feature range. All of these are affine, and the pyramid is a normalised linear filter, so they are
applied to the precomputed pyramid levels directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..models.ms_sync.feature_extraction_ms_sync import numpy_pyramid
from ..processing.landmarks import FLIP_PERMUTATION, smooth_landmarks
from .clips import Clip


@dataclass
class PyramidClip:
    """One clip's landmark and audio sequences at every pyramid level."""

    clip_id: str
    source: str
    landmarks: list[np.ndarray]  # per level (T_i, 68, 2)
    audio: list[np.ndarray]  # per level (A_i, 26)
    audio_range: float  # max - min of the level-1 log features (for the gain augmentation)

    @property
    def num_frames(self) -> int:
        return len(self.landmarks[0])


def pyramid_clip(clip: Clip, num_levels: int, smooth: bool = True) -> PyramidClip:
    landmarks = smooth_landmarks(clip.landmarks, 3) if smooth else clip.landmarks
    frames = len(landmarks)
    landmark_levels = [
        level.reshape(len(level), 68, 2) for level in numpy_pyramid(landmarks.reshape(frames, -1), num_levels)
    ]
    audio_levels = numpy_pyramid(clip.logfbank, num_levels)
    return PyramidClip(
        clip.clip_id, clip.source, landmark_levels, audio_levels, float(clip.logfbank.max() - clip.logfbank.min())
    )


@dataclass(frozen=True)
class Augmentation:
    """Per-clip augmentation parameters (identity by default)."""

    flip: bool = False
    scale: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)
    audio_offset: float = 0.0

    @classmethod
    def sample(cls, rng: np.random.Generator, audio_range: float) -> Augmentation:
        return cls(
            flip=bool(rng.random() < 0.5),
            scale=float(rng.uniform(0.9, 1.1)),
            shift=(float(rng.uniform(-0.08, 0.08)), float(rng.uniform(-0.08, 0.08))),
            audio_offset=float(rng.uniform(-0.1, 0.1) * audio_range),
        )

    def landmarks(self, points: np.ndarray) -> np.ndarray:
        if self.flip:
            points = points[..., FLIP_PERMUTATION, :].copy()
            points[..., 0] = 1.0 - points[..., 0]
        return ((points - 0.5) * self.scale + 0.5 + np.asarray(self.shift, np.float32)).astype(np.float32)

    def audio(self, features: np.ndarray) -> np.ndarray:
        return (features + self.audio_offset).astype(np.float32)


def cut_syncer_windows(
    clip: PyramidClip,
    level: int,
    offset: int,
    augmentation: Augmentation = Augmentation(),
    landmark_window: int = 5,
    audio_window: int = 20,
) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping windows of one level: (N, 5, 68, 2) landmarks and (N, 20, 26) audio.

    Audio windows start at ``offset``, ``offset + 20``, ...; each landmark window starts at
    ``round(j · T_i / A_i)`` (a quarter of the audio index).
    """
    landmarks, audio = clip.landmarks[level - 1], clip.audio[level - 1]
    frames, audio_frames = len(landmarks), len(audio)
    x_windows, a_windows = [], []
    for start in range(offset, audio_frames - audio_window + 1, audio_window):
        frame = int(round(start * frames / audio_frames))
        if frame + landmark_window > frames:
            break
        x_windows.append(landmarks[frame : frame + landmark_window])
        a_windows.append(audio[start : start + audio_window])
    if not x_windows:
        return np.zeros((0, landmark_window, 68, 2), np.float32), np.zeros(
            (0, audio_window, audio.shape[1]), np.float32
        )
    return augmentation.landmarks(np.stack(x_windows)), augmentation.audio(np.stack(a_windows))


class SyncerWindowDataset(torch.utils.data.Dataset):
    """One item per clip: its windows at every level, with a fresh random offset and augmentation.

    Items are ``{"clip": index, "landmarks": [per level (N_i, 5, 68, 2)], "audio": [per level (N_i, 20, 26)]}``.
    Randomness comes from ``seed``, the item and, once training sets ``epoch`` (the pass), the pass: a resumed run
    draws the windows of an uninterrupted one; while ``epoch`` is None, the item counter and the worker, so runs
    repeat.
    """

    def __init__(
        self, clips: list[PyramidClip], levels: list[int], augment: bool = True, seed: int = 0, audio_window: int = 20
    ):
        self.clips = clips
        self.levels = levels
        self.augment = augment
        self.seed = seed
        self.audio_window = audio_window
        self.epoch: int | None = None
        self._draws = 0

    def __len__(self) -> int:
        return len(self.clips)

    def _rng(self, index: int) -> np.random.Generator:
        if self.epoch is not None:
            return np.random.default_rng([self.seed, index, self.epoch, 1])
        worker = torch.utils.data.get_worker_info()
        self._draws += 1
        return np.random.default_rng([self.seed, index, self._draws, worker.id if worker else 0])

    def __getitem__(self, index: int) -> dict:
        item = syncer_item(self.clips[index], self._rng(index), self.levels, self.augment, self.audio_window)
        return {"clip": index, **item}


def syncer_item(
    clip: PyramidClip, rng: np.random.Generator, levels: list[int], augment: bool = True, audio_window: int = 20
) -> dict:
    """One clip's windows at every level of ``levels``, at a random offset per level and with one random
    augmentation (see :class:`SyncerWindowDataset`)."""
    augmentation = Augmentation.sample(rng, clip.audio_range) if augment else Augmentation()
    landmarks, audio = [], []
    for level in levels:
        offset = int(rng.integers(0, audio_window))
        x, a = cut_syncer_windows(clip, level, offset, augmentation, audio_window=audio_window)
        landmarks.append(torch.from_numpy(x))
        audio.append(torch.from_numpy(a))
    return {"landmarks": landmarks, "audio": audio}


def group_windows(
    items: list[dict], group_size: int, same_clip: bool, generator: torch.Generator | None = None
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per level: (G_groups, group_size, 5, 68, 2) landmarks and (G_groups, group_size, 20, 26) audio.

    Mixed groups pool every clip's windows and shuffle them (other clips and misaligned parts of the
    same clip are the negatives). ``same_clip`` groups take ``group_size`` windows of one clip, in
    time order (SyncNet-style negatives). Leftover windows that do not fill a group are dropped.
    """
    grouped = []
    for level_index in range(len(items[0]["landmarks"])):
        chunks_x, chunks_a = [], []
        if same_clip:
            for item in items:
                x, a = item["landmarks"][level_index], item["audio"][level_index]
                for start in range(0, len(x) - group_size + 1, group_size):
                    chunks_x.append(x[start : start + group_size])
                    chunks_a.append(a[start : start + group_size])
            if chunks_x:
                order = torch.randperm(len(chunks_x), generator=generator)
                chunks_x = [chunks_x[i] for i in order]
                chunks_a = [chunks_a[i] for i in order]
        else:
            x = torch.cat([item["landmarks"][level_index] for item in items])
            a = torch.cat([item["audio"][level_index] for item in items])
            order = torch.randperm(len(x), generator=generator)
            x, a = x[order], a[order]
            for start in range(0, len(x) - group_size + 1, group_size):
                chunks_x.append(x[start : start + group_size])
                chunks_a.append(a[start : start + group_size])
        if chunks_x:
            grouped.append((torch.stack(chunks_x), torch.stack(chunks_a)))
        else:
            grouped.append((torch.zeros(0, group_size, 5, 68, 2), torch.zeros(0, group_size, 20, 26)))
    return grouped


def window_statistics(clips: list[PyramidClip], center: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean and std of level-1 syncer windows (landmarks 136, audio 26), each window centred first if ``center``."""
    windows = [cut_syncer_windows(clip, 1, 0) for clip in clips]
    landmarks = np.concatenate([w[0] for w in windows]).reshape(-1, 5, 136)
    audio = np.concatenate([w[1] for w in windows])
    if center:
        landmarks = landmarks - landmarks.mean(axis=1, keepdims=True)
        audio = audio - audio.mean(axis=1, keepdims=True)
    landmarks, audio = landmarks.reshape(-1, 136), audio.reshape(-1, audio.shape[-1])
    return landmarks.mean(0), landmarks.std(0), audio.mean(0), audio.std(0)


def input_statistics(clips: list[PyramidClip | Clip]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean and std of the landmark coordinates (136) and audio channels (26) over ``clips`` (level 1)."""

    def level_one(clip):
        return (clip.landmarks[0], clip.audio[0]) if isinstance(clip, PyramidClip) else (clip.landmarks, clip.logfbank)

    pairs = [level_one(c) for c in clips]
    landmarks = np.concatenate([lm.reshape(len(lm), -1) for lm, _ in pairs])
    audio = np.concatenate([a for _, a in pairs])
    return landmarks.mean(0), landmarks.std(0), audio.mean(0), audio.std(0)


class LandmarkSequenceDataset(torch.utils.data.Dataset):
    """Random sub-clips for the MS-Sync generator: ``length`` frames of landmarks and their audio.

    Sub-clips are drawn as the MS-Sync code draws its training rollouts (Airale et al., MS-Sync, §4.1;
    LouisBearing/HMo-audio, ``prepare_train_batch``). Items are ``{"landmarks": (length, 68, 2),
    "audio": (4 length, 26)}``; landmarks are smoothed over 3 frames (MS-Sync code, ``VoxLipsDataset``)
    and, with ``augment``, flipped / scaled / shifted with the audio gain of the syncer windows above.
    Clips shorter than ``length + 3`` frames are left out; longer clips are drawn more often, in proportion to
    the sub-clips they hold. An epoch is ``samples_per_epoch`` draws; item ``index`` of epoch ``epoch`` (set by the
    training loop) is the same draw whatever the worker, so a resumed run sees the sequences an uninterrupted one
    would.
    """

    def __init__(
        self, clips: list[Clip], length: int, augment: bool = True, seed: int = 0, samples_per_epoch: int | None = None
    ):
        self.clips = [c for c in clips if c.num_frames >= length + 3]
        if not self.clips:
            raise ValueError(f"no clip has the {length + 3} frames a {length}-frame training sequence needs")
        self.length = length
        self.augment = augment
        self.seed = seed
        self.landmarks = [smooth_landmarks(c.landmarks, 3) for c in self.clips]
        starts = np.array([c.num_frames - length + 1 for c in self.clips], np.float64)
        self.weights = starts / starts.sum()
        self.samples_per_epoch = samples_per_epoch or max(1, int(starts.sum()) // length)
        self.epoch = 0

    def __len__(self) -> int:
        return self.samples_per_epoch

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        choice = int(rng.choice(len(self.clips), p=self.weights))
        return landmark_sequence(self.landmarks[choice], self.clips[choice].logfbank, rng, self.length, self.augment)


def landmark_sequence(
    landmarks: np.ndarray, logfbank: np.ndarray, rng: np.random.Generator, length: int, augment: bool = True
) -> dict:
    """A random ``length``-frame sub-clip of one clip's smoothed ``landmarks`` and its ``logfbank`` rows (see
    :class:`LandmarkSequenceDataset`)."""
    start = int(rng.integers(0, len(landmarks) - length + 1))
    landmarks = landmarks[start : start + length]
    audio = logfbank[4 * start : 4 * (start + length)]
    if augment:
        augmentation = Augmentation.sample(rng, float(logfbank.max() - logfbank.min()))
        landmarks, audio = augmentation.landmarks(landmarks), augmentation.audio(audio)
    return {
        "landmarks": torch.from_numpy(np.ascontiguousarray(landmarks, np.float32)),
        "audio": torch.from_numpy(np.ascontiguousarray(audio, np.float32)),
    }
