"""``talkhead benchmark lip-follow``: does the generated mouth follow the speech on held-out speakers?

Every row is the lip-follow (:mod:`talkhead.metrics.lip_follow`) of a mouth-opening sequence against a
real one, averaged over the clips of a split, with pairs (A, B) = (clip i, clip i+1) inside the split:

* ``base``: A's real mouth against B's real mouth (the floor: unrelated speech);
* ``phone_table`` and ``loudness``: the no-learning baselines (:mod:`talkhead.metrics.baselines`), from A's speech;
* ``model:<name>``: a mouth-motion model's predicted opening from A's speech, no rendering;
* ``own``: ``talkhead lip-sync`` of A with A's speech (a frame may not take its mouth from source frames
  within 10 frames of itself, so the true mouth cannot be copied), tracked again, against A's real mouth;
* ``cross``: A dubbed with B's speech, against B's real mouth (B's mouth spoke that audio);
* ``photo``: ``talkhead talking-head`` from A's first frame with A's speech, against A's real mouth.

Real mouths are tracked from the raw videos at 25 fps with the same tracker as the outputs
(:func:`talkhead.processing.tracked_clip.track_clip`). With the pipelines, the ``own``, ``cross`` and ``photo`` outputs
are also scored for articulation (:mod:`talkhead.benchmarks.articulation`: bilabial closures, labiodental contact,
rounding, open-vowel opening and mouth flicker against the real clip whose speech they say, each as filmed and with
that clip's filmed audio-video offset undone); the real clips' own rates are the ceiling.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..data.clips import iter_clips, load_dataset_dict
from ..data.mouth_windows import clip_phones
from ..defaults import MOUTH_INTERIOR
from ..hub import load_pretrained
from ..io import audio as audio_io
from ..io.video import VideoReader
from ..metrics.baselines import fit_phone_table, loudness_opening, phone_table_opening
from ..metrics.lip_follow import lip_follow, std_ratio
from ..models.mouth_interior import MouthInteriorGenerator
from ..models.mouth_motion import MouthMotionModel
from ..models.mouth_motion.modeling_mouth_motion import inner_lip_gap
from ..models.ms_sync import MSSyncGenerator
from ..options import LipSyncOptions, TalkingHeadOptions
from ..pipelines.lip_sync import lip_sync
from ..pipelines.loading import TalkingHeadModels, load_lip_sync_models, renderer_of_checkpoint
from ..pipelines.pipeline_utils import DEFAULT_MOUTH_MOTION
from ..pipelines.talking_head import talking_head
from ..pipelines.talking_head.speech_to_landmarks import SpeechToLandmarks
from ..processing.mouth import inner_lip_opening
from ..processing.phones import phone_features
from ..processing.tracked_clip import track_clip
from .articulation import articulation_report, load_offset_expert, prepare_real_clip, score_clip
from .split_clips import RawClip, split_clips

OWN_EXCLUDE_FRAMES = 10


def _opening(video) -> np.ndarray:
    """(T,) mouth opening of ``video`` tracked at 25 fps (NaN where no face)."""
    return track_clip(video).mouth_opening()


def _phone_table(data) -> np.ndarray:
    """The phone table fitted on the ``train`` split (phones decoded from the stored audio when not stored)."""

    clips = list(iter_clips(load_dataset_dict(data)["train"]))
    return fit_phone_table([clip_phones(c) for c in clips], [inner_lip_opening(c.landmarks) for c in clips])


def _summary(values: dict[str, float]) -> dict:
    array = np.array([v for v in values.values() if np.isfinite(v)], np.float64)
    return {
        "mean": float(array.mean()) if len(array) else float("nan"),
        "std": float(array.std()) if len(array) else float("nan"),
        "clips": len(array),
    }


def _model_opening(model, wave: np.ndarray, num_frames: int) -> np.ndarray:
    """The predicted change of the inner-lip gap (a speaker's mean shape shifts it, which a correlation ignores)."""
    import torch

    displacements = model.predict_speech(wave, num_frames, 25.0)
    return inner_lip_gap(torch.from_numpy(displacements)).numpy()


def benchmark_lip_follow(
    data: str | os.PathLike,
    split: str = "test",
    models: list[str] | None = None,
    pipelines: bool = True,
    lip_sync_model: str = "mouth-motion",
    ms_sync: str = "ms-sync-short",
    limit: int | None = None,
    progress: bool = True,
    workdir: str | None = None,
    visemes: bool = True,
) -> dict:
    """The rows of the module docstring on ``split`` of ``data`` (a ``talkhead preprocess`` folder); ``visemes``:
    the pipelines' viseme stage (:mod:`talkhead.processing.visemes`) on or off."""

    clips: list[RawClip] = split_clips(data, split)[:limit]
    models = models or ["mouth-motion"]
    motion_models = {name: load_pretrained(MouthMotionModel, name).eval() for name in models}
    table = _phone_table(data)
    real, waves, prepared = {}, {}, {}
    expert = load_offset_expert() if pipelines else None
    for clip in tqdm(clips, desc="tracking real mouths", disable=not progress):
        waves[clip.clip_id] = audio_io.load_audio(clip.audio)
        if pipelines:  # the ceiling of the articulation rows: frames, phones and filmed offset too
            tracked = track_clip(clip.video, keep_frames=True)
            prepared[clip.clip_id] = prepare_real_clip(clip.clip_id, tracked, waves[clip.clip_id], expert)
            real[clip.clip_id] = prepared[clip.clip_id].tracked.mouth_opening()
        else:
            real[clip.clip_id] = _opening(clip.video)
    per_clip: dict[str, dict[str, float]] = {}
    ratios: dict[str, dict[str, float]] = {}

    def record(row: str, clip_id: str, opening: np.ndarray, reference: np.ndarray) -> None:
        per_clip.setdefault(row, {})[clip_id] = lip_follow(opening, reference)
        ratios.setdefault(row, {})[clip_id] = std_ratio(opening, reference)

    pairs = cross_pairs(clips)
    for a, b in pairs:
        record("base", a.clip_id, real[a.clip_id], real[b.clip_id])
    for clip in clips:
        wave, opening = waves[clip.clip_id], real[clip.clip_id]
        record("phone_table", clip.clip_id, phone_table_opening(table, phone_features(wave, len(opening))), opening)
        record("loudness", clip.clip_id, loudness_opening(wave, len(opening)), opening)
        for name, model in motion_models.items():
            record(f"model:{Path(name).name}", clip.clip_id, _model_opening(model, wave, len(opening)), opening)
    scored: dict[str, dict[str, dict]] = {}
    if pipelines:
        runners = pipeline_runners(lip_sync_model, ms_sync, visemes)
        _pipeline_rows(clips, pairs, prepared, runners, record, scored, progress, workdir)
    rows = {
        row: {"lip_follow": _summary(values), "std_ratio": _summary(ratios[row])} for row, values in per_clip.items()
    }
    return {
        "benchmark": "lip-follow",
        "data": str(data),
        "split": split,
        "clips": [c.clip_id for c in clips],
        "pairs": [(a.clip_id, b.clip_id) for a, b in pairs],
        "models": models,
        "lip_sync_model": lip_sync_model,
        "visemes": visemes,
        "rows": rows,
        "per_clip": per_clip,
        **articulation_report(prepared, scored),
    }


def _pipeline_rows(clips, pairs, prepared, runners, record, scored, progress, workdir) -> None:
    """``own``, ``cross`` and ``photo``: run the two pipelines, track their outputs, compare (into ``record`` and,
    for articulation, ``scored[row][clip_id]``)."""

    lip_syncer, talker = runners

    def score(row: str, clip_id: str, output: Path, spoken, drawn_on) -> None:
        generated = track_clip(output, keep_frames=True)
        opening = generated.mouth_opening()
        real_opening = spoken.tracked.mouth_opening()
        record(row, clip_id, opening, real_opening)
        scored.setdefault(row, {})[clip_id] = score_clip(spoken, generated, real_opening, opening, drawn_on)

    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        for a, b in tqdm(pairs or [(c, c) for c in clips], desc="pipelines", disable=not progress):
            real_a, real_b = prepared[a.clip_id], prepared[b.clip_id]
            own = Path(folder) / f"{a.clip_id}-own.mp4"
            lip_syncer(a.video, a.audio, own, exclude_within=OWN_EXCLUDE_FRAMES)
            score("own", a.clip_id, own, real_a, real_a)
            if b is not a:
                cross = Path(folder) / f"{a.clip_id}-cross.mp4"
                lip_syncer(a.video, b.audio, cross)
                score("cross", a.clip_id, cross, real_b, real_a)
            photo = Path(folder) / f"{a.clip_id}-photo.mp4"
            talker(first_frame(a.video), a.audio, photo)
            score("photo", a.clip_id, photo, real_a, real_a)
            for path in Path(folder).iterdir():
                path.unlink()


def pipeline_runners(lip_sync_model: str, ms_sync: str, visemes: bool = True):
    """(lip_syncer(video, audio, output, **options), talker(image, audio, output)) with the pipelines' defaults
    (``visemes``: their viseme stage on or off)."""

    renderer = renderer_of_checkpoint(lip_sync_model)  # the lipsync rows may run the paper's G_L too
    models = load_lip_sync_models(lip_sync_model, renderer, lip_sync_model)
    mouth_model = (
        models.mouth_model
        if renderer == "retrieval"
        else load_pretrained(MouthMotionModel, DEFAULT_MOUTH_MOTION).eval()
    )
    talking = TalkingHeadModels(  # with the mouth interior, as `talkhead talking-head` by default
        SpeechToLandmarks(load_pretrained(MSSyncGenerator, ms_sync).eval()),
        mouth_model,
        mouth_interior=load_pretrained(MouthInteriorGenerator, MOUTH_INTERIOR).eval(),
    )

    def lip_syncer(video, audio, output, **options):
        settings = LipSyncOptions(renderer=renderer, progress=False, visemes=visemes, **options)
        return lip_sync(video, audio, output, models, settings)

    def talker(image, audio, output):
        return talking_head(image, audio, output, talking, TalkingHeadOptions(progress=False, visemes=visemes))

    return lip_syncer, talker


def cross_pairs(clips: list) -> list[tuple]:
    """(clip, the clip whose speech dubs it in the ``cross`` row): each clip with the next one's, the last with the
    first's; none for a single clip."""
    return [(a, clips[(i + 1) % len(clips)]) for i, a in enumerate(clips)] if len(clips) > 1 else []


def first_frame(video: str) -> np.ndarray:
    """The video's first frame: the photo of the ``photo`` row."""
    return next(iter(VideoReader(video)))


ROW_ORDER = ("base", "loudness", "phone_table", "own", "cross", "photo")


def lip_follow_table(report: dict) -> str:
    """The report's rows as a Markdown table (lip-follow mean ± std over clips, and the std ratio)."""
    rows = report["rows"]
    order = [r for r in ROW_ORDER if r in rows] + sorted(r for r in rows if r not in ROW_ORDER)
    lines = ["| row | lip-follow | std ratio (generated / real) | clips |", "|---|---|---|---|"]
    for row in order:
        follow, ratio = rows[row]["lip_follow"], rows[row]["std_ratio"]
        shown_ratio = "-" if row in ("base", "phone_table", "loudness") else f"{ratio['mean']:.2f}"
        lines.append(f"| `{row}` | {follow['mean']:.3f} ± {follow['std']:.3f} | {shown_ratio} | {follow['clips']} |")
    return "\n".join(lines)
