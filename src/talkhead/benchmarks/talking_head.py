"""``talkhead benchmark talking-head``: a photo that talks, against the person who really spoke.

For every clip of a split (the raw videos behind a ``talkhead preprocess`` folder), ``talkhead talking-head`` animates
the clip's first frame with the clip's own speech; the output and the real clip are tracked with the same tracker
(:func:`talkhead.processing.tracked_clip.track_clip`, at 25 fps) and compared. Rows are settings of the pipeline:

* ``warp``: the warp alone, without what fills and closes the mouth (painted interior, ``keep_open_mouth``: the
  photo's mouth as rest pose, no blinks);
* ``mouth-interior``: the defaults (the mouth-interior generator, open-mouth photos driven from their mouth
  closed, blinks).

Columns, per clip then summarised over clips (open-mouth frames are those where a video's own tracked inner-lip
opening exceeds ``OPEN_MOUTH`` inter-ocular distances):

* ``lip_follow``, ``std_ratio``: :mod:`talkhead.metrics.lip_follow` of the output's opening against the real one;
* ``rest_gap``: 10th percentile of the output's opening minus the real clip's (lips at rest), reported over all
  clips and over the clips whose first frame has the lips apart (``open_photo``);
* ``sharpness``: median Laplacian variance of the mouth box (:func:`talkhead.metrics.mouth_quality.laplacian_variance`)
  over open frames, output over real;
* ``teeth``: mean teeth share inside the inner lips (:func:`~talkhead.metrics.mouth_quality.teeth_share`) over
  open frames, output over real;
* ``blinks_per_minute``: dips of the eye aspect ratio (:func:`talkhead.pipelines.talking_head.blinks.count_blinks`),
  output and real;
* ``identity``: median dlib face-embedding distance of output frames to the photo (same person below 0.6);
* ``fps``: frames generated per second of wall time, end to end.

Each output is also scored for articulation against its real clip (:mod:`talkhead.benchmarks.articulation`: bilabial
closures, labiodental contact, rounding, open-vowel opening, mouth flicker and lip-follow, as filmed and with the real
clip's filmed audio-video offset undone; the real clips' own rates are the ceiling).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..metrics.mouth_quality import face_box, laplacian_variance, mouth_box, teeth_share
from ..options import TalkingHeadOptions
from ..pipelines.loading import load_talking_head_models
from ..pipelines.talking_head import talking_head
from ..pipelines.talking_head.blinks import count_blinks, eye_aspect_ratio
from ..pipelines.talking_head.photo_frames import OPEN_PHOTO_GAP
from ..processing.faces import default_face_embedder
from ..processing.landmarks import mouth_opening
from ..processing.tracked_clip import track_clip
from .articulation import articulation_report, load_offset_expert, prepare_real_clip, score_clip
from .split_clips import split_clips

OPEN_MOUTH = 0.08  # inner-lip opening (inter-ocular units) above which a frame counts as open
IDENTITY_EVERY = 5  # frames between identity measurements
ROWS = {
    "warp": {"mouth_interior": False, "options": {"keep_open_mouth": True, "blinks": False}},
    "mouth-interior": {"mouth_interior": True, "options": {}},
}


def _frame_scores(tracked, with_identity=None) -> dict:
    """Per-frame opening, mouth sharpness, teeth share, eye aspect ratio (and identity distance) of a tracked clip."""
    pixels = tracked.track_landmarks  # decoded-frame pixels, NaN where no face
    opening = tracked.mouth_opening()
    sharpness, teeth, identity = [], [], []
    for index, (frame, points) in enumerate(zip(tracked.frames, pixels, strict=False)):
        if not np.isfinite(points).all():
            sharpness.append(np.nan), teeth.append(np.nan)
            continue
        sharpness.append(laplacian_variance(frame, mouth_box(points)))
        teeth.append(teeth_share(frame, points))
        if with_identity is not None and index % IDENTITY_EVERY == 0:
            embedder, photo_embedding = with_identity
            embedding = embedder(frame, face_box(points).astype(np.float32))
            identity.append(float(np.linalg.norm(embedding - photo_embedding)))
    return {
        "opening": opening,
        "sharpness": np.array(sharpness),
        "teeth": np.array(teeth),
        "eyes": eye_aspect_ratio(pixels),
        "identity": np.array(identity),
    }


def _ratio(generated: np.ndarray, real: np.ndarray, statistic=np.nanmedian) -> float:
    if not np.isfinite(generated).any() or not np.isfinite(real).any():
        return float("nan")
    bottom = statistic(real)
    return float(statistic(generated) / bottom) if bottom > 0 else float("nan")


def compare(output: dict, real: dict, seconds: float) -> dict:
    """The columns of the module docstring for one clip (per-frame scores of the output and of the real clip)."""
    from ..metrics.lip_follow import lip_follow, std_ratio

    open_out, open_real = output["opening"] > OPEN_MOUTH, real["opening"] > OPEN_MOUTH
    minutes = seconds / 60
    return {
        "lip_follow": lip_follow(output["opening"], real["opening"]),
        "std_ratio": std_ratio(output["opening"], real["opening"]),
        "rest_gap": float(np.nanpercentile(output["opening"], 10) - np.nanpercentile(real["opening"], 10)),
        "sharpness": _ratio(output["sharpness"][open_out], real["sharpness"][open_real]),
        "teeth": _ratio(output["teeth"][open_out], real["teeth"][open_real], np.nanmean),
        "blinks_per_minute": count_blinks(output["eyes"]) / minutes,
        "real_blinks_per_minute": count_blinks(real["eyes"]) / minutes,
        "identity": float(np.median(output["identity"])) if len(output["identity"]) else float("nan"),
    }


def _summary(values: list[float]) -> dict:
    array = np.array([v for v in values if np.isfinite(v)], np.float64)
    if not len(array):
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "clips": 0}
    return {
        "median": float(np.median(array)),
        "mean": float(array.mean()),
        "min": float(array.min()),
        "max": float(array.max()),
        "clips": len(array),
    }


def benchmark_talking_head(
    data: str | os.PathLike,
    split: str = "test",
    mouth_interior: str | None = None,
    rows: list[str] | None = None,
    limit: int | None = None,
    max_seconds: float = 20.0,
    progress: bool = True,
    keep_outputs: str | os.PathLike | None = None,
) -> dict:
    """The rows and columns of the module docstring on ``split`` of ``data``; ``mouth_interior`` names the
    generator (default: the shipped one). Clips are cut to their first ``max_seconds``."""
    from ..defaults import MOUTH_INTERIOR
    from ..io import audio as audio_io
    from ..processing import audio as audio_lib

    clips = split_clips(data, split)[:limit]
    models = load_talking_head_models(repaint=False, mouth_interior=mouth_interior or MOUTH_INTERIOR)
    embedder = default_face_embedder()
    expert = load_offset_expert()
    rows = rows or list(ROWS)
    scored: dict[str, dict[str, dict]] = {}
    prepared = {}
    per_clip: dict[str, dict[str, dict]] = {row: {} for row in rows}
    photos: dict[str, bool] = {}
    folder = Path(keep_outputs) if keep_outputs else Path(tempfile.mkdtemp(prefix="talkhead-th-"))
    folder.mkdir(parents=True, exist_ok=True)
    for clip in tqdm(clips, desc="talking head", disable=not progress):
        real_track = track_clip(clip.video, keep_frames=True)
        frames = min(real_track.num_frames, int(max_seconds * audio_lib.VIDEO_FPS))
        real_track = real_track.cut(frames)
        wave = audio_io.load_audio(clip.audio)[: frames * audio_lib.SAMPLES_PER_FRAME]
        photo = np.ascontiguousarray(real_track.frames[0])  # the first frame as tracked: its landmarks fit it
        points = real_track.track_landmarks[0]
        if not np.isfinite(points).all():
            continue
        photos[clip.clip_id] = bool(mouth_opening(points) > OPEN_PHOTO_GAP)
        photo_embedding = embedder(photo, face_box(points).astype(np.float32))
        real = _frame_scores(real_track)
        prepared[clip.clip_id] = prepare_real_clip(clip.clip_id, real_track, wave, expert)
        for row in rows:
            setting = ROWS[row]
            output = folder / f"{clip.clip_id.replace('/', '_')}-{row}.mp4"
            options = TalkingHeadOptions(progress=False, output_size=max(photo.shape[:2]), **setting["options"])
            started = time.perf_counter()
            interior = models.mouth_interior if setting["mouth_interior"] else None
            result = talking_head(photo, wave, output, replace(models, mouth_interior=interior), options)
            wall = time.perf_counter() - started
            generated = track_clip(output, keep_frames=True)
            scores = compare(_frame_scores(generated, (embedder, photo_embedding)), real, frames / 25)
            scores["fps"] = result.frames / wall
            scored.setdefault(row, {})[clip.clip_id] = score_clip(
                prepared[clip.clip_id], generated, real["opening"], generated.mouth_opening()
            )
            per_clip[row][clip.clip_id] = scores
            if not keep_outputs:
                output.unlink()
    columns = [
        "lip_follow",
        "std_ratio",
        "rest_gap",
        "sharpness",
        "teeth",
        "blinks_per_minute",
        "real_blinks_per_minute",
        "identity",
        "fps",
    ]
    summary = {}
    for row in rows:
        values = per_clip[row]
        summary[row] = {column: _summary([v[column] for v in values.values()]) for column in columns}
        summary[row]["rest_gap_open_photo"] = _summary([v["rest_gap"] for c, v in values.items() if photos[c]])
    return {
        "benchmark": "talking-head",
        "data": str(data),
        "split": split,
        "clips": list(photos),
        "open_photos": [c for c, is_open in photos.items() if is_open],
        "max_seconds": max_seconds,
        "mouth_interior": mouth_interior or MOUTH_INTERIOR,
        "rows": summary,
        "per_clip": per_clip,
        **articulation_report(prepared, scored),
    }


def talking_head_table(report: dict) -> str:
    """Medians over clips (min-max for the per-clip ratios) as a Markdown table."""
    header = (
        "| row | lip-follow | opening std ratio | rest gap (all / open photos) | sharpness (min-max) | "
        "teeth share | blinks/min (real) | identity | fps |"
    )
    lines = [header, "|" + "---|" * 9]
    for row, values in report["rows"].items():

        def cell(column, digits=2, spread=False, values=values):
            value = values[column]
            text = f"{value['median']:.{digits}f}"
            return text + (f" ({value['min']:.2f}-{value['max']:.2f})" if spread else "")

        lines.append(
            f"| {row} | {cell('lip_follow', 3)} | {cell('std_ratio')} | {cell('rest_gap', 3)} / "
            f"{cell('rest_gap_open_photo', 3)} | {cell('sharpness', spread=True)} | {cell('teeth', spread=True)} | "
            f"{cell('blinks_per_minute', 1)} ({cell('real_blinks_per_minute', 1)}) | {cell('identity')} | "
            f"{cell('fps', 1)} |"
        )
    return "\n".join(lines)
