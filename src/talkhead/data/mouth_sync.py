"""The mouth-sync expert's offsets: the expert as a :class:`~talkhead.metrics.sync.SyncExpert`, a clip's audio-video
offset, a video's, and the offset accuracy of the experts' validation. The model is :mod:`talkhead.models.mouth_sync`.

* :func:`clip_offset`: SyncNet's search over the expert (:class:`MouthSyncExpert`;
  :func:`talkhead.metrics.sync.expert_offset`, cosine distance, overlapping windows only): every window of the mouth
  is compared with the audio window ``offset`` frames earlier, the mean cosine per offset is its score, the best
  offset wins, and its score above the median of all offsets is the confidence.
* :func:`mouth_sync_video`: that offset for a video (the ``mouth_sync`` metric of ``talkhead evaluate video``, whose
  verdict it gives; the Space scores its results with it).
* :func:`group_offset_accuracy`: in groups of windows of one clip, how often each mouth window picks its own audio
  (the validation of ``examples/train_mouth_sync.py`` and the benchmarks).

The sign is that of :mod:`talkhead.data.av_offsets`: offset > 0 means the mouth moves after the sound that made it.
This module is in ``data`` because both ends are: ``talkhead preprocess`` measures every clip's offset with it
(:func:`talkhead.data.filters.av_offset`), and the validation accuracy draws its groups from the training windows
(:class:`~talkhead.data.mouth_windows.MouthSyncGroupDataset`).
"""

from __future__ import annotations

import numpy as np
import torch

from .. import defaults
from ..errors import TalkheadInputError
from ..hub import load_pretrained
from ..io.audio import SAMPLE_RATE, load_audio
from ..metrics.sync import expert_offset, group_offset_scores
from ..models.mouth_motion import mouth_audio_features
from ..models.mouth_sync import MouthSyncModel
from ..processing.mouth import mouth_shapes
from ..processing.tracked_clip import TrackedClip, track_clip
from .mouth_windows import MouthSyncGroupDataset


def sliding_windows(array: np.ndarray, window: int) -> np.ndarray:
    """(T, ...) -> (T - window + 1, window, ...): every window of ``window`` consecutive frames (a view)."""
    if len(array) < window:
        raise ValueError(f"{len(array)} frames are fewer than the expert's window of {window}")
    view = np.lib.stride_tricks.sliding_window_view(array, window, axis=0)
    return np.moveaxis(view, -1, 1)


class MouthSyncExpert:
    """The mouth-sync expert as a :class:`~talkhead.metrics.sync.SyncExpert`: visual = (T, 20, 2) mouth displacements
    (:func:`mouth_displacements`), audio = (T, F) per-frame phone + mel features; cosine, overlapping windows only."""

    metric = "cosine"
    padding = "valid"

    def __init__(self, model, batch_size: int = 512):
        self.model, self.batch_size = model.eval(), batch_size
        self.window = model.config.window

    def num_windows(self, displacements, features) -> int:
        return min(len(features), len(displacements)) - self.window + 1

    def embed_visual(self, displacements, count: int) -> np.ndarray:
        return self._embed(self.model.embed_mouth, displacements, count)

    def embed_audio(self, features, count: int) -> np.ndarray:
        return self._embed(self.model.embed_audio, features, count)

    @torch.no_grad()
    def _embed(self, embed, values, count: int) -> np.ndarray:
        windows = sliding_windows(np.asarray(values[: count + self.window - 1], np.float32), self.window)
        return torch.cat(
            [
                embed(torch.from_numpy(np.ascontiguousarray(windows[start : start + self.batch_size])))
                for start in range(0, len(windows), self.batch_size)
            ]
        ).numpy()


