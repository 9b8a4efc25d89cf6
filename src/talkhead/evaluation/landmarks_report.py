"""``talkhead evaluate landmarks``: MS-Sync's multi-scale AV offset and confidence of a talking face's landmarks.

Landmarks come from a file, or from a video tracked once (:func:`~talkhead.processing.tracked_clip.track_clip`) and
normalised as the datasets are (the clip crop of :func:`talkhead.processing.face_crops.frame_clip`), then smoothed over
3 frames as the syncers saw them in training (MS-Sync code, LouisBearing/HMo-audio, ``VoxLipsDataset``): the same
landmarks ``talkhead evaluate video --metrics ms_sync`` scores.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .. import defaults
from ..errors import TalkheadInputError
from ..hub import checkpoint_path, load_pretrained
from ..io import audio as audio_io
from ..io import outputs
from ..metrics.landmarks import multiscale_sync
from ..models.ms_sync import MSSyncSyncerModel
from ..processing import audio as audio_lib
from ..processing.landmarks import smooth_landmarks
from ..processing.tracked_clip import track_clip
from .inputs import input_names

DEFAULT_EVAL_SYNCERS = defaults.EVAL_SYNCERS


def read_landmark_file(path: str | os.PathLike) -> np.ndarray:
    """(T, 68, 2) landmarks in clip-crop units from a ``.npz`` (key ``landmarks``) or ``.json`` file at 25 fps."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such landmark file: '{path}'")
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        landmarks, fps = np.asarray(data["landmarks"], np.float32), data.get("fps", defaults.VIDEO_FPS)
    else:
        with np.load(path) as data:
            if "landmarks" not in data:
                raise TalkheadInputError(f"'{path}' has no 'landmarks' array; it holds {sorted(data.files)}")
            landmarks = data["landmarks"].astype(np.float32)
            fps = int(data["fps"]) if "fps" in data.files else defaults.VIDEO_FPS
    if landmarks.ndim != 3 or landmarks.shape[1:] != (68, 2):
        raise TalkheadInputError(f"'{path}': landmarks must be (T, 68, 2), got {landmarks.shape}")
    if fps != defaults.VIDEO_FPS:
        raise TalkheadInputError(f"'{path}': landmarks must be at {defaults.VIDEO_FPS} fps, got {fps}")
    return landmarks


def _chunks(length: int, size: int) -> list[tuple[int, int]]:
    return [(start, start + size) for start in range(0, length - size + 1, size)]


def evaluate_landmarks(
    video: str | None = None,
    audio: str | None = None,
    landmarks: str | None = None,
    model: str = DEFAULT_EVAL_SYNCERS,
    chunk: int | None = None,
    padding: str = "valid",
    names: Mapping[str, str] | None = None,
) -> dict:
    """Multi-scale |AV-Off_i| and AV-Conf_i of a talking face (Airale et al., MS-Sync, §4.3) as a JSON-ready report.

    Landmarks come from ``landmarks`` (a file) or are tracked in ``video``; speech comes from
    ``audio`` or the video's own track. ``chunk`` (e.g. 80, the paper's protocol) also reports the
    mean and std over consecutive clips of that many frames. ``names``: how messages name the inputs
    (:func:`talkhead.evaluation.inputs.input_names`).
    """

    names = input_names(names)
    if landmarks is None and video is None:
        raise TalkheadInputError(
            f"give {names['video']} (to track landmarks) or {names['landmarks']} (a .npz or .json file)"
        )
    speech_source = audio or video
    if speech_source is None:
        raise TalkheadInputError(f"give {names['audio']} (the speech) when the landmarks come from a file")
    report: dict = {"video": video, "audio": speech_source, "model": checkpoint_path(model), "padding": padding}
    if landmarks is not None:
        points, clip = read_landmark_file(landmarks), None
        report.update(landmarks_source=str(landmarks), face_found_rate=None)
    else:
        clip = track_clip(video)
        clip.check_face()
        report.update(landmarks_source="tracked", face_found_rate=round(clip.found_rate, 4))
    wave = audio_io.load_audio(speech_source)
    audio_io.check_min_duration(wave, f"the audio of '{speech_source}'")
    if audio_lib.silence_mask(wave).all():
        raise TalkheadInputError(f"the audio of '{speech_source}' is silent; synchrony cannot be measured")
    frames = min(len(points) if clip is None else clip.num_frames, audio_lib.num_video_frames(len(wave)))
    # a tracked clip is framed on the frames with speech, as `talkhead preprocess` and `talkhead evaluate` do
    points = points[:frames] if clip is None else smooth_landmarks(clip.cut(frames).landmarks)
    features = audio_lib.logfbank26(audio_io.fit_length(wave, frames * audio_lib.SAMPLES_PER_FRAME), frames)
    syncer = load_pretrained(MSSyncSyncerModel, model)
    syncer.check_length(frames, range(1, syncer.config.num_levels + 1))
    result = multiscale_sync(syncer, points, features, padding=padding)
    report.update(
        frames=frames, seconds=round(frames / defaults.VIDEO_FPS, 3), levels=result.to_dict(), summary=result.summary()
    )
    if chunk:
        syncer.check_length(chunk, range(1, syncer.config.num_levels + 1))
        values = [
            multiscale_sync(syncer, points[a:b], features[4 * a : 4 * b], padding=padding).summary()
            for a, b in _chunks(frames, chunk)
        ]
        if values:
            report["chunks"] = {
                "size": chunk,
                "count": len(values),
                "mean": {k: float(np.mean([v[k] for v in values])) for k in values[0]},
                "std": {k: float(np.std([v[k] for v in values])) for k in values[0]},
            }
    return report


def plot_offset_curves(report: dict, path: str | os.PathLike) -> Path:
    """Distance versus offset at every level, the chosen offset marked: one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = report["levels"]
    figure, axes = plt.subplots(1, len(levels), figsize=(3.6 * len(levels), 3.2), dpi=110, squeeze=False)
    for axis, (name, level) in zip(axes[0], levels.items(), strict=True):
        offsets_ms = np.asarray(level["offsets"]) * level["step_ms"]
        axis.plot(offsets_ms, level["distances"], color="C0")
        axis.axvline(level["offset"] * level["step_ms"], color="C3", linestyle="--", linewidth=1)
        axis.set_title(
            f"{name.replace('_', ' ')}: off {level['offset']:+d}, conf {level['confidence']:.2f}", fontsize=9
        )
        axis.set_xlabel("offset (ms, + = audio leads)", fontsize=8)
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("mean embedding distance")
    figure.suptitle(Path(str(report.get("video") or report.get("landmarks_source"))).name, fontsize=9)
    figure.tight_layout()
    try:
        with outputs.atomic_output(path) as temporary:
            figure.savefig(temporary, format="png")
    finally:
        plt.close(figure)
    return Path(path)
