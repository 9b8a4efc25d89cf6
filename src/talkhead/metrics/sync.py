"""Audio-visual offset and confidence: the SyncNet search, for any two embedding sequences.

SyncNet (Chung & Zisserman; ``joonson/syncnet_python``) compares each visual embedding v_t with the
audio embeddings around it: the audio sequence is padded with ``vshift`` zero vectors at both ends
and, for each shift k in 0..2·vshift, m(k) = mean_t ‖v_t - ũ_{t+k}‖ (``SyncNetInstance.py``,
``calc_pdist`` and ``evaluate``):

* offset = vshift - argmin_k m(k), in steps of the sequences' rate (positive: audio leads);
* min distance (LSE-D) = min_k m(k);
* confidence (LSE-C, AV-Conf) = median_k m(k) - min_k m(k).

Every sync expert of the package is a :class:`SyncExpert` (our SyncNet expert and AVSyncNet, SyncNet v2,
the MS-Sync syncers at each level, AV-HuBERT, the mouth-sync expert): it embeds a visual and an audio
sequence window by window and says how to compare them; :func:`expert_offset` runs the one search,
:func:`offset_search`, over any of them, and :class:`SyncResult` is the one result (MS-Sync's
AV-Off / AV-Conf, LSE-D / LSE-C, the mouth-sync offset are all its fields under other names).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

VSHIFT = 15


@runtime_checkable
class SyncExpert(Protocol):
    """A model that embeds what is seen and what is heard so that in-sync windows lie close.

    ``embed_visual(visual, count)`` and ``embed_audio(audio, count)`` return (count, D) embeddings of the
    windows starting at frames 0, 1, ..., count - 1 (each covers ``window`` frames, or that many steps of a
    coarser rate); ``num_windows(visual, audio)`` says how many windows both inputs hold. ``metric`` is the
    distance of the search: ``"euclidean"`` for experts trained on distances (SyncNet), ``"cosine"`` (1 -
    cosine) for experts trained on scores. ``padding`` is the search's (see :func:`distance_matrix`).
    """

    window: int
    metric: str
    padding: str

    def num_windows(self, visual, audio) -> int: ...

    def embed_visual(self, visual, count: int) -> np.ndarray: ...

    def embed_audio(self, audio, count: int) -> np.ndarray: ...


def expert_offset(expert: SyncExpert, visual, audio, vshift: int = VSHIFT) -> SyncResult:
    """The offset search of :func:`offset_search` over ``expert``'s embeddings of ``visual`` and ``audio``.

    Raises:
        ValueError: the inputs hold no whole window.
    """
    count = expert.num_windows(visual, audio)
    if count < 1:
        raise ValueError(f"the inputs are shorter than the expert's window of {expert.window} frames")
    return offset_search(
        expert.embed_visual(visual, count), expert.embed_audio(audio, count), vshift, expert.metric, expert.padding
    )


@dataclass
class SyncResult:
    """Outcome of :func:`offset_search`.

    Attributes:
        offset: vshift - argmin of the mean distance curve, in sequence steps.
        min_distance: the minimum of the curve (LSE-D).
        confidence: median minus minimum of the curve (LSE-C / AV-Conf).
        distances: the curve m(k) for offsets ``offsets``, (2·vshift + 1,).
        offsets: the offset each entry of ``distances`` stands for (vshift, ..., -vshift).
        frame_confidence: per-step confidence as SyncNet computes it: the median of the curve minus
            each step's distance at the best shift, median-filtered over 9 steps; (T,).
    """

    offset: int
    min_distance: float
    confidence: float
    distances: np.ndarray
    offsets: np.ndarray
    frame_confidence: np.ndarray

    @property
    def scores(self) -> np.ndarray:
        """1 - distance per offset, from -vshift to +vshift: the mean cosine of cosine experts."""
        return 1.0 - self.distances[::-1]

    def to_dict(self, curves: bool = True) -> dict:
        data: dict[str, object] = {
            "offset": int(self.offset),
            "abs_offset": abs(int(self.offset)),
            "min_distance": float(self.min_distance),
            "confidence": float(self.confidence),
        }
        if curves:
            data["offsets"] = self.offsets.tolist()
            data["distances"] = [round(float(d), 6) for d in self.distances]
        return data


def _as_numpy(array) -> np.ndarray:
    if hasattr(array, "detach"):
        array = array.detach().float().cpu().numpy()
    return np.asarray(array, dtype=np.float64)


def distance_matrix(
    video: np.ndarray, audio: np.ndarray, vshift: int = VSHIFT, metric: str = "euclidean", padding: str = "zeros"
) -> np.ndarray:
    """(T, 2·vshift + 1) distances ‖v_t - ũ_{t+k}‖ against the padded audio embeddings.

    ``padding="zeros"`` is SyncNet's: shifts that run past either end compare with zero vectors.
    ``padding="valid"`` marks those entries NaN instead, so only overlapping windows count.
    """
    video, audio = _as_numpy(video), _as_numpy(audio)
    if video.ndim != 2 or audio.ndim != 2 or video.shape[1] != audio.shape[1]:
        raise ValueError(f"expected two (T, D) embedding sequences, got {video.shape} and {audio.shape}")
    if len(video) == 0:
        raise ValueError("cannot search offsets over empty embedding sequences")
    steps = len(video)
    padded = np.concatenate(
        [
            np.zeros((vshift, audio.shape[1])),
            audio[:steps],
            np.zeros((vshift + max(0, steps - len(audio)), audio.shape[1])),
        ]
    )
    shifts = np.stack([padded[k : k + steps] for k in range(2 * vshift + 1)], axis=1)  # (T, K, D)
    if metric == "euclidean":
        distances = np.linalg.norm(video[:, None, :] - shifts, axis=-1)
    elif metric == "cosine":
        norms = np.linalg.norm(video, axis=-1)[:, None] * np.linalg.norm(shifts, axis=-1)
        distances = 1.0 - np.einsum("td,tkd->tk", video, shifts) / np.maximum(norms, 1e-12)
    else:
        raise ValueError(f"metric must be 'euclidean' or 'cosine', got {metric!r}")
    if padding == "valid":
        source = np.arange(steps)[:, None] + np.arange(2 * vshift + 1)[None, :] - vshift
        distances = np.where((source >= 0) & (source < min(steps, len(audio))), distances, np.nan)
    elif padding != "zeros":
        raise ValueError(f"padding must be 'zeros' or 'valid', got {padding!r}")
    return distances


def offset_search(
    video_embeddings, audio_embeddings, vshift: int = VSHIFT, metric: str = "euclidean", padding: str = "zeros"
) -> SyncResult:
    """SyncNet's offset / confidence search over two aligned embedding sequences (T, D) each.

    ``video_embeddings[t]`` and ``audio_embeddings[t]`` describe the same window t when the two
    streams are in sync. The distances of every window at every shift are averaged over windows
    before the minimum and median are taken, as in SyncNet.

    With SyncNet's zero padding (the default, as in ``SyncNetInstance.py``) even a sequence that carries no information
    (a static face) gets a positive confidence, because shifts that reach the padding are farther;
    the paper's static baseline shows it (AV-Conf 0.63). ``padding="valid"`` averages only windows
    that overlap, where identical constant sequences give a confidence of exactly 0.
    """
    per_step = distance_matrix(video_embeddings, audio_embeddings, vshift, metric, padding)
    with warnings.catch_warnings():  # valid padding: shifts and steps with no overlapping window have no mean or median
        warnings.simplefilter("ignore", RuntimeWarning)
        curve = np.nan_to_num(np.nanmean(per_step, axis=0), nan=np.inf)
        best = int(np.argmin(curve))
        finite = curve[np.isfinite(curve)]
        # SyncNetInstance.evaluate: median(curve) - D_t(best), then scipy.signal.medfilt(·, 9)
        smoothed = _median_filter(np.median(finite) - per_step[:, best], 9)
    return SyncResult(
        offset=vshift - best,
        min_distance=float(curve[best]),
        confidence=float(np.median(finite) - curve[best]),
        distances=curve,
        offsets=vshift - np.arange(2 * vshift + 1),
        frame_confidence=smoothed,
    )


def _median_filter(values: np.ndarray, kernel: int) -> np.ndarray:
    """scipy.signal.medfilt (zero-padded ends) that skips NaN, the steps with no window at a shift (valid padding)."""
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(values, kernel // 2), kernel)
    return np.nanmedian(windows, axis=1)


def retrieval_accuracy(audio_embeddings, landmark_embeddings, euclidean: bool = False) -> float:
    """Fraction of audio windows whose nearest landmark window among the group is the aligned one.

    Cosine similarity for the loss syncers; ``euclidean=True`` for the evaluation syncers. Chance is
    1 / group size.
    """
    audio, landmarks = _as_numpy(audio_embeddings), _as_numpy(landmark_embeddings)
    if euclidean:
        scores = -np.linalg.norm(audio[:, None] - landmarks[None], axis=-1)
    else:
        audio = audio / np.maximum(np.linalg.norm(audio, axis=1, keepdims=True), 1e-12)
        landmarks = landmarks / np.maximum(np.linalg.norm(landmarks, axis=1, keepdims=True), 1e-12)
        scores = audio @ landmarks.T
    return float(np.mean(scores.argmax(axis=1) == np.arange(len(scores))))


def group_offset_scores(cosines) -> dict:
    """The sync experts' offset accuracy from (G, M, M) cosines: group g holds M windows of one clip, entry (m, n)
    the score of visual window m against audio window n. A hit when window m scores its own audio highest (chance
    1 / M); with the mean cosine of the aligned pairs and of the shifted ones."""
    cosines = _as_numpy(cosines)
    windows = cosines.shape[1]
    aligned = np.diagonal(cosines, axis1=1, axis2=2)
    shifted = (cosines.sum(axis=(1, 2)) - aligned.sum(axis=1)) / (windows * (windows - 1))
    return {
        "offset_accuracy": float(np.mean(cosines.argmax(axis=2) == np.arange(windows))),
        "aligned_cosine": float(aligned.mean()),
        "shifted_cosine": float(shifted.mean()),
    }
