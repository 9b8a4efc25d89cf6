#!/usr/bin/env python
"""Where a live avatar's mouth stops following the speech: the stream's stages scored one by one.

    python benchmarks/live_stages.py --data DS --json results/live_stages.json [--variant NAME=JSON ...] [--limit N]

Per test clip, its own speech is pushed into a ``realtime=False`` stream of the clip prepared as an avatar (phones
decoded in ``push``: the same frames on every run), no mouth taken from within ``OWN_EXCLUDE_FRAMES`` of the speech's
frame (as ``talkhead benchmark live``). Each stage is scored against the real mouth (filmed offset undone) for
lip-follow and bilabial closures (the p, b and m the word aligner hears):

- **offline targets**: the shapes offline ``talkhead lip-sync`` asks for with the same avatar's mean and shut mouth
  (word phones, the whole utterance);
- **target**: the shapes the stream asks for;
- **pooled**: the shapes of the pooled mouths chosen for them (landmarks placed as the renderer places the target);
- **video**: the rendered frames, tracked.

A stream's target shapes do not depend on which mouth it draws them with, so each ``--variant`` of the choice
replays the recorded targets: JSON of ``next_mouth``'s keyword arguments (``nolook='{"look_cost": 0}'``), and
``"ahead": N`` for a choice that also sees the next N frames' targets (a Viterbi over them with the previous choice
fixed: N frames more latency). ``default`` is the stream's own choice. Clips are pooled as ``talkhead benchmark
live`` pools them: the median lip-follow, the closures added up.
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
from talkhead.metrics.articulation import inner_lip_opening
from talkhead.metrics.lip_contacts import bilabial_closure
from talkhead.metrics.lip_follow import lip_follow
from talkhead.pipelines import mouth_retrieval as retrieval
from talkhead.pipelines.lip_sync.retrieval_renderer import predicted_shapes
from talkhead.pipelines.live import LipSyncAvatar
from talkhead.pipelines.live.mouth_stream import MouthFrame
from talkhead.pipelines.live.stream import AvatarStream
from talkhead.pipelines.loading import load_lip_sync_models
from talkhead.pipelines.mouth_paste import render_frame
from talkhead.pipelines.pipeline_utils import heard_mouth_phones
from talkhead.processing.audio import SAMPLES_PER_FRAME
from talkhead.processing.tracked_clip import track_clip


class RecordingStream(AvatarStream):
    """A stream that keeps each frame's target (:class:`MouthFrame`) and the position of the idle loop it drew."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.made: list[MouthFrame] = []

    def _render(self, made):
        self.made.append(made)
        return super()._render(made)


