#!/usr/bin/env python
"""How much of the mouth shape it is given does the lip-sync renderer keep?

    python benchmarks/renderer_fidelity.py --data DATASET --split test [--model talkhead/mouth-motion]

For the first ``--max-frames`` frames of each clip of the split, the retrieval renderer (as `talkhead lip-sync`
runs it, a frame may not reuse a mouth from within 10 frames of itself) is fed (a) the real mouth shapes and
(b) the shapes the mouth-motion model predicts from the clip's own speech; the output is re-tracked with dlib
and its inner-lip opening compared with the real one (lip-follow, :mod:`talkhead.metrics.lip_follow`) and with
the opening of the shapes it was given. The gap between "target" and "rendered" is the renderer's share of the
`own` row of `talkhead benchmark lip-follow`; the rest is the motion model's. Rows ``model_rendered:<name>``
vary the retrieval's settings. Writes ``--json`` (default benchmarks/results/renderer_fidelity.json).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "renderer_fidelity.json"
EXCLUDE_WITHIN = 10
RETRIEVAL_VARIANTS = {
    "default": {},
    "candidates_16": {"candidates": 16},
    "no_switch_cost": {"switch_cost": 0.0},
    "pose_weight_0.1": {"pose_weight": 0.1},
}


def rendered_opening(frames, landmarks, valid, pool, targets, retrieval_options: dict) -> np.ndarray:
    """Inner-lip opening of the re-tracked frames the retrieval renderer makes for ``targets`` (T, 20, 2)."""
    from talkhead.pipelines.lip_sync.retrieval_renderer import RetrievalRenderer
    from talkhead.processing.tracked_clip import track_clip

    renderer = RetrievalRenderer(
        landmarks, valid, pool, targets, np.arange(len(frames)), EXCLUDE_WITHIN, retrieval_options
    )
    output = [renderer.render(frame, t) for t, frame in enumerate(frames)]
    return track_clip("rendered", frames=output, max_side=None).mouth_opening()


def clip_rows(clip, model, max_frames: int) -> dict:
    from talkhead.benchmarks.mouth import decoded_and_tracked, real_mouth_pool
    from talkhead.io import audio as audio_io
    from talkhead.metrics.lip_follow import lip_follow, std_ratio
    from talkhead.pipelines.lip_sync.retrieval_renderer import predicted_shapes
    from talkhead.processing.mouth import inner_lip_opening, shape_inner_lip_opening

    fps, frames, landmarks = decoded_and_tracked(clip.video, max_frames)  # the mouth benchmark's frames and tracking
    real = inner_lip_opening(landmarks)
    wave = audio_io.load_audio(clip.audio)[: int(len(frames) / fps * audio_io.SAMPLE_RATE)]
    valid, pool, real_shapes = real_mouth_pool(frames, landmarks)
    model_shapes = predicted_shapes(model, wave, len(frames), fps, real_shapes[valid].mean(0))
    rows = {
        "model_target": {
            "lip_follow": lip_follow(shape_inner_lip_opening(model_shapes), real),
            "std_ratio": std_ratio(shape_inner_lip_opening(model_shapes), real),
        }
    }
    runs = [("real_rendered", real_shapes, {})] + [
        (f"model_rendered:{name}", model_shapes, options) for name, options in RETRIEVAL_VARIANTS.items()
    ]
    for row, targets, options in runs:
        opening = rendered_opening(frames, landmarks, valid, pool, targets, options)
        rows[row] = {
            "lip_follow": lip_follow(opening, real),
            "std_ratio": std_ratio(opening, real),
            "against_target": lip_follow(opening, shape_inner_lip_opening(targets)),
        }
    return rows


def main() -> None:
    from tqdm.auto import tqdm

    from talkhead.benchmarks.split_clips import split_clips
    from talkhead.models.mouth_motion import MouthMotionModel

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--model", default="talkhead/mouth-motion")
    parser.add_argument("--max-frames", type=int, default=150)
    parser.add_argument("--json", default=str(RESULTS))
    args = parser.parse_args()
    model = MouthMotionModel.from_pretrained(args.model)
    per_clip = {
        clip.clip_id: clip_rows(clip, model, args.max_frames)
        for clip in tqdm(split_clips(args.data, args.split), desc="renderer fidelity")
    }
    names = next(iter(per_clip.values())).keys()
    means = {
        row: {
            key: round(float(np.nanmean([c[row][key] for c in per_clip.values()])), 3)
            for key in next(iter(per_clip.values()))[row]
        }
        for row in names
    }
    report = {
        "benchmark": "renderer_fidelity",
        "data": args.data,
        "split": args.split,
        "model": args.model,
        "max_frames": args.max_frames,
        "exclude_within": EXCLUDE_WITHIN,
        "rows": means,
        "per_clip": per_clip,
    }
    Path(args.json).write_text(json.dumps(report, indent=1))
    print("| row | lip-follow | std ratio | against its target |\n|---|---|---|---|")
    for row, values in means.items():
        print(
            f"| `{row}` | {values['lip_follow']:.3f} | {values['std_ratio']:.2f} | "
            f"{values.get('against_target', 1.0):.3f} |"
        )


if __name__ == "__main__":
    main()
