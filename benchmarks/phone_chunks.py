"""How long a piece of speech the word recogniser decodes at once, against how well the mouth follows.

    python benchmarks/phone_chunks.py --data DATASET [--seconds 30 8 5]

Word phones are decoded in pieces cut at the quietest frame (:func:`talkhead.processing.phones.speech_chunks`), and
pieces decode in parallel in the phone workers: shorter pieces spread better over the cores. For each piece length,
the shipped ``mouth-motion`` model's lip-follow (correlation of predicted and real inner-lip opening, no lag) on the
test split and the two validation sources of its recipe, with the phones decoded at that length. Writes
benchmarks/results/phone_chunks.json and the "phone_chunks" section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from common import machine, update_results_section, write_json

VALIDATION_SOURCES = ("OpenTalker__video-retalking", "smeetrs__deep_avsr")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--seconds", type=float, nargs="+", default=[30.0, 8.0, 5.0])
    args = parser.parse_args()

    import talkhead.processing.phones as phones
    from talkhead.data.clips import iter_clips, load_dataset_dict
    from talkhead.metrics.lip_follow import lip_follow
    from talkhead.models.mouth_motion import MouthMotionModel
    from talkhead.processing.mouth import mouth_shapes, shape_inner_lip_opening

    model = MouthMotionModel.from_pretrained("mouth-motion").eval()
    dataset = load_dataset_dict(args.data)
    clips = list(iter_clips(dataset["test"]))
    clips += [c for c in iter_clips(dataset["train"]) if c.source in VALIDATION_SOURCES]
    rows = []
    default = phones.speech_chunks.__defaults__
    try:
        for seconds in args.seconds:
            phones.speech_chunks.__defaults__ = (float(seconds),)
            follows, started = [], time.perf_counter()
            for clip in clips:
                decoded = phones.phone_features(clip.audio, clip.num_frames, clip.fps, "words", "auto")
                predicted = model.predict_speech(clip.audio, clip.num_frames, clip.fps, phones=decoded)
                shapes = mouth_shapes(clip.landmarks)
                follows.append(
                    lip_follow(shape_inner_lip_opening(shapes.mean(0) + predicted), shape_inner_lip_opening(shapes))
                )
            test = [f for f, c in zip(follows, clips, strict=True) if c.source not in VALIDATION_SOURCES]
            validation = [f for f, c in zip(follows, clips, strict=True) if c.source in VALIDATION_SOURCES]
            rows.append(
                {
                    "piece_seconds": seconds,
                    "lip_follow": float(np.mean(follows)),
                    "test": float(np.mean(test)),
                    "validation": float(np.mean(validation)),
                    "clips": len(follows),
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
            print(rows[-1], flush=True)
    finally:
        phones.speech_chunks.__defaults__ = default
    write_json("phone_chunks", {"machine": machine(), "rows": rows})
    lines = [
        "### Word phones in pieces",
        "",
        f"`python benchmarks/phone_chunks.py --data DATASET` ({machine()['date']}): the shipped `mouth-motion` "
        f"model's lip-follow with word phones decoded in pieces of at most N seconds, on the "
        f"{len(clips)} clips of the test split and the validation sources; the default is 8 s "
        "(`talkhead.processing.phones.WORD_CHUNK_SECONDS`), which two phone workers decode in parallel.",
        "",
        "| piece, s | lip-follow (all) | test | validation |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['piece_seconds']:g} | {r['lip_follow']:.4f} | {r['test']:.4f} | {r['validation']:.4f} |" for r in rows
    ]
    update_results_section("phone_chunks", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
