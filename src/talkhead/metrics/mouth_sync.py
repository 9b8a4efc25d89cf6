"""The mouth-sync expert as a :class:`~talkhead.metrics.sync.SyncExpert`, and a clip's audio-video offset with it.

The clip offset is SyncNet's search over the expert (:class:`MouthSyncExpert`;
:func:`talkhead.metrics.sync.expert_offset`, cosine distance, overlapping windows only): every window of the
mouth is compared with the audio window ``offset`` frames earlier, the mean cosine per offset is its score, the
best offset wins, and its score above the median of all offsets is the confidence. The sign is that of
:mod:`talkhead.data.av_offsets`: offset > 0 means the mouth moves after the sound that made it.
"""

from __future__ import annotations

import numpy as np
import torch

from ..processing.mouth import mouth_shapes
from .sync import expert_offset


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
    """{offset, confidence, scores}: the offset of best mean cosine over the clip (see the module docstring);
    ``scores`` is the mean cosine of every offset, from -max_lag to max_lag."""
    expert = MouthSyncExpert(model)
    windows = expert.num_windows(displacements, features)
    if windows <= 2 * max_lag:
        raise ValueError(f"{windows} windows are too few to search offsets of ±{max_lag} frames")
    found = expert_offset(expert, displacements, features, vshift=max_lag)
    return {"offset": found.offset, "confidence": found.confidence, "scores": found.scores.round(4).tolist()}


def mouth_displacements(landmarks: np.ndarray, found: np.ndarray) -> np.ndarray:
    """(T, 20, 2) mouth shapes in the face frame minus their mean over frames with a face; frames without one
    get the mean (no motion), so they neither help nor fake a match."""

    if not found.any():
        raise ValueError("no face was found in any frame")
    shapes = np.zeros((len(found), 20, 2), np.float32)
    shapes[found] = mouth_shapes(landmarks[found])
    shapes[found] -= shapes[found].mean(0)
    return shapes
