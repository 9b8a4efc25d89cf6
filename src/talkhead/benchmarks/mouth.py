"""``talkhead benchmark mouth``: how real the dubbed mouth looks, at video resolution.

Each held-out clip is dubbed with its own speech, so the original frame is the ground truth, and every
output frame is scored inside the mouth box of the real frame (:mod:`talkhead.metrics.mouth_quality`).
A frame may not take its mouth from source frames within ``exclude_within`` (10) frames of itself.
Rows:

* ``lipsync``: ``talkhead lip-sync`` as shipped (mouth shapes predicted from the audio by the mouth-motion
  model, retrieval renderer);
* ``renderer_real_shapes``: the same renderer fed the real mouth shapes: the renderer's own upper bound,
  so the motion model's and the renderer's shares of the gap stay visible;
* ``reference_copy``: the renderer floor of :mod:`talkhead.metrics.baselines`: the mouth box of the frame whose
  mouth shape is nearest the real one, scaled and pasted under a feathered square (no warp, no learning);
* ``paper_generator``: the paper's G_L (``stable-sync-face``) through the same pipeline;
* ``ground_truth``: the decoded original against itself through an H.264 round trip (the codec's floor).
"""

from __future__ import annotations

import os
import tempfile
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from .. import defaults
from ..io import audio as audio_io
from ..io.outputs import atomic_output
from ..io.video import VideoReader
from ..io.video_probe import probe_video
from ..io.video_writer import VideoWriter
from ..metrics.mouth_quality import mouth_box, mouth_quality, summarize
from ..pipelines import mouth_retrieval as retrieval
from ..pipelines.lip_sync.retrieval_renderer import RetrievalRenderer
from ..processing.mouth import mouth_shapes
from ..processing.tracked_clip import track_clip
from .lip_follow import pipeline_runners
from .split_clips import split_clips

EXCLUDE_WITHIN = 10
SHEET_FRAMES, SHEET_CLIPS, SHEET_SIDE = 8, 6, 112


