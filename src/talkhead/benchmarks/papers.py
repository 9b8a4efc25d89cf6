"""The papers' benchmark protocols behind ``talkhead benchmark ms-sync`` and ``talkhead benchmark lip-sync``
(architecture.md, "Reports"), on the clips of a dataset written by ``talkhead preprocess``.

Each benchmark returns ``{"rows": {name: {column: {"mean": .., "std": ..}}}, ...}`` plus what it ran on,
and :func:`markdown_table` prints the same rows for a README or RESULTS.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data.clips import iter_clips, load_dataset_dict
from ..errors import TalkheadInputError
from ..hub import checkpoint_path, load_pretrained
from ..io.audio import SAMPLE_RATE
from ..metrics.face_sync import face_sync
from ..metrics.image import (
    face_embeddings,
    finite_mean,
    identity_similarity,
    inter_frame_consistency,
    mouth_landmark_distance,
    mouth_openings,
    psnr,
    ssim,
)
from ..metrics.landmarks import landmark_frechet, multiscale_sync
from ..models.mouth_motion import MouthMotionModel
from ..models.ms_sync import MSSyncGenerator, MSSyncSyncerModel
from ..models.stable_sync import StableSyncFaceGenerator, mask_lower_half
from ..models.syncnet_expert import SyncNetExpert
from ..pipelines.talking_head.photo_motion import speak_with_mouth_model
from ..processing.audio import MEL_SILENCE, mel_tensor
from ..processing.face_crops import faces_to_tensor
from ..processing.landmarks import smooth_landmarks


def _mean_std(rows: list[dict]) -> dict:
    """Mean and std of each score over the rows, infinite values (PSNR of identical frames) left out of both."""

    summary = {}
    for key in rows[0]:
        values = np.array([r[key] for r in rows], np.float64)
        finite = values[np.isfinite(values)]
        summary[key] = {"mean": finite_mean(values), "std": float(np.std(finite)) if finite.size else 0.0}
    return summary


def benchmark_ms_sync(
    data: str | os.PathLike,
    split: str = "test",
    models: list[str] | None = None,
    eval_syncers: str = "ms-sync-eval-syncers",
    clip_frames: int = 80,
    progress: bool = True,
    padding: str = "valid",
    mouth_model: str | None = None,
) -> dict:
    """MS-Sync Table 3 protocol on ``clip_frames``-frame clips of ``split``.

    Rows: ``static`` (the first frame repeated), ``ground_truth``, and one per generator in
    ``models`` (generated from the clip's first frame and its audio). Columns: ``av_off_1..4``
    (absolute offsets) and ``av_conf_1..4`` from the evaluation syncers, and ``frechet``, the landmark
    Fréchet distance to ground truth (mean over levels of the syncer-feature distances). With ``mouth_model``
    (a mouth-motion checkpoint), each generator also gets a row ``<generator>+mouth``: its landmarks with the mouth
    and chin set from the chunk's speech by that model, as ``talkhead talking-head`` draws them.
    """

    dataset = load_dataset_dict(data)
    if split not in dataset:
        raise TalkheadInputError(f"'{data}' has no split '{split}'; it has {sorted(dataset)}")
    syncers = load_pretrained(MSSyncSyncerModel, eval_syncers).eval()
    generators = {Path(checkpoint_path(m)).name: load_pretrained(MSSyncGenerator, m).eval() for m in (models or [])}
    chunks, waves = [], []
    for clip in iter_clips(dataset[split]):
        smoothed = smooth_landmarks(clip.landmarks)
        for start in range(0, clip.num_frames - clip_frames + 1, clip_frames):
            chunks.append((smoothed[start : start + clip_frames], clip.logfbank[4 * start : 4 * (start + clip_frames)]))
            samples = SAMPLE_RATE // int(clip.fps)
            waves.append(clip.audio[samples * start : samples * (start + clip_frames)])
    if len(chunks) < 2:
        raise TalkheadInputError(
            f"split '{split}' holds {len(chunks)} clip(s) of {clip_frames} frames; the benchmark needs 2 or more"
        )
    sequences = {
        "static": [np.repeat(lm[:1], clip_frames, axis=0) for lm, _ in chunks],
        "ground_truth": [lm for lm, _ in chunks],
    }
    for name, generator in generators.items():
        with torch.no_grad():
            sequences[name] = [
                generator.generate(torch.from_numpy(lm[:1]), torch.from_numpy(audio)[None], clip_frames)[0].numpy()
                for lm, audio in tqdm(chunks, desc=name, disable=not progress)
            ]
    if mouth_model is not None:
        mouth = load_pretrained(MouthMotionModel, mouth_model).eval()
        for name in list(generators):
            sequences[f"{name}+mouth"] = [
                speak_with_mouth_model(seq, seq[0], mouth, wave)
                for seq, wave in zip(sequences[name], waves, strict=False)
            ]
    rows = {}
    for name, generated in sequences.items():
        scores = [
            multiscale_sync(syncers, seq, audio, padding=padding).summary()
            for seq, (_, audio) in zip(generated, chunks, strict=False)
        ]
        rows[name] = _mean_std(scores)
        frechet = landmark_frechet(syncers, generated, sequences["ground_truth"])
        rows[name]["frechet"] = {"mean": frechet["frechet"], "std": 0.0}
    return {
        "protocol": "MS-Sync Table 3",
        "data": str(data),
        "split": split,
        "clips": len(chunks),
        "clip_frames": clip_frames,
        "padding": padding,
        "eval_syncers": checkpoint_path(eval_syncers),
        "models": {n: checkpoint_path(m) for n, m in zip(generators, models or [], strict=False)},
        "mouth_model": checkpoint_path(mouth_model) if mouth_model else None,
        "rows": rows,
    }


def markdown_table(report: dict, columns: list[str] | None = None) -> str:
    """The rows of a benchmark report as a Markdown table, ``mean ± std`` per cell."""
    rows = report["rows"]
    columns = columns or list(dict.fromkeys(c for values in rows.values() for c in values))  # every row's, in order
    lines = ["| | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for name, values in rows.items():
        cells = [
            "–"
            if c not in values
            else f"{values[c]['mean']:.2f} ± {values[c]['std']:.2f}"
            if values[c]["std"]
            else f"{values[c]['mean']:.3f}"
            for c in columns
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


IDENTITY_EVERY = 5  # identity is scored on every 5th frame: dlib's embedding takes about 0.1 s a crop


def _lip_sync_scores(generated, target, reference_embeddings, mel, first_frame, expert) -> dict:

    sync = face_sync(expert, generated, mel, first_frame)
    return {
        "ssim": ssim(generated, target),
        "psnr": psnr(generated, target),
        "lmd": mouth_landmark_distance(generated, target),
        "ifc": inter_frame_consistency(generated, target),
        "identity": identity_similarity(generated[::IDENTITY_EVERY], reference_embeddings),
        "sync_conf": sync.confidence,
        "sync_dist": sync.min_distance,
        "sync_off": abs(sync.offset),
    }


def benchmark_lip_sync(
    data: str | os.PathLike,
    split: str = "test",
    models: list[str] | None = None,
    silent_lip: str | None = "stable-sync-silent-lip",
    eval_expert: str = "syncnet-eval",
    chunk_frames: int = 50,
    progress: bool = True,
) -> dict:
    """The stabilized-sync paper's Table 1 protocol on ``chunk_frames``-frame chunks of ``split`` (faces needed).

    Rows: ``ground_truth``; ``reference_copy`` (frames from half a clip away copied as the output: right face,
    wrong mouth); one per face generator in ``models``, fed the lower-half-masked ground truth as pose, the
    frames half a clip away as identity (closed-lipped by ``silent_lip`` when given) and the true audio.
    Columns: ``ssim``, ``psnr``, ``lmd`` (dlib mouth points, px), ``ifc``, ``identity`` (dlib embedding cosine
    to the identity frames, on every 5th frame), and ``sync_conf`` / ``sync_dist`` / ``sync_off`` (|offset|) from
    ``eval_expert``.
    Generator rows add the silence check: each chunk generated again from the mel of silence, and
    ``silence_closed`` the fraction of those frames whose dlib mouth opening is below the median opening
    of the chunk's ground truth (1.0: every frame closed; a copy of the speaking ground truth gets 0.5);
    ``speech_closed`` is the same fraction for the frames generated from the true audio, the control:
    silence closes the mouth when ``silence_closed`` exceeds it.
    """

    dataset = load_dataset_dict(data)
    if split not in dataset:
        raise TalkheadInputError(f"'{data}' has no split '{split}'; it has {sorted(dataset)}")
    if "faces" not in dataset[split].column_names:
        raise TalkheadInputError(f"'{data}' has no face crops: build it with `talkhead preprocess --faces`")
    expert = load_pretrained(SyncNetExpert, eval_expert).eval()
    generators = {
        Path(checkpoint_path(m)).name: load_pretrained(StableSyncFaceGenerator, m).eval() for m in (models or [])
    }
    closer = load_pretrained(StableSyncFaceGenerator, silent_lip).eval() if generators and silent_lip else None
    rows: dict[str, list[dict]] = {"ground_truth": [], "reference_copy": [], **{name: [] for name in generators}}
    clips = [c for c in iter_clips(dataset[split]) if c.num_frames >= 2 * chunk_frames]
    if not clips:
        raise TalkheadInputError(f"split '{split}' has no clip of {2 * chunk_frames} frames (two chunks)")
    for clip in tqdm(clips, desc="lip-sync benchmark", disable=not progress):
        faces = faces_to_tensor(clip.faces)
        half = clip.num_frames // 2
        for start in range(0, clip.num_frames - chunk_frames + 1, chunk_frames):
            frames = list(range(start, start + chunk_frames))
            target = faces[frames]
            reference = faces[[(t + half) % clip.num_frames for t in frames]]
            reference_embeddings = face_embeddings(reference[::IDENTITY_EVERY])
            rows["ground_truth"].append(_lip_sync_scores(target, target, reference_embeddings, clip.mel, start, expert))
            rows["reference_copy"].append(
                _lip_sync_scores(reference, target, reference_embeddings, clip.mel, start, expert)
            )
            if not generators:
                continue
            frame_mels = torch.stack([mel_tensor(clip.mel, t - 2) for t in frames])
            with torch.no_grad():
                identity = reference
                if closer is not None:
                    identity = closer(
                        reference, mask_lower_half(reference), torch.full_like(frame_mels, MEL_SILENCE)
                    ).images
                speaking = np.median(mouth_openings(target))
                for name, generator in generators.items():
                    generated = generator(identity, mask_lower_half(target), frame_mels).images
                    silent = generator(
                        identity, mask_lower_half(target), torch.full_like(frame_mels, MEL_SILENCE)
                    ).images
                    rows[name].append(
                        {
                            **_lip_sync_scores(generated, target, reference_embeddings, clip.mel, start, expert),
                            "speech_closed": float(np.mean(mouth_openings(generated) < speaking)),
                            "silence_closed": float(np.mean(mouth_openings(silent) < speaking)),
                        }
                    )
    return {
        "protocol": "stabilized sync Table 1",
        "data": str(data),
        "split": split,
        "chunks": len(rows["ground_truth"]),
        "chunk_frames": chunk_frames,
        "eval_expert": checkpoint_path(eval_expert),
        "silent_lip": checkpoint_path(silent_lip) if closer is not None else None,
        "models": {n: checkpoint_path(m) for n, m in zip(generators, models or [], strict=False)},
        "rows": {name: _mean_std(values) for name, values in rows.items()},
    }
