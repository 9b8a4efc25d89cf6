"""Training data of the mouth-motion model: per-frame audio features and mouth displacements of whole clips,
sampled as random windows.

A clip's target is its mouth shapes in the face frame (:func:`talkhead.processing.mouth.mouth_shapes`)
minus the clip's mean shape, so the model learns how speech moves a mouth, not what a mouth looks like.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from ..models.mouth_motion import mouth_audio_features
from ..processing.mouth import mouth_shapes, shape_inner_lip_opening
from ..processing.phones import SILENCE
from .av_offsets import align
from .clips import clip_phones


@dataclass
class MotionClip:
    """One clip ready for the mouth-motion model."""

    clip_id: str
    features: np.ndarray  # (T, input_size) float32
    displacements: np.ndarray  # (T, 20, 2) float32: mouth shape minus the clip's mean shape
    mean_shape: np.ndarray  # (20, 2)
    phones: np.ndarray  # (T, NUM_PHONES): kept to find silent frames

    @property
    def num_frames(self) -> int:
        return len(self.features)


def motion_clip(clip, config, phones: np.ndarray | None = None, lag: int = 0) -> MotionClip:
    """A preprocessed :class:`~talkhead.data.clips.Clip` -> :class:`MotionClip` for ``config`` (a MouthMotionConfig).

    ``lag`` (frames, :mod:`talkhead.data.av_offsets`) undoes the clip's audio-video offset: the mouth of frame
    t + lag is paired with the sound of frame t.
    """

    phones = clip_phones(clip) if phones is None else phones
    stored_mel = getattr(clip, "mel", None)  # the dataset's mel column is mel80 of the clip's audio
    features = mouth_audio_features(clip.audio, clip.num_frames, clip.fps, config, phones=phones, mel=stored_mel)
    shapes = mouth_shapes(clip.landmarks)
    aligned_phones = align(phones, shapes, lag)[0]
    features, shapes = align(features, shapes, lag)
    mean_shape = shapes.mean(0)
    return MotionClip(clip.clip_id, features, (shapes - mean_shape).astype(np.float32), mean_shape, aligned_phones)


class _ClipDraws(torch.utils.data.Dataset):
    """``samples_per_epoch`` draws a pass, each from its own generator seeded by (seed, epoch, index), so a pass
    can be replayed (and resumed) exactly; a clip is drawn in proportion to its ``starts`` (the positions a sample
    can start at), so every position is equally likely."""

    def __init__(self, clips: list[MotionClip], starts: list[int], samples_per_epoch: int, seed: int):
        self.clips, self.samples_per_epoch, self.seed = clips, samples_per_epoch, seed
        counts = np.array(starts, np.float64)
        self.weights = counts / counts.sum()
        self.epoch = 0

    def __len__(self) -> int:
        return self.samples_per_epoch

    def draw(self, index: int) -> tuple[np.random.Generator, MotionClip]:
        rng = np.random.default_rng((self.seed, self.epoch, index))
        return rng, self.clips[rng.choice(len(self.clips), p=self.weights)]


def resample_frames(values: np.ndarray, length: int) -> np.ndarray:
    """(T, ...) -> (length, ...): linear interpolation along time (a window played faster or slower)."""
    flat = values.reshape(len(values), -1)
    positions = np.linspace(0, len(values) - 1, length)
    below = np.floor(positions).astype(int)
    above = np.minimum(below + 1, len(values) - 1)
    weight = (positions - below)[:, None]
    return (flat[below] * (1 - weight) + flat[above] * weight).reshape(length, *values.shape[1:]).astype(values.dtype)


def warp_bands(mel: np.ndarray, factor: float) -> np.ndarray:
    """(T, B) mel bands read at ``factor`` x their index (vocal tract length perturbation: a longer or shorter
    vocal tract moves the formants, and a new speaker's voice sits higher or lower than the training voices)."""
    bands = mel.shape[1]
    source = np.clip(np.arange(bands) * factor, 0, bands - 1)
    below = np.floor(source).astype(int)
    above = np.minimum(below + 1, bands - 1)
    weight = source - below
    return (mel[:, below] * (1 - weight) + mel[:, above] * weight).astype(mel.dtype)


class MouthWindowDataset(_ClipDraws):
    """Random windows of ``window`` frames (shorter clips whole, zero-padded with a mask); ``samples_per_epoch`` a pass.

    Clips are drawn in proportion to their length, so every frame is equally likely to be seen.
    ``time_stretch`` s > 0 plays each window at a random rate in [1 - s, 1 + s] (features and mouth together: people
    speak at different speeds); ``band_warp`` w > 0 warps the mel bands of ``mel_columns`` by a random factor in
    [1 - w, 1 + w] (voices of other pitch and timbre).
    """

    def __init__(
        self,
        clips: list[MotionClip],
        window: int = 100,
        samples_per_epoch: int = 2048,
        seed: int = 0,
        time_stretch: float = 0.0,
        band_warp: float = 0.0,
        mel_columns: slice | None = None,
    ):
        if not clips:
            raise ValueError("MouthWindowDataset needs at least one clip")
        if band_warp and mel_columns is None:
            raise ValueError("MouthWindowDataset: band_warp needs mel_columns (the features hold no mel)")
        super().__init__(clips, [c.num_frames for c in clips], samples_per_epoch, seed)
        self.window, self.time_stretch, self.band_warp, self.mel_columns = window, time_stretch, band_warp, mel_columns

    def __getitem__(self, index: int) -> dict:
        rng, clip = self.draw(index)
        return window_sample(clip, rng, self.window, self.time_stretch, self.band_warp, self.mel_columns)


def window_sample(
    clip: MotionClip,
    rng: np.random.Generator,
    window: int,
    time_stretch: float = 0.0,
    band_warp: float = 0.0,
    mel_columns: slice | None = None,
) -> dict:
    """One training window of ``clip`` drawn with ``rng`` (see :class:`MouthWindowDataset`): audio features, mouth
    displacement labels and the mask of real (not padded) frames, as tensors."""
    rate = rng.uniform(1 - time_stretch, 1 + time_stretch) if time_stretch else 1.0
    span = int(round(window * rate))
    if span > clip.num_frames:  # a short clip is taken whole, at its own speed
        span = min(window, clip.num_frames)
    start = int(rng.integers(0, clip.num_frames - span + 1))
    source_features = clip.features[start : start + span]
    source_labels = clip.displacements[start : start + span]
    if span != window and span > window // 2:
        source_features, source_labels = (
            resample_frames(source_features, window),
            resample_frames(source_labels, window),
        )
    if band_warp:
        source_features = source_features.copy()
        source_features[:, mel_columns] = warp_bands(
            source_features[:, mel_columns], rng.uniform(1 - band_warp, 1 + band_warp)
        )
    length = min(len(source_features), window)
    features = np.zeros((window, clip.features.shape[1]), np.float32)
    labels = np.zeros((window, *clip.displacements.shape[1:]), np.float32)
    mask = np.zeros(window, np.float32)
    features[:length] = source_features[:length]
    labels[:length] = source_labels[:length]
    mask[:length] = 1
    return {
        "audio_features": torch.from_numpy(features),
        "labels": torch.from_numpy(labels),
        "mask": torch.from_numpy(mask),
    }


def speech_opening_std(shapes: list[np.ndarray]) -> float:
    """The median over clips of the standard deviation of their inner-lip opening (inter-ocular units; ``shapes``
    each clip's (T, 20, 2) mouth shapes): how much a typical speaker's mouth moves
    (``MouthMotionConfig.speech_opening_std``)."""
    spreads = [np.std(shape_inner_lip_opening(s)) for s in shapes if len(s) > 1]
    return float(np.median(spreads)) if spreads else 0.0


def silence_displacement(clips: Iterable[MotionClip], threshold: float = 0.9) -> np.ndarray:
    """(20, 2) mean displacement over frames whose phones are at least ``threshold`` silence: the rest pose. One
    pass, one clip at a time (``clips`` may be a stream)."""
    total, count = np.zeros((20, 2)), 0
    for clip in clips:
        silent = clip.displacements[clip.phones[:, SILENCE] >= threshold]
        total += silent.sum(0, dtype=np.float64)
        count += len(silent)
    return total / count if count else total


class MouthSyncGroupDataset(_ClipDraws):
    """Groups of ``windows_per_group`` windows of one clip, ``stride`` frames apart, for the mouth-sync expert.

    Window m of a group holds the mouth displacements and the audio features of the same frames; the
    expert must pair each mouth window with its own audio among the group's (hard negatives: the same
    speaker, a few frames off). ``augment`` scales each group's displacements (mouths differ in size
    and in how much they move) and adds tracking-like jitter.
    """

    def __init__(
        self,
        clips: list[MotionClip],
        window: int,
        windows_per_group: int = 8,
        stride: int = 2,
        samples_per_epoch: int = 2048,
        seed: int = 0,
        augment: bool = False,
    ):
        self.span = window + (windows_per_group - 1) * stride
        usable = [c for c in clips if c.num_frames >= self.span]
        if not usable:
            raise ValueError(f"MouthSyncGroupDataset: no clip has the {self.span} frames a group spans")
        super().__init__(usable, [c.num_frames - self.span + 1 for c in usable], samples_per_epoch, seed)
        self.window, self.windows_per_group, self.stride, self.augment = window, windows_per_group, stride, augment

    def __getitem__(self, index: int) -> dict:
        rng, clip = self.draw(index)
        return group_sample(clip, rng, self.window, self.windows_per_group, self.stride, self.augment)


def group_sample(
    clip: MotionClip, rng: np.random.Generator, window: int, windows_per_group: int, stride: int, augment: bool = False
) -> dict:
    """One group of ``clip`` (see :class:`MouthSyncGroupDataset`); the clip has at least the frames a group spans."""
    span = window + (windows_per_group - 1) * stride
    start = int(rng.integers(0, clip.num_frames - span + 1))
    starts = start + stride * np.arange(windows_per_group)
    frames = starts[:, None] + np.arange(window)
    mouth = clip.displacements[frames]
    if augment:
        mouth = mouth * rng.uniform(0.75, 1.33) + rng.normal(0, 0.1, mouth.shape).astype(np.float32) * mouth.std()
    return {
        "mouth_windows": torch.from_numpy(mouth.astype(np.float32)),
        "audio_windows": torch.from_numpy(clip.features[frames].astype(np.float32)),
    }
