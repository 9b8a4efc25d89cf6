#!/usr/bin/env python
"""The viseme stage's designs as rows: own and cross dubs of held-out clips, scored for articulation.

    python benchmarks/viseme_variants.py --data DATASET [--clips 6] [--variants defaults,no-vowel-stretch,...]

For each of the first ``--clips`` clips of the test split (``talkhead benchmark lip-follow``'s pairs: clip i dubbed
with its own speech, no source frame within 10 frames lending its mouth, and with clip i+1's speech), every variant
runs ``talkhead lip-sync`` and the outputs are scored by :mod:`talkhead.benchmarks.articulation` (offset undone):

* ``defaults``: the shipped stage (closures, labiodentals, rounding, open vowels with loudness; look cost 0.02);
* ``no-vowel-stretch``: no open-vowel stretch;
* ``no-loudness``: open vowels stretched without the loudness factor;
* ``vowel-1.15``: open vowels stretched to 1.15 x the mean opening, without loudness;
* ``no-look-cost``: retrieval jumps without the look cost;
* ``no-teeth-cost``: frames that must be shut choose their mouth by shape alone.

Writes benchmarks/results/viseme_variants.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "viseme_variants.json"
VARIANTS = ("defaults", "no-vowel-stretch", "no-loudness", "vowel-1.15", "no-look-cost", "no-teeth-cost")


def _set_variant(variant: str, retrieve, stretch) -> None:
    """Point the pipeline's retrieval and vowel stretch at the variant's settings."""
    import talkhead.pipelines.mouth_retrieval as retrieval
    import talkhead.processing.visemes as visemes

    retrieval.retrieve = functools.partial(
        retrieve,
        look_cost=0.0 if variant == "no-look-cost" else retrieval.LOOK_COST,
        teeth_cost=0.0 if variant == "no-teeth-cost" else retrieval.TEETH_COST,
    )
    visemes.OPEN_VOWEL_OPENING = 1.15 if variant == "vowel-1.15" else 1.25
    if variant == "no-vowel-stretch":
        visemes.vowel_stretch = lambda opening, phones, loudness_db=None, fps=25.0: np.ones(len(opening))
    elif variant in ("no-loudness", "vowel-1.15"):
        visemes.vowel_stretch = lambda opening, phones, loudness_db=None, fps=25.0: stretch(opening, phones, None, fps)
    else:
        visemes.vowel_stretch = stretch


def main() -> None:
    import talkhead.pipelines.mouth_retrieval as retrieval
    import talkhead.processing.visemes as visemes
    from talkhead.benchmarks.articulation import load_offset_expert, prepare_real_clip, score_clip, summarise_rows
    from talkhead.benchmarks.lip_follow import OWN_EXCLUDE_FRAMES, pipeline_runners
    from talkhead.benchmarks.split_clips import split_clips
    from talkhead.io.audio import load_audio
    from talkhead.processing.tracked_clip import track_clip

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--data", required=True)
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--json", default=str(RESULTS))
    args = parser.parse_args()
    clips = split_clips(args.data, "test")[: args.clips]
    expert = load_offset_expert()
    reals = {
        c.clip_id: prepare_real_clip(c.clip_id, track_clip(c.video, keep_frames=True), load_audio(c.audio), expert)
        for c in clips
    }
    retrieve, stretch = retrieval.retrieve, visemes.vowel_stretch
    lip_syncer, _ = pipeline_runners("mouth-motion", "ms-sync-short")
    report = {"data": args.data, "clips": list(reals), "variants": {}}
    for variant in args.variants.split(","):
        _set_variant(variant, retrieve, stretch)
        scored: dict[str, dict] = {}
        for i, a in enumerate(clips):
            b = clips[(i + 1) % len(clips)]
            for row, spoken, options in (
                ("own", reals[a.clip_id], {"exclude_within": OWN_EXCLUDE_FRAMES}),
                ("cross", reals[b.clip_id], {}),
            ):
                with tempfile.TemporaryDirectory() as folder:
                    output = Path(folder) / "dub.mp4"
                    lip_syncer(a.video, (a if row == "own" else b).audio, output, **options)
                    generated = track_clip(output, keep_frames=True)
                opening = generated.mouth_opening()
                real_opening = spoken.tracked.mouth_opening()
                scored.setdefault(row, {})[a.clip_id] = score_clip(
                    spoken, generated, real_opening, opening, reals[a.clip_id]
                )
        summary = summarise_rows(scored)
        report["variants"][variant] = {row: summary[row]["offset_undone"] for row in summary}
        for row, values in report["variants"][variant].items():
            closure = values["bilabial_closure"]
            ratios = {
                name: values[name]["median_ratio"] for name in ("open_vowel_opening", "mouth_flicker", "rounding")
            }
            print(
                f"{variant} {row}: lip-follow {values['lip_follow']:.3f}, "
                f"open-vowel {ratios['open_vowel_opening']:.2f}, "
                f"flicker {ratios['mouth_flicker']:.2f}, closure {closure['generated_hits']}/{closure['segments']}, "
                f"rounding {ratios['rounding']:.2f}",
                flush=True,
            )
    Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
