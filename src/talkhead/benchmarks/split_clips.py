"""The raw clips behind a split of a dataset written by ``talkhead preprocess`` (its ``talkhead_preprocess.json``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..data.clips import load_dataset_dict
from ..errors import TalkheadInputError


@dataclass(frozen=True)
class RawClip:
    clip_id: str
    source: str
    video: str
    audio: str  # the speech file (the video itself when it carries its sound)


def split_clips(data: str | os.PathLike, split: str = "test") -> list[RawClip]:
    """Clips of ``split`` whose raw video (and audio) still exist, in the dataset's order."""

    dataset = load_dataset_dict(data)
    if split not in dataset:
        raise TalkheadInputError(f"the dataset {data} has no split '{split}'; it has {sorted(dataset)}")
    summary = Path(data) / "talkhead_preprocess.json"
    if not summary.exists():
        raise TalkheadInputError(
            f"{summary} is missing: this benchmark needs the raw videos `talkhead preprocess` read"
        )
    reports = {c["clip_id"]: c for c in json.loads(summary.read_text())["clips"] if not c.get("skipped")}
    clips, seen = [], set()
    for clip_id in dataset[split]["clip_id"]:
        base = clip_id.split("#")[0]  # a clip split at face gaps is benchmarked whole
        report = reports.get(base)
        if base in seen or report is None or not Path(report["video"]).exists():
            continue
        seen.add(base)
        clips.append(RawClip(base, report["source"], report["video"], report.get("audio") or report["video"]))
    if not clips:
        raise TalkheadInputError(f"none of the raw videos of split '{split}' of {data} can be found")
    return clips
