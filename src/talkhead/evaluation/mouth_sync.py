"""The mouth-sync expert on videos and on dataset clips: ``talkhead evaluate video --mouth-sync-model``'s
offset of a tracked video, and the offset accuracy of the experts' validation.

The search itself is :func:`talkhead.metrics.mouth_sync.clip_offset`. The sign is that of
:mod:`talkhead.data.av_offsets`: offset > 0 means the mouth moves after the sound that made it.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import defaults
from ..data.mouth_windows import MouthSyncGroupDataset
from ..errors import TalkheadInputError
from ..hub import load_pretrained
from ..metrics.mouth_sync import clip_offset, mouth_displacements
from ..metrics.sync import group_offset_scores
from ..models.mouth_motion import mouth_audio_features
from ..models.mouth_sync import MouthSyncModel
from ..processing.audio import SAMPLE_RATE, load_audio
from ..processing.tracked_clip import TrackedClip, track_clip


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
