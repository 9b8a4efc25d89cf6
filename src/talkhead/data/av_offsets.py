"""Audio-video offsets of training clips, found with the phone table (no learned model), and undone.

The raw clips' sync is not verified (``shared/data/README.md``), and it is off: on the training split
the mouths of the Obama clips move 4 to 6 frames before their speech, several interview clips 2 to 3.
A model that learns timing from such clips learns the wrong timing; a linear model over phone context
scored *worse* on held-out speakers than one without context until the offsets were undone.

:func:`estimate_offsets` fits the phone table (each phone's mean opening), finds each clip's lag of best
correlation between the table's prediction and the real opening, shifts and refits. A lag is kept only
where it beats lag 0 clearly (``min_gain``); :func:`align` applies it to a clip's per-frame arrays.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ..io import audio as audio_io
from ..metrics.baselines import fit_phone_table, phone_table_opening
from ..metrics.lip_follow import lip_follow
from ..processing import audio as audio_lib
from ..processing.mouth import inner_lip_opening
from .clips import clip_phones


def lagged_follow(prediction: np.ndarray, opening: np.ndarray, lag: int) -> float:
    """Lip-follow of ``prediction[t]`` against ``opening[t + lag]`` (lag > 0: the mouth moves after the sound)."""
    if lag >= 0:
        return lip_follow(prediction[: len(prediction) - lag], opening[lag:])
    return lip_follow(prediction[-lag:], opening[:lag])


def align(features: np.ndarray, targets: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame ``features`` and ``targets`` cut so that ``features[t]`` pairs with the mouth it caused."""
    length = min(len(features), len(targets))
    features, targets = features[:length], targets[:length]
    if lag >= 0:
        return features[: length - lag], targets[lag:]
    return features[-lag:], targets[: length + lag]


def estimate_offsets(
    phones: list[np.ndarray], openings: list[np.ndarray], max_lag: int = 8, iterations: int = 2, min_gain: float = 0.05
) -> tuple[list[int], list[dict]]:
    """Per clip: the lag (frames) to undo, and how it was judged ({lag, follow_at_0, follow_at_lag})."""

    lags = [0] * len(phones)
    details: list[dict] = []
    for _ in range(iterations):
        shifted = [align(p, o, lag) for p, o, lag in zip(phones, openings, lags, strict=False)]
        table = fit_phone_table([p for p, _ in shifted], [o for _, o in shifted])
        details = []
        for index, (one_clip_phones, opening) in enumerate(zip(phones, openings, strict=False)):
            prediction = phone_table_opening(table, one_clip_phones)
            scores = np.array([lagged_follow(prediction, opening, lag) for lag in range(-max_lag, max_lag + 1)])
            at_zero = scores[max_lag]
            best = int(np.nanargmax(scores)) - max_lag if np.isfinite(scores).any() else 0
            keep = np.isfinite(at_zero) and scores[best + max_lag] >= at_zero + min_gain
            lags[index] = best if keep else 0
            details.append(
                {
                    "lag": lags[index],
                    "follow_at_0": float(at_zero),
                    "follow_at_lag": float(scores[lags[index] + max_lag]),
                }
            )
    return lags, details


def shift_clip(clip, lag: int):
    """A :class:`~talkhead.data.clips.Clip` cut so that its sound of frame t is the one its mouth at frame t made.

    Video-side arrays lose ``lag`` frames at the start (``lag`` > 0) or end; the audio is cut to match and its
    features are recomputed from it (mel rows do not fall on frame boundaries).
    """

    if lag == 0:
        return clip
    length = clip.num_frames - abs(lag)
    video = slice(lag, lag + length) if lag > 0 else slice(0, length)
    first_audio = 0 if lag > 0 else -lag
    samples = audio_io.SAMPLE_RATE // clip.fps
    audio = clip.audio[first_audio * samples : (first_audio + length) * samples]
    changes = {
        name: getattr(clip, name)[video]
        for name in ("landmarks", "face_found", "face_boxes", "faces", "phones")
        if getattr(clip, name, None) is not None and name != "phones"
    }
    if getattr(clip, "phones", None) is not None:  # phones are of the sound
        changes["phones"] = clip.phones[first_audio : first_audio + length]
    return dataclasses.replace(
        clip, audio=audio, mel=audio_lib.mel80(audio), logfbank=audio_lib.logfbank26(audio, length), **changes
    )


def clip_offsets(clips, cache_path=None, max_lag: int = 8) -> tuple[list[int], list[dict]]:
    """:func:`estimate_offsets` for preprocessed clips (phones stored, cached in ``cache_path``, or decoded)."""

    cache = dict(np.load(cache_path)) if cache_path is not None and Path(cache_path).exists() else {}
    phones = []
    for clip in clips:
        if clip.clip_id not in cache:
            cache[clip.clip_id] = clip_phones(clip)
        phones.append(cache[clip.clip_id])
    if cache_path is not None:
        np.savez_compressed(cache_path, **cache)
    return estimate_offsets(phones, [inner_lip_opening(c.landmarks) for c in clips], max_lag)
