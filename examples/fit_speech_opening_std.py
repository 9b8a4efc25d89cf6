#!/usr/bin/env python
"""Set ``speech_opening_std`` (how much a typical training speaker's mouth moves) in a trained mouth-motion model.

    python examples/fit_speech_opening_std.py --dataset DATASET --model hub_configs/mouth-motion [--split train]

``train_mouth_motion.py`` stores it at the end of a run; this measures it on a dataset's split for a checkpoint
that lacks it (a photo's motion is scaled to it, :meth:`talkhead.models.mouth_motion.MouthMotionModel.predict_photo`).
It reads the landmarks only, never the audio.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv=None) -> int:
    from talkhead.data.clips import iter_clips, load_dataset_dict
    from talkhead.data.mouth_windows import speech_opening_std
    from talkhead.errors import TalkheadInputError
    from talkhead.processing.mouth import mouth_shapes

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="a folder written by `talkhead preprocess`")
    parser.add_argument("--model", required=True, type=Path, help="the model folder whose config.json is updated")
    parser.add_argument("--split", default="train")
    args = parser.parse_args(argv)
    config_path = args.model / "config.json"
    if not config_path.is_file():
        raise SystemExit(f"error: {args.model} has no config.json")
    config = json.loads(config_path.read_text())
    if config.get("model_type") != "mouth_motion":
        raise SystemExit(f"error: {args.model} is a {config.get('model_type')} model, not mouth_motion")
    try:
        rows = load_dataset_dict(args.dataset)[args.split]
    except (TalkheadInputError, KeyError) as err:
        raise SystemExit(f"error: {err}") from err
    shapes = [mouth_shapes(clip.landmarks) for clip in iter_clips(rows)]
    config["speech_opening_std"] = round(speech_opening_std(shapes), 5)
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    print(
        f"{args.model}: speech_opening_std = {config['speech_opening_std']} (median of {len(shapes)} clips of "
        f"{args.dataset} split {args.split})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
