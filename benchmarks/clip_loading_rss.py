#!/usr/bin/env python
"""Peak resident memory of a training start: load the training clips of a preprocessed dataset, build the
AVSyncNet offset-window dataset on them and draw a few batches (what examples/train_avsyncnet.py does first).

    /usr/bin/time -v python benchmarks/clip_loading_rss.py DATASET [--samples 64]

Prints the clip count, the seconds it took and the peak RSS (``resource.getrusage``, which counts the
memory-mapped dataset pages a process touched as well as its own allocations).
"""

from __future__ import annotations

import argparse
import resource
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset")
    parser.add_argument("--split", default="train")
    parser.add_argument("--samples", type=int, default=64, help="windows drawn after loading (0: loading only)")
    args = parser.parse_args()

    from talkhead.data.clips import load_training_clips
    from talkhead.data.face_windows import OffsetWindowDataset

    start = time.perf_counter()
    train, validation, held = load_training_clips(args.dataset, args.split, None)
    loaded = time.perf_counter() - start
    after_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.samples:
        windows = OffsetWindowDataset(train, 8, 2, samples_per_epoch=args.samples, seed=0)
        for index in range(args.samples):
            windows[index]
    print(
        f"{len(train)} training + {len(validation)} validation clips loaded in {loaded:.2f} s; "
        f"peak RSS after loading {after_load:.0f} MiB, after {args.samples} windows "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
