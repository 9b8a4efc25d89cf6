"""Blinks for a face that has none (issue #27): a seeded schedule of eyelid closures, and the lids drawn shut.

A still photo warped through generated landmarks never blinks unless told to: MS-Sync's eye points do not
close, and the talking head keeps them rigid with the head (``expression_scale`` 0). Real speakers blink about
every 2-6 s, each blink 100-300 ms with the lids meeting for a frame or two (13 per minute in the clips of
``../shared/data/raw``). :func:`blink_schedule` draws such a schedule from a seed (pure: the same frames, rate and
seed give the same blinks), never during the first ``first_after`` seconds (the first frame is the photo);
:func:`close_eyes` moves each upper lid towards its lower lid by the scheduled share in a frame (the pixels
themselves, not the landmarks: a thin-plate warp through lids that nearly meet folds the whole face).
"""

from __future__ import annotations

import cv2
import numpy as np

BLINK_INTERVAL = (2.0, 6.0)  # seconds from one blink to the next, drawn uniformly
BLINK_DURATION = (0.12, 0.28)  # seconds a blink lasts, drawn uniformly
FIRST_BLINK_AFTER = 0.8  # seconds: the first frames stay the photo
LID_TRAVEL = 0.95  # share of the lid gap the upper lid closes (what is left is the lash line)
EYES = ((36, 37, 38, 39, 40, 41), (42, 43, 44, 45, 46, 47))  # corner, upper lid, upper lid, corner, lower, lower
SKIN_ABOVE = 1.5  # eye heights of skin above the upper lid stretched down over the eye


def blink_schedule(
    frames: int,
    fps: float,
    seed: int = 0,
    interval: tuple[float, float] = BLINK_INTERVAL,
    duration: tuple[float, float] = BLINK_DURATION,
    first_after: float = FIRST_BLINK_AFTER,
) -> np.ndarray:
    """(frames,) eyelid closure in [0, 1] per frame: 0 open, 1 closed (each blink reaches 1 on at least one frame).

    A blink closes over its first 40 % (ease-in), stays shut a moment and opens over the last half, as lids do.
    """
    closure = np.zeros(frames, np.float64)
    rng = np.random.default_rng(seed)
    start = first_after + rng.uniform(0.0, interval[0])
    times = np.arange(frames) / fps
    while start < frames / fps:
        length = rng.uniform(*duration)
        phase = (times - start) / length
        inside = (phase >= 0) & (phase <= 1)
        if inside.any():
            p = phase[inside]
            closing, opening = np.sin(np.pi / 2 * p / 0.4) ** 2, np.cos(np.pi / 2 * (p - 0.5) / 0.5) ** 2
            shape = np.where(p < 0.4, closing, np.where(p < 0.5, 1.0, opening))
            shape[np.argmax(shape)] = 1.0  # at 25 fps a short blink may fall between its peak's frames
            closure[inside] = np.maximum(closure[inside], shape)
        start += length + rng.uniform(*interval)
    return closure


def close_eyes(frame: np.ndarray, points: np.ndarray, closure: float, travel: float = LID_TRAVEL) -> np.ndarray:
    """``frame`` with both upper lids moved ``travel`` x ``closure`` of the way down to the lower lids.

    Column by column, a monotonic vertical remap inside each eye's box: the skin between ``SKIN_ABOVE`` eye heights
    above the lid and the lid slides down to the new lid line, and the eye itself is squeezed into what is left
    of the gap (its lashes become the closed eye's lash line). The lids of ``points`` (68, 2) say where the eye
    is; at the corners, where the lids meet, nothing moves, so the remap has no seam. ``closure`` 0 returns the frame.
    """
    if closure <= 0:
        return frame
    out = frame
    for corner, up1, up2, corner2, low1, low2 in EYES:
        xs = points[[corner, up1, up2, corner2], 0]
        if not np.all(np.diff(xs) > 0):  # a profile or a bad track: leave the eye alone
            continue
        height = float(np.max(points[[low2, low1], 1] - points[[up1, up2], 1]))
        if height < 1:
            continue
        x0, x1 = int(np.floor(xs[0])), int(np.ceil(xs[-1])) + 1
        y0 = int(np.floor(points[[up1, up2], 1].min() - SKIN_ABOVE * height)) - 1
        y1 = int(np.ceil(points[[low1, low2], 1].max())) + 2
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, frame.shape[1]), min(y1, frame.shape[0])
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        columns = np.arange(x0, x1, dtype=np.float64)
        upper = np.interp(columns, xs, points[[corner, up1, up2, corner2], 1])
        lower = np.interp(columns, xs, points[[corner, low2, low1, corner2], 1])
        lower = np.maximum(lower, upper)
        shut = upper + travel * closure * (lower - upper)  # where the upper lid is drawn
        top = upper - SKIN_ABOVE * height
        rows = np.arange(y0, y1, dtype=np.float64)[:, None]
        above = top + (rows - top) * (upper - top) / np.maximum(shut - top, 1e-6)
        inside = upper + (rows - shut) * (lower - upper) / np.maximum(lower - shut, 1e-6)
        source = np.where(rows < top, rows, np.where(rows <= shut, above, np.where(rows <= lower, inside, rows)))
        map_y = source.astype(np.float32)
        map_x = np.broadcast_to(columns.astype(np.float32)[None], map_y.shape).copy()
        if out is frame:
            out = frame.copy()
        out[y0:y1, x0:x1] = cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out


def count_blinks(eye_openness: np.ndarray, threshold: float = 0.55, max_frames: int = 10) -> int:
    """Blinks in a (T,) eye-openness sequence at 25 fps (eye aspect ratio, NaN where no face): the dips below
    ``threshold`` x the sequence's median lasting at most ``max_frames`` (longer is a look down, not a blink)."""
    values = np.asarray(eye_openness, np.float64)
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return 0
    closed = np.where(np.isfinite(values), values < threshold * np.median(finite), False)
    edges = np.diff(np.r_[0, closed.astype(np.int8), 0])
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    return int(np.sum(lengths <= max_frames))


def eye_aspect_ratio(landmarks: np.ndarray) -> np.ndarray:
    """(...,) mean over both eyes of (the two lid gaps) / (2 x the eye's width) (Soukupová and Čech, 2016)."""
    points = np.asarray(landmarks, np.float64)
    ratios = []
    for first in (36, 42):
        eye = points[..., first : first + 6, :]
        gaps = sum(np.linalg.norm(eye[..., a, :] - eye[..., b, :], axis=-1) for a, b in ((1, 5), (2, 4)))
        ratios.append(gaps / np.maximum(2 * np.linalg.norm(eye[..., 0, :] - eye[..., 3, :], axis=-1), 1e-6))
    return np.mean(ratios, axis=0)