def clip_offset(model, features: np.ndarray, displacements: np.ndarray, max_lag: int = 15) -> dict:
    """{offset, confidence, scores, windows}: the offset of best mean cosine over the clip (see the module docstring);
    ``scores`` is the mean cosine of every offset, from -max_lag to max_lag; ``windows`` how many mouth windows
    were compared (the confidence of a match by chance shrinks as they grow)."""
    expert = MouthSyncExpert(model)
    windows = expert.num_windows(displacements, features)
    if windows <= 2 * max_lag:
        raise ValueError(f"{windows} windows are too few to search offsets of ±{max_lag} frames")
    found = expert_offset(expert, displacements, features, vshift=max_lag)
    return {
        "offset": found.offset,
        "confidence": found.confidence,
        "scores": found.scores.round(4).tolist(),
        "windows": windows,
    }


def mouth_displacements(landmarks: np.ndarray, found: np.ndarray) -> np.ndarray:
    """(T, 20, 2) mouth shapes in the face frame minus their mean over frames with a face; frames without one
    get the mean (no motion), so they neither help nor fake a match."""

    if not found.any():
        raise ValueError("no face was found in any frame")
    shapes = np.zeros((len(found), 20, 2), np.float32)
    shapes[found] = mouth_shapes(landmarks[found])
    shapes[found] -= shapes[found].mean(0)
    return shapes


@torch.no_grad()
def group_offset_accuracy(
    model, clips, windows_per_group: int = 8, stride: int = 2, samples: int = 256, seed: int = 4321
) -> dict:
    """The experts' offset accuracy: in groups of windows of one clip, how often each mouth window scores its own
    audio highest (chance 1 / windows_per_group), with the mean aligned and shifted cosines."""

    dataset = MouthSyncGroupDataset(clips, model.config.window, windows_per_group, stride, samples, seed)
    model.eval()
    cosines = [
        torch.einsum(
            "gmd,gnd->gmn", model.embed_mouth(batch["mouth_windows"]), model.embed_audio(batch["audio_windows"])
        )
        for batch in torch.utils.data.DataLoader(dataset, batch_size=64)
    ]
    return {
        **group_offset_scores(torch.cat(cosines)),
        "clips": len(dataset.clips),
        "samples": samples,
        "windows": windows_per_group,
        "stride": stride,
    }


def mouth_sync_video(video, audio=None, model=defaults.MOUTH_SYNC, max_lag: int = 15) -> dict:
    """The mouth-sync expert's offset and confidence for ``video`` (a path, tracked with dlib at 25 fps, or a
    :class:`~talkhead.processing.tracked_clip.TrackedClip`) against ``audio`` (a file, or a 16 kHz wave; default: the
    video's own track). Offset > 0: the mouth moves after its sound."""

    expert = load_pretrained(MouthSyncModel, model) if isinstance(model, str) else model
    tracked = video if isinstance(video, TrackedClip) else track_clip(video)
    if tracked.found.mean() < 0.5:
        raise TalkheadInputError(
            f"a face was found in only {tracked.found.sum()} of {tracked.num_frames} frames of "
            f"{tracked.path}; the mouth-sync expert needs a face in most frames"
        )
    wave = audio if isinstance(audio, np.ndarray) else load_audio(tracked.path if audio is None else audio)
    frames = min(tracked.num_frames, int(len(wave) / SAMPLE_RATE * tracked.fps))
    needed = expert.config.window + 2 * max_lag + 1
    if frames < needed:
        raise TalkheadInputError(
            f"{tracked.path} gives {frames} frames with audio; the mouth-sync offset search needs at "
            f"least {needed} ({needed / defaults.VIDEO_FPS:.1f} s)"
        )
    features = mouth_audio_features(wave, frames, tracked.fps, expert.config)
    landmarks, valid = tracked.short_gaps_filled()
    displacements = mouth_displacements(landmarks[:frames], valid[:frames])
    return {
        **clip_offset(expert, features, displacements, max_lag),
        "frames": frames,
        "max_lag": max_lag,
        "model": str(model if isinstance(model, str) else expert.name_or_path),
    }
