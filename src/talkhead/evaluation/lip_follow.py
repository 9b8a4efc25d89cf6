"""Lip-follow of a video against the video of whoever spoke its audio (``talkhead evaluate video --speaker-video``)."""

from __future__ import annotations

import os

from ..metrics.lip_follow import lip_follow, std_ratio
from ..processing.tracked_clip import TrackedClip, track_clip


def lip_follow_videos(video: str | os.PathLike | TrackedClip, speaker_video: str | os.PathLike | TrackedClip) -> dict:
    """Lip-follow of ``video``'s mouth against ``speaker_video``'s (paths tracked at 25 fps, or tracked clips), frame
    by frame from their starts with no lag (:mod:`talkhead.metrics.lip_follow`)."""
    clips = [v if isinstance(v, TrackedClip) else track_clip(v) for v in (video, speaker_video)]
    opening, reference = (clip.mouth_opening() for clip in clips)
    return {
        "lip_follow": lip_follow(opening, reference),
        "std_ratio": std_ratio(opening, reference),
        "frames": int(min(len(opening), len(reference))),
        "speaker_video": str(clips[1].path),
    }
