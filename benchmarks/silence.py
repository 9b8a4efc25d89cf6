#!/usr/bin/env python
"""Silence is silence: do the lips close when the speech is silent, all of it or a part?

    python benchmarks/silence.py --data DATASET [--split test] [--limit N] [--json PATH]

For each clip of ``--split`` (the raw video, as ``talkhead benchmark lip-follow`` reads it):

* ``lipsync_all_silent``: ``talkhead lip-sync`` of the clip with 10 s of digital silence;
* ``lipsync_silent_middle``: the clip's own speech (first 10 s) with its middle 2 s set to zero, read over
  those 2 s less 4 frames at each end (the lips may take that long to close);
* ``generate_all_silent``: ``talkhead talking-head`` from the clip's first frame with 10 s of silence.

Each output is tracked again (the tracker of the benchmarks) and its median lip gap (mean inner-lip gap over the
inter-ocular distance, :meth:`TrackedClip.mouth_opening`) is compared with the clip's own closed level: the 10th
percentile of its real gap. Target: at or below it (``generate``: at or below the photo's own gap, since a warp
keeps the photo's lips). Writes benchmarks/results/silence.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import soundfile

RESULTS = Path(__file__).resolve().parent / "results" / "silence.json"
SECONDS, GAP_SECONDS, MARGIN = 10.0, 2.0, 4


def main() -> None:
    from tqdm.auto import tqdm

    from talkhead.benchmarks.lip_follow import first_frame, pipeline_runners
    from talkhead.benchmarks.split_clips import split_clips
    from talkhead.io.audio import SAMPLE_RATE, load_audio
    from talkhead.processing.tracked_clip import track_clip

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    clips = split_clips(args.data, args.split)[: args.limit]
    lip_syncer, talker = pipeline_runners("mouth-motion", "ms-sync-short")
    report = {"benchmark": "silence", "data": args.data, "split": args.split, "clips": {}}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        silence = folder / "silence.wav"
        soundfile.write(str(silence), np.zeros(int(SECONDS * SAMPLE_RATE), np.float32), SAMPLE_RATE)
        for clip in tqdm(clips, desc="silence"):
            real = track_clip(clip.video).mouth_opening()
            row = {"closed_level": float(np.nanpercentile(real, 10)), "median_real": float(np.nanmedian(real))}
            lip_syncer(clip.video, silence, folder / "all.mp4")
            row["lipsync_all_silent"] = float(np.nanmedian(track_clip(folder / "all.mp4").mouth_opening()))
            wave = load_audio(clip.audio)[: int(SECONDS * SAMPLE_RATE)]
            middle = len(wave) // 2
            half = int(GAP_SECONDS * SAMPLE_RATE / 2)
            wave[middle - half : middle + half] = 0
            gapped = folder / "gapped.wav"
            soundfile.write(str(gapped), wave, SAMPLE_RATE)
            lip_syncer(clip.video, gapped, folder / "gapped.mp4")
            opening = track_clip(folder / "gapped.mp4").mouth_opening()
            first, last = (middle - half) // 640 + MARGIN, (middle + half) // 640 - MARGIN
            row["lipsync_silent_middle"] = float(np.nanmedian(opening[first:last]))
            frame = first_frame(clip.video)
            talker(frame, silence, folder / "photo.mp4")
            row["generate_all_silent"] = float(np.nanmedian(track_clip(folder / "photo.mp4").mouth_opening()))
            row["photo_level"] = float(real[0]) if np.isfinite(real[0]) else float("nan")
            report["clips"][clip.clip_id] = row
            print(clip.clip_id, {k: round(v, 3) for k, v in row.items()}, flush=True)
    rows = report["clips"].values()
    report["met"] = {
        "lipsync_all_silent": sum(r["lipsync_all_silent"] <= r["closed_level"] for r in rows),
        "lipsync_silent_middle": sum(r["lipsync_silent_middle"] <= r["closed_level"] for r in rows),
        "generate_all_silent": sum(r["generate_all_silent"] <= r["photo_level"] + 0.01 for r in rows),
        "clips": len(report["clips"]),
    }
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report["met"]))


if __name__ == "__main__":
    main()
