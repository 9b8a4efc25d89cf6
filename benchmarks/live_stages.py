#!/usr/bin/env python
"""Where a live avatar's mouth stops following the speech: the stream's stages scored one by one.

    python benchmarks/live_stages.py --data DS --json results/live_stages.json [--variant NAME=JSON ...]

Per test clip, its own speech is pushed into a ``realtime=False`` stream of the clip prepared as an avatar (phones
decoded in ``push``: the same frames on every run), no mouth taken from within ``OWN_EXCLUDE_FRAMES`` of the speech's
frame (as ``talkhead benchmark live``). Lip-follow against the real mouth (filmed offset undone) of: the **target**
shapes the stream asks for, the **pooled** shapes of the mouths it chose, and the rendered **video** (tracked), the
same for every ``--variant`` of the pooled mouth's choice (``next_mouth``'s keyword arguments as JSON, e.g.
``nolook='{"look_cost": 0}'``). Clips are pooled as ``talkhead benchmark live`` pools them: the median.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from talkhead.benchmarks.articulation import load_offset_expert, prepare_real_clip, shifted_pair
from talkhead.benchmarks.lip_follow import OWN_EXCLUDE_FRAMES
from talkhead.benchmarks.live import CHUNK_SECONDS
from talkhead.benchmarks.split_clips import split_clips
from talkhead.io import audio as audio_io
from talkhead.io.video_writer import VideoWriter
from talkhead.metrics.lip_follow import lip_follow
from talkhead.pipelines.live import LipSyncAvatar
from talkhead.pipelines.live.stream import AvatarStream
from talkhead.processing.mouth import shape_inner_lip_opening
from talkhead.processing.tracked_clip import track_clip


class RecordingStream(AvatarStream):
    """A stream that keeps each frame's target shape and the pooled mouth it chose."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.targets: list[np.ndarray] = []
        self.chosen: list[int] = []

    def _render(self, made):
        pair = super()._render(made)
        self.targets.append(made.shape)
        self.chosen.append(self._previous)
        return pair


def stage_scores(avatar, real, options: dict, video_path: Path) -> dict:
    stream = RecordingStream(avatar, exclude_within=OWN_EXCLUDE_FRAMES, retrieval_options=options, realtime=False)
    chunk, count = int(CHUNK_SECONDS * audio_io.SAMPLE_RATE), real.tracked.num_frames
    pairs = []
    for start in range(0, len(real.wave), chunk):
        pairs += stream.push(real.wave[start : start + chunk])
    pairs = (pairs + stream.end())[:count]
    with VideoWriter(video_path, fps=avatar.fps, audio=np.concatenate([audio for _, audio in pairs])) as writer:
        for frame, _ in pairs:
            writer.write(frame)
    series = {
        "target": shape_inner_lip_opening(np.stack(stream.targets[:count])),
        "pooled": shape_inner_lip_opening(avatar.pool.shapes[np.array(stream.chosen[:count])]),
        "video": track_clip(video_path).mouth_opening(),
    }
    real_opening = real.tracked.mouth_opening()
    scores = {}
    for name, opening in series.items():
        reference, generated = shifted_pair(real_opening, opening, real.undone_offset)
        scores[name] = round(lip_follow(generated, reference), 4)
    sources = avatar.pool.frame_indices[np.array(stream.chosen[:count])]
    scores["switch_share"] = round(float(np.mean(np.diff(sources) != 1)), 4)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="a talkhead preprocess folder")
    parser.add_argument("--split", default="test")
    parser.add_argument("--variant", action="append", default=[], help="NAME=JSON of next_mouth keyword arguments")
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    variants = {"default": {}}
    for text in args.variant:
        name, _, options = text.partition("=")
        variants[name] = json.loads(options)
    expert = load_offset_expert()
    per_clip: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder:
        for clip in split_clips(args.data, args.split):
            tracked = track_clip(clip.video, keep_frames=True)
            real = prepare_real_clip(clip.clip_id, tracked, audio_io.load_audio(clip.audio), expert)
            avatar = LipSyncAvatar.from_video(clip.video)
            per_clip[clip.clip_id] = {
                name: stage_scores(avatar, real, options, Path(folder) / f"{clip.clip_id}-{name}.mp4")
                for name, options in variants.items()
            }
            print(clip.clip_id, json.dumps(per_clip[clip.clip_id]), flush=True)
    pooled = {
        name: {
            stage: round(float(np.nanmedian([clip[name][stage] for clip in per_clip.values()])), 4)
            for stage in ("target", "pooled", "video", "switch_share")
        }
        for name in variants
    }
    Path(args.json).write_text(json.dumps({"variants": variants, "pooled": pooled, "per_clip": per_clip}, indent=1))
    print(json.dumps(pooled, indent=1))


if __name__ == "__main__":
    main()
