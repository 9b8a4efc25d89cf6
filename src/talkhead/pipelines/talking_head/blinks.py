"""Blinks for a face that has none: a seeded schedule of eyelid closures, and the lids drawn shut.

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
LID_TRAVEL = 1.0  # share of the lid gap the upper lid closes at the height of a blink: the lids meet
LASH_BAND = 0.25  # eye heights above the upper-lid landmarks that are the lid's margin and lashes: moved, not stretched
EYES = ((36, 37, 38, 39, 40, 41), (42, 43, 44, 45, 46, 47))  # corner, upper lid, upper lid, corner, lower, lower
SKIN_ABOVE = 1.5  # eye heights of skin above the upper lid stretched down over the eye
SKIN_SAMPLE = (1.2, 0.8)  # eye heights above the upper lid where the painted lid takes its colour (above lashes)
BELOW_SAMPLE = 0.35  # eye heights below the lower lid where it takes the colour of the skin under the eye
LASH_WIDTH = 0.14  # eye heights: the painted lash line of a shut eye


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

    Column by column, a monotonic vertical remap inside each eye's box: the lid's margin and lashes (``LASH_BAND`` eye
    heights above the upper-lid points) slide down unchanged to the new lid line, the skin between ``SKIN_ABOVE`` eye
    heights above the lid and that margin stretches down behind them (the lid that covers the eye is skin), and the
    eye itself is squeezed into what is left of the gap, nothing when the lids meet. An earlier remap stretched the
    margin with the skin: a shut eye kept a wide dark band, which dlib still read as an open eye. The lids of
    ``points`` (68, 2) say where the eye is; at the corners, where the lids meet, nothing moves, so the remap has no
    seam. ``closure`` 0 returns the frame.
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
        y1 = int(np.ceil(points[[low1, low2], 1].max() + 0.3 * height)) + 2
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, frame.shape[1]), min(y1, frame.shape[0])
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        columns = np.arange(x0, x1, dtype=np.float64)
        upper = lid_curve(points[[corner, up1, up2, corner2]], columns)
        lower = np.maximum(lid_curve(points[[corner, low2, low1, corner2]], columns), upper)
        shut = upper + travel * closure * (lower - upper)  # where the upper lid's margin is drawn
        top, lash = upper - SKIN_ABOVE * height, LASH_BAND * height
        rows = np.arange(y0, y1, dtype=np.float64)[:, None]
        skin = top + (rows - top) * (upper - lash - top) / np.maximum(shut - lash - top, 1e-6)
        margin = rows - (shut - upper)
        inside = upper + (rows - shut) * (lower - upper) / np.maximum(lower - shut, 1e-6)
        source = np.select(
            [rows < top, rows < shut - lash, rows < shut, rows <= lower], [rows, skin, margin, inside], rows
        )
        map_y = source.astype(np.float32)
        map_x = np.broadcast_to(columns.astype(np.float32)[None], map_y.shape).copy()
        if out is frame:
            out = frame.copy()
        moved = cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        weight = float(closure) ** 2 * travel  # the painted lid shows as the lids meet
        if weight > 0:
            moved = paint_shut_lid(frame, moved, (x0, y0, x1, y1), rows, upper, lower, height, weight)
        out[y0:y1, x0:x1] = moved
    return out


def paint_shut_lid(frame, moved, box, rows, upper, lower, height, weight) -> np.ndarray:
    """``moved`` (the eye's box after the lid remap) blended, by ``weight``, with a painted shut eye: the skin above
    the lashes fading into the skin under the eye, over the whole eye, and a dark lash line along the lower lid.

    The remap alone leaves what was between the lids squeezed into a band, plus the lid crease and the long lashes
    of some faces stretched over the eye: the eye still looks open, to people and to dlib (eye aspect ratio barely
    moved on 3 of 6 test photos). A shut lid at video resolution is smooth skin with a lash line."""
    x0, y0, x1, y1 = box
    image = frame.astype(np.float32)
    column_index = np.arange(x0, x1)

    def band(top, bottom):  # per column, the median colour of frame rows [top, bottom)
        samples = []
        for column, a, b in zip(column_index, np.floor(top).astype(int), np.ceil(bottom).astype(int), strict=True):
            a, b = np.clip([a, max(b, a + 1)], 0, frame.shape[0] - 1)
            samples.append(np.median(image[a : b + 1, column], axis=0))
        colours = np.array(samples)
        width = max(3, int(0.3 * len(colours)) | 1)
        return cv2.blur(colours[:, None, :], (1, width), borderType=cv2.BORDER_REPLICATE)[:, 0, :]

    above = band(upper - SKIN_SAMPLE[0] * height, upper - SKIN_SAMPLE[1] * height)
    below = band(lower + BELOW_SAMPLE * height, lower + (BELOW_SAMPLE + 0.2) * height)
    start, stop = upper - LASH_BAND * height - 0.2 * height, lower + 0.15 * height
    share = np.clip((rows - start) / np.maximum(stop - start, 1e-6), 0, 1)[..., None]
    skin = (1 - share) * above[None] + share * below[None]
    lash_row = lower - 0.1 * height
    darkest = np.percentile(
        image[max(int(upper.min()), 0) : int(np.ceil(lower.max())) + 1, x0:x1].reshape(-1, 3), 5, axis=0
    )
    lash = np.exp(-(((rows - lash_row) / max(LASH_WIDTH * height, 0.8)) ** 2))[..., None] * 0.85
    painted = (1 - lash) * skin + lash * darkest
    feather = max(0.12 * height, 1.0)
    alpha = np.clip(np.minimum(rows - start, stop - rows) / feather + 0.5, 0, 1)[..., None] * weight
    return ((1 - alpha) * moved.astype(np.float32) + alpha * painted).clip(0, 255).astype(np.uint8)


def lid_curve(lid: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The y of a lid at ``columns``: the parabola through its four landmarks (corner, two lid points, corner),
    least squares, held at the corners' heights outside them. A lid is a smooth arc; straight pieces between the
    points put kinks into a shut eye's lash line."""
    x, y = lid[:, 0], lid[:, 1]
    scale = max(x[-1] - x[0], 1e-6)
    coefficients = np.polyfit((x - x[0]) / scale, y, 2)
    inside = np.polyval(coefficients, (np.clip(columns, x[0], x[-1]) - x[0]) / scale)
    return inside


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