def record_targets(avatar, wave: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(targets (T, 20, 2), shut (T,), idle-loop positions (T,)) of ``wave`` streamed in 20 ms chunks."""
    stream = RecordingStream(avatar, exclude_within=OWN_EXCLUDE_FRAMES, realtime=False)
    chunk = int(CHUNK_SECONDS * audio_io.SAMPLE_RATE)
    for start in range(0, len(wave), chunk):
        stream.push(wave[start : start + chunk])
    stream.end()
    made = stream.made[:count]
    order = avatar.loop.order()
    positions = np.array([int(order[m.index % len(order)]) for m in made])
    return np.stack([m.shape for m in made]), np.array([m.shut for m in made]), positions


def offline_targets(model, wave: np.ndarray, count: int, avatar) -> np.ndarray:
    """The shapes offline lip-sync asks for (word phones, whole utterance), with the avatar's mean and shut mouth."""
    phones, _ = heard_mouth_phones(model, wave, count, avatar.fps, "en", None, True)
    return predicted_shapes(model, wave, count, avatar.fps, avatar.mean, "en", avatar.closed, phones, True)


def _excluded(pool, frame: int) -> np.ndarray:
    return np.abs(pool.frame_indices - frame) < OWN_EXCLUDE_FRAMES


def choose_ahead(pool, targets, poses, shut, ahead: int, **options) -> np.ndarray:
    """Per frame, the first choice of the cheapest path over it and the next ``ahead`` frames (the costs of
    :func:`~talkhead.pipelines.mouth_retrieval.retrieve`), the previous frame's choice fixed."""
    candidates = options.get("candidates", 8)
    switch_cost = options.get("switch_cost", 0.02)
    look_cost = options.get("look_cost", retrieval.LOOK_COST)
    pose_weight = options.get("pose_weight", 0.5)
    teeth_cost = options.get("teeth_cost", retrieval.TEETH_COST)

    def transition(before, after):
        return retrieval.switch_costs(pool, before, after, switch_cost, look_cost)

    chosen, previous = [], None
    for t in range(len(targets)):
        frames = range(t, min(len(targets), t + ahead + 1))
        options_at, local = [], []
        for f in frames:
            cost = retrieval.local_costs(
                pool, targets[f][None], poses[f][None], pose_weight, shut[f : f + 1], teeth_cost
            )
            cost = cost[0]
            cost[_excluded(pool, f)] = np.inf
            nearest = np.argpartition(cost, candidates - 1)[:candidates]
            options_at.append(nearest)
            local.append(cost[nearest])
        to_go = local[-1]
        for i in range(len(options_at) - 2, -1, -1):
            to_go = local[i] + (transition(options_at[i], options_at[i + 1]) + to_go[None]).min(1)
        if previous is not None:
            to_go = to_go + transition(np.array([previous]), options_at[0])[0]
        previous = int(options_at[0][np.argmin(to_go)])
        chosen.append(previous)
    return np.array(chosen)


def choose(pool, targets, poses, shut, options: dict) -> np.ndarray:
    """The pooled mouth of each frame for one ``--variant``."""
    options = dict(options)
    ahead = options.pop("ahead", 0)
    if ahead:
        return choose_ahead(pool, targets, poses, shut, ahead, **options)
    chosen, previous = [], None
    for t in range(len(targets)):
        previous = retrieval.next_mouth(pool, targets[t], poses[t], previous, shut[t], _excluded(pool, t), **options)
        chosen.append(previous)
    return np.array(chosen)


def score(real, landmarks: np.ndarray) -> dict:
    """Lip-follow of the inner-lip opening and the bilabial closures of (T, 68, 2) image landmarks."""
    reference, generated = shifted_pair(real.tracked.mouth_opening(), inner_lip_opening(landmarks), real.undone_offset)
    closures = bilabial_closure(real.tracked.track_landmarks, landmarks, real.segments, offset=real.undone_offset)
    return {
        "lip_follow": round(lip_follow(generated, reference), 4),
        "closures": closures.generated.hits,
        "segments": closures.generated.total,
    }


def render_and_track(avatar, placed: np.ndarray, positions, chosen, wave: np.ndarray, path: Path) -> np.ndarray:
    """(T, 68, 2) tracked landmarks of the frames drawn with these choices."""
    with VideoWriter(path, fps=avatar.fps, audio=wave[: len(chosen) * SAMPLES_PER_FRAME]) as writer:
        for t, (position, index) in enumerate(zip(positions, chosen, strict=True)):
            writer.write(
                render_frame(avatar.frames[position], avatar.landmarks[position], placed[t], avatar.pool, index)
            )
    return track_clip(path).track_landmarks


def clip_stages(avatar, real, model, variants: dict, folder: Path) -> dict:
    count = real.tracked.num_frames
    targets, shut, positions = record_targets(avatar, real.wave, count)
    landmarks = avatar.landmarks[positions]
    placed = retrieval.target_landmarks(landmarks, targets)
    rows = {
        "offline_target": score(
            real, retrieval.target_landmarks(landmarks, offline_targets(model, real.wave, count, avatar))
        ),
        "target": score(real, placed),
    }
    for name, options in variants.items():
        chosen = choose(avatar.pool, targets, avatar.poses[positions], shut, options)
        sources = avatar.pool.frame_indices[chosen]
        rows[name] = {
            "pooled": score(real, retrieval.target_landmarks(landmarks, avatar.pool.shapes[chosen])),
            "video": score(
                real, render_and_track(avatar, placed, positions, chosen, real.wave, folder / f"{name}.mp4")
            ),
            "switch_share": round(float(np.mean(np.diff(sources) != 1)), 4),
        }
    return rows


def pool_clips(per_clip: dict) -> dict:
    """Median lip-follow and summed closures over the clips, per row and stage."""

    def pooled(scores: list[dict]) -> dict:
        return {
            "lip_follow": round(float(np.nanmedian([s["lip_follow"] for s in scores])), 4),
            "closures": f"{sum(s['closures'] for s in scores)} of {sum(s['segments'] for s in scores)}",
        }

    clips = list(per_clip.values())
    report = {name: pooled([clip[name] for clip in clips]) for name in ("offline_target", "target")}
    for name in clips[0]:
        if name in report:
            continue
        report[name] = {stage: pooled([clip[name][stage] for clip in clips]) for stage in ("pooled", "video")}
        report[name]["switch_share"] = round(float(np.median([clip[name]["switch_share"] for clip in clips])), 4)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="a talkhead preprocess folder")
    parser.add_argument("--split", default="test")
    parser.add_argument("--variant", action="append", default=[], help="NAME=JSON of the choice's keyword arguments")
    parser.add_argument("--limit", type=int, default=None, help="only the first N clips of the split")
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    variants = {"default": {}}
    for text in args.variant:
        name, _, options = text.partition("=")
        variants[name] = json.loads(options)
    expert = load_offset_expert()
    model = load_lip_sync_models().mouth_model
    per_clip: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder:
        for clip in split_clips(args.data, args.split)[: args.limit]:
            tracked = track_clip(clip.video, keep_frames=True)
            real = prepare_real_clip(clip.clip_id, tracked, audio_io.load_audio(clip.audio), expert)
            avatar = LipSyncAvatar.from_video(clip.video)
            per_clip[clip.clip_id] = clip_stages(avatar, real, model, variants, Path(folder))
            print(clip.clip_id, json.dumps(per_clip[clip.clip_id]), flush=True)
    report = {"variants": variants, "pooled": pool_clips(per_clip), "per_clip": per_clip}
    Path(args.json).write_text(json.dumps(report, indent=1))
    print(json.dumps(report["pooled"], indent=1))


if __name__ == "__main__":
    main()
