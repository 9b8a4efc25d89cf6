"""How well the talking head's mouth follows the speech, on held-out speakers.

    python benchmarks/talking_head_lips.py --data DATASET [--split test] [--model ms-sync-short]

For every clip of the split (a dataset from `talkhead preprocess`), MS-Sync generates landmark
motion from the clip's first frame and its audio, exactly as `talkhead talking-head` does for a photo
(in 10 s pieces restarted from the still face and cross-faded);
the motion is then rescaled as the pipeline does (head and lips at scale 1) with and without the 2 s
detrending of the mouth (the ground truth is shown both ways, so the comparison is like for like). Per clip:
the Pearson correlation of the mouth opening (inner-lip height over mouth width) with the speech envelope
(RMS per frame), and the mean mouth opening in the
first and last second. The ground-truth landmarks of the same clips give the reference row. Writes
benchmarks/results/talking_head_lips.json and the "talking_head_lips" section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from common import machine, update_results_section, write_json


def envelope(wave: np.ndarray, frames: int) -> np.ndarray:
    samples = wave[: frames * 640]
    samples = np.pad(samples, (0, frames * 640 - len(samples)))
    return np.sqrt((samples.reshape(frames, 640) ** 2).mean(1))


def row(name: str, values: list[dict]) -> dict:
    result = {"rows": name, "clips": len(values)}
    for key in values[0]:
        column = np.array([v[key] for v in values], float)
        result[key] = {"mean": round(float(np.nanmean(column)), 3), "std": round(float(np.nanstd(column)), 3)}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--model", default="ms-sync-short")
    parser.add_argument("--min-frames", type=int, default=100)
    args = parser.parse_args()

    import torch

    from talkhead.data.clips import iter_clips, load_dataset_dict
    from talkhead.hub import checkpoint_path, load_pretrained
    from talkhead.models.ms_sync import MSSyncGenerator
    from talkhead.pipelines.talking_head.photo_motion import rescale_motion
    from talkhead.pipelines.talking_head.speech_to_landmarks import SpeechToLandmarks
    from talkhead.processing.landmarks import mouth_opening

    motion_model = SpeechToLandmarks(load_pretrained(MSSyncGenerator, args.model))  # the pipeline's 10 s pieces
    clips = [c for c in iter_clips(load_dataset_dict(args.data)[args.split]) if c.num_frames >= args.min_frames]
    rows: dict[str, list[dict]] = {}
    for clip in clips:
        speech = envelope(clip.audio, clip.num_frames)
        torch.manual_seed(0)
        motion = motion_model._generate(clip.landmarks[0], clip.logfbank, clip.num_frames).astype(np.float64)
        truth = clip.landmarks.astype(np.float64)
        variants = {
            "ground_truth": truth,
            "ground_truth_detrended": rescale_motion(truth, 1, 1, 50),
            "generated": rescale_motion(motion, 1, 1, 0),
            "generated_detrended": rescale_motion(motion, 1, 1, 50),
            "generated_detrended_lip_scale_2": rescale_motion(motion, 1, 2, 50),
        }
        for name, landmarks in variants.items():
            opening = mouth_opening(landmarks)
            rows.setdefault(name, []).append(
                {
                    "speech_correlation": float(np.corrcoef(opening, speech)[0, 1]),
                    "opening_std": float(opening.std()),
                    "opening_first_second": float(opening[:25].mean()),
                    "opening_last_second": float(opening[-25:].mean()),
                }
            )
    report = {
        "machine": machine(),
        "data": args.data,
        "split": args.split,
        "model": checkpoint_path(args.model),
        "clips": len(clips),
        "frames": int(sum(c.num_frames for c in clips)),
        "rows": {name: row(name, values) for name, values in rows.items()},
    }
    write_json("talking_head_lips", report)
    lines = [
        "### Talking-head lips against the speech",
        "",
        f"Measured {report['machine']['date']} with `python benchmarks/talking_head_lips.py --data DATASET --split "
        f"{args.split}` on the {report['clips']} {args.split} clips of at least {args.min_frames} frames "
        f"({report['frames']} frames; held-out speakers) of the dataset built from ../shared/data/raw. Generated: "
        f"`{args.model}` from each clip's first frame and its audio, as `talkhead talking-head` does for a photo, "
        "before and after the pipeline's 2 s mouth detrending (applied to the ground truth too, for a like-for-like "
        "row). Mouth opening = inner-lip height over mouth width; speech envelope = RMS per 40 ms frame. Mean (std) "
        "over clips.",
        "",
        "| landmarks | corr(mouth opening, speech envelope) | std of mouth opening | "
        "opening, first second | opening, last second |",
        "|---|---|---|---|---|",
    ]
    for name, values in report["rows"].items():
        cells = [
            f"{values[k]['mean']:.3f} ({values[k]['std']:.3f})"
            for k in ("speech_correlation", "opening_std", "opening_first_second", "opening_last_second")
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    text = "\n".join(lines)
    update_results_section("talking_head_lips", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