def reference_copy(
    frames: list[np.ndarray], landmarks: np.ndarray, t: int, exclude_within: int = EXCLUDE_WITHIN
) -> np.ndarray:
    """Frame ``t`` with the mouth box of the nearest-shaped frame at least ``exclude_within`` away pasted in."""

    shapes = mouth_shapes(np.nan_to_num(landmarks)).reshape(len(landmarks), -1)
    distance = ((shapes - shapes[t]) ** 2).sum(1)
    distance[np.abs(np.arange(len(shapes)) - t) < exclude_within] = np.inf
    distance[~np.isfinite(landmarks).all((1, 2))] = np.inf
    if not np.isfinite(distance).any():
        return frames[t]
    r = int(np.argmin(distance))
    (x0, y0, x1, y1), (a0, b0, a1, b1) = mouth_box(landmarks[t]), mouth_box(landmarks[r])
    height, width = frames[t].shape[:2]
    if min(x0, y0, a0, b0) < 0 or max(x1, a1) > width or max(y1, b1) > height or x1 - x0 < 8:
        return frames[t]
    patch = cv2.resize(frames[r][b0:b1, a0:a1], (x1 - x0, y1 - y0), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    side = x1 - x0
    mask = np.zeros((y1 - y0, side), np.float32)
    edge = max(side // 8, 1)
    mask[edge:-edge, edge:-edge] = 1
    mask = cv2.GaussianBlur(mask, (0, 0), edge / 2)[..., None]
    out = frames[t].copy()
    out[y0:y1, x0:x1] = np.clip(out[y0:y1, x0:x1] * (1 - mask) + patch * mask + 0.5, 0, 255).astype(np.uint8)
    return out


def decoded_and_tracked(video, max_frames: int) -> tuple[float, list[np.ndarray], np.ndarray]:
    """(fps, the first ``max_frames`` frames at full size, their landmarks in image pixels, NaN without a face)."""

    fps = float(probe_video(video).source_fps or 25)
    frames = decode_frames(video, fps, max_frames)
    return fps, frames, track_clip(video, fps=fps, frames=frames, max_side=None).short_gaps_filled()[0]


def real_mouth_pool(frames: list[np.ndarray], landmarks: np.ndarray):
    """(valid frames, the retrieval pool cut from them, their real mouth shapes (T, 20, 2), zero without a face):
    what the renderer gets in `talkhead lip-sync`, with the true shapes as targets."""

    valid = np.isfinite(landmarks).all((1, 2))
    pool = retrieval.build_pool(
        ((i, frames[i], landmarks[i]) for i in retrieval.pool_frame_indices(valid, defaults.POOL_SIZE)),
        retrieval.choose_pixels_per_unit(landmarks[valid]),
    )
    shapes = np.zeros((len(frames), 20, 2))
    shapes[valid] = mouth_shapes(landmarks[valid])
    return valid, pool, shapes


def _reference_copies(frames: list[np.ndarray], landmarks: np.ndarray) -> list[np.ndarray]:
    return [reference_copy(frames, landmarks, t) for t in range(len(frames))]


def _render_real_shapes(frames: list[np.ndarray], landmarks: np.ndarray, exclude_within: int) -> list[np.ndarray]:

    valid, pool, shapes = real_mouth_pool(frames, landmarks)
    renderer = RetrievalRenderer(landmarks, valid, pool, shapes, np.arange(len(frames)), exclude_within)
    return [renderer.render(frame, t) for t, frame in enumerate(frames)]


def decode_frames(path, fps: float, count: int | None = None) -> list[np.ndarray]:
    """The first ``count`` frames (all without it): a 20 s 1080p clip decoded whole would hold 3 GB for 150 used
    frames."""

    return list(VideoReader(path, fps=fps).frames(0, count))


def _h264_round_trip(frames: list[np.ndarray], fps: float, folder: str) -> list[np.ndarray]:

    path = Path(folder) / "ground_truth.mp4"
    with VideoWriter(path, fps=fps, crf=defaults.CRF) as writer:
        for frame in frames:
            writer.write(frame)
    return decode_frames(path, fps)


def _dubbed(syncer, video, wave, path, fps):
    def produce():
        syncer(video, wave, path, exclude_within=EXCLUDE_WITHIN)
        return decode_frames(path, fps)

    return produce


def benchmark_mouth(
    data: str | os.PathLike,
    split: str = "test",
    lip_sync_model: str = "mouth-motion",
    paper_generator: str | None = "stable-sync-face",
    limit: int | None = None,
    max_frames: int = 150,
    sheet: str | os.PathLike | None = None,
    progress: bool = True,
    workdir: str | None = None,
) -> dict:
    """Rows of the module docstring over the first ``max_frames`` frames of each clip of ``split``."""

    clips = split_clips(data, split)[:limit]
    lip_syncer = pipeline_runners(lip_sync_model, "ms-sync-short")[0]
    paper = pipeline_runners(paper_generator, "ms-sync-short")[0] if paper_generator else None
    per_row: dict[str, list[dict]] = {}
    per_clip: dict[str, dict[str, dict]] = {}
    sheet_columns = []
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        for index, clip in enumerate(tqdm(clips, desc="mouth benchmark", disable=not progress)):
            fps, frames, landmarks = decoded_and_tracked(clip.video, max_frames)
            wave = audio_io.load_audio(clip.audio)[: int(len(frames) / fps * audio_io.SAMPLE_RATE)]
            producers = {
                "ground_truth": partial(_h264_round_trip, frames, fps, folder),
                "reference_copy": partial(_reference_copies, frames, landmarks),
                "renderer_real_shapes": partial(_render_real_shapes, frames, landmarks, EXCLUDE_WITHIN),
            }
            for row, syncer in (("lipsync", lip_syncer), ("paper_generator", paper)):
                if syncer is not None:
                    producers[row] = _dubbed(syncer, clip.video, wave, Path(folder) / f"{row}.mp4", fps)
            for row, produce in producers.items():  # one row's frames in memory at a time
                generated = produce()
                scores = [
                    mouth_quality(g, f, p)
                    for g, f, p in zip(generated, frames, landmarks, strict=False)
                    if np.isfinite(p).all()
                ]
                per_row.setdefault(row, []).extend(scores)
                per_clip.setdefault(row, {})[clip.clip_id] = summarize(scores)
                if row == "lipsync" and sheet is not None and index < SHEET_CLIPS:
                    sheet_columns.extend(_sheet_columns(frames, generated, landmarks))
                del generated
    if sheet is not None and sheet_columns:
        _write_sheet(sheet, sheet_columns)
    rows = {row: summarize(scores) for row, scores in per_row.items()}
    return {
        "benchmark": "mouth",
        "data": str(data),
        "split": split,
        "clips": [c.clip_id for c in clips],
        "max_frames": max_frames,
        "exclude_within": EXCLUDE_WITHIN,
        "lip_sync_model": lip_sync_model,
        "paper_generator": paper_generator,
        "rows": rows,
        "per_clip": per_clip,
    }


def _sheet_columns(frames, generated, landmarks) -> list[np.ndarray]:
    """Original mouth over generated mouth, for ``SHEET_FRAMES`` frames spread over the clip."""

    valid = np.flatnonzero(np.isfinite(landmarks).all((1, 2)))[: len(generated)]
    columns = []
    for t in valid[np.linspace(0, len(valid) - 1, SHEET_FRAMES).round().astype(int)]:
        x0, y0, x1, y1 = mouth_box(landmarks[t], 2.0)
        pair = []
        for image in (frames[t], generated[t]):
            height, width = image.shape[:2]
            crop = image[max(y0, 0) : min(y1, height), max(x0, 0) : min(x1, width)]
            pair.append(cv2.resize(crop, (SHEET_SIDE, SHEET_SIDE), interpolation=cv2.INTER_AREA))
        columns.append(np.concatenate(pair, 0))
    return columns


def _write_sheet(path, columns: list[np.ndarray]) -> None:
    """Rows of ``SHEET_FRAMES`` columns (one clip a row), written as PNG."""

    rows = [np.concatenate(columns[i : i + SHEET_FRAMES], 1) for i in range(0, len(columns), SHEET_FRAMES)]

    rows = [np.pad(r, ((0, 4), (0, rows[0].shape[1] - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))
    with atomic_output(path) as temporary:
        temporary.write_bytes(encoded.tobytes())


ROW_ORDER = ("ground_truth", "reference_copy", "renderer_real_shapes", "lipsync", "paper_generator")


def mouth_table(report: dict) -> str:
    """The report's rows as a Markdown table."""
    rows = report["rows"]
    lines = ["| row | mouth SSIM | mouth PSNR (dB) | sharpness (gen / real) | face SSIM |", "|---|---|---|---|---|"]
    for row in [r for r in ROW_ORDER if r in rows]:
        v = rows[row]
        lines.append(
            f"| `{row}` | {v['mouth_ssim']:.3f} | {v['mouth_psnr']:.1f} | {v['mouth_sharpness']:.2f} | "
            f"{v['face_ssim']:.3f} |"
        )
    return "\n".join(lines)
