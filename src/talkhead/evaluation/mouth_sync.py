"""Sync judged by the mouth-sync expert (issue #14, item 4): a clip's audio-video offset and the offset accuracy.

The clip offset is SyncNet's search (:func:`talkhead.metrics.sync.offset_search`, cosine distance, overlapping
windows only): every window of the mouth is compared with the audio window ``offset`` frames earlier, the mean
cosine per offset is its score, the best offset wins, and its score above the median of all offsets is the
confidence. The sign is that of :mod:`talkhead.data.av_offsets`: offset > 0 means the mouth moves after the
sound that made it.
"""

from __future__ import annotations

import numpy as np
import torch


def sliding_windows(array: np.ndarray, window: int) -> np.ndarray:
    """(T, ...) -> (T - window + 1, window, ...): every window of ``window`` consecutive frames (a view)."""
    if len(array) < window:
        raise ValueError(f"{len(array)} frames are fewer than the expert's window of {window}")
    view = np.lib.stride_tricks.sliding_window_view(array, window, axis=0)
    return np.moveaxis(view, -1, 1)


@torch.no_grad()
def embed_clip(model, features: np.ndarray, displacements: np.ndarray, batch_size: int = 512
               ) -> tuple[np.ndarray, np.ndarray]:
    """Mouth and audio embeddings (N, D) of every window of one clip (window i starts at frame i)."""
    model.eval()
    length = min(len(features), len(displacements))
    mouth_windows = sliding_windows(np.asarray(displacements[:length], np.float32), model.config.window)
    audio_windows = sliding_windows(np.asarray(features[:length], np.float32), model.config.window)
    mouth, audio = [], []
    for start in range(0, len(mouth_windows), batch_size):
        mouth.append(model.embed_mouth(torch.from_numpy(np.ascontiguousarray(mouth_windows[start:start + batch_size]))))
        audio.append(model.embed_audio(torch.from_numpy(np.ascontiguousarray(audio_windows[start:start + batch_size]))))
    return torch.cat(mouth).numpy(), torch.cat(audio).numpy()


def clip_offset(model, features: np.ndarray, displacements: np.ndarray, max_lag: int = 15) -> dict:
    """{offset, confidence, scores}: the offset of best mean cosine over the clip (see the module docstring);
    ``scores`` is the mean cosine of every offset, from -max_lag to max_lag."""
    from ..metrics.sync import offset_search

    mouth, audio = embed_clip(model, features, displacements)
    if len(mouth) <= 2 * max_lag:
        raise ValueError(f"{len(mouth)} windows are too few to search offsets of ±{max_lag} frames")
    found = offset_search(mouth, audio, vshift=max_lag, metric="cosine", padding="valid")
    scores = 1.0 - found.distances[::-1]  # the search lists offsets from +max_lag down
    return {"offset": found.offset, "confidence": found.confidence, "scores": scores.round(4).tolist()}


@torch.no_grad()
def group_offset_accuracy(model, clips, windows_per_group: int = 8, stride: int = 2, samples: int = 256,
                          seed: int = 4321) -> dict:
    """The experts' offset accuracy: in groups of windows of one clip, how often each mouth window scores its own
    audio highest (chance 1 / windows_per_group), with the mean aligned and shifted cosines."""
    from ..data.mouth_windows import MouthSyncGroupDataset
    from ..metrics.sync import group_offset_scores

    dataset = MouthSyncGroupDataset(clips, model.config.window, windows_per_group, stride, samples, seed)
    model.eval()
    cosines = [torch.einsum("gmd,gnd->gmn", model.embed_mouth(batch["mouth_windows"]), model.embed_audio(batch["audio_windows"]))
               for batch in torch.utils.data.DataLoader(dataset, batch_size=64)]
    return {**group_offset_scores(torch.cat(cosines)), "clips": len(dataset.clips), "samples": samples,
            "windows": windows_per_group, "stride": stride}


def mouth_displacements(landmarks: np.ndarray, found: np.ndarray) -> np.ndarray:
    """(T, 20, 2) mouth shapes in the face frame minus their mean over frames with a face; frames without one
    get the mean (no motion), so they neither help nor fake a match."""
    from ..processing.mouth import mouth_shapes

    if not found.any():
        raise ValueError("no face was found in any frame")
    shapes = np.zeros((len(found), 20, 2), np.float32)
    shapes[found] = mouth_shapes(landmarks[found])
    shapes[found] -= shapes[found].mean(0)
    return shapes


def mouth_sync_video(video, audio=None, model="talkhead/mouth-sync", max_lag: int = 15) -> dict:
    """The mouth-sync expert's offset and confidence for ``video`` (tracked with dlib at 25 fps) against ``audio``
    (a file; default: the video's own track). Offset > 0: the mouth moves after its sound."""
    from ..errors import TalkheadInputError
    from ..hub import load_pretrained
    from ..models.mouth_motion import mouth_audio_features
    from ..models.mouth_sync import MouthSyncModel
    from ..processing.audio import SAMPLE_RATE, load_audio
    from .tracking import track_video

    expert = load_pretrained(MouthSyncModel, model) if isinstance(model, str) else model
    tracked = track_video(video)
    if tracked.found.mean() < 0.5:
        raise TalkheadInputError(f"a face was found in only {tracked.found.sum()} of {tracked.num_frames} frames of "
                                 f"{video}; the mouth-sync expert needs a face in most frames")
    wave = load_audio(audio if audio is not None else video)
    frames = min(tracked.num_frames, int(len(wave) / SAMPLE_RATE * tracked.fps))
    if frames < expert.config.window + 2 * max_lag + 1:
        raise TalkheadInputError(f"{video} gives {frames} frames with audio; the mouth-sync offset search needs at least "
                                 f"{expert.config.window + 2 * max_lag + 1} ({(expert.config.window + 2 * max_lag + 1) / 25:.1f} s)")
    features = mouth_audio_features(wave, frames, tracked.fps, expert.config)
    displacements = mouth_displacements(tracked.landmarks[:frames], tracked.found[:frames])
    return {**clip_offset(expert, features, displacements, max_lag), "frames": frames, "max_lag": max_lag,
            "model": str(model if isinstance(model, str) else expert.name_or_path)}
