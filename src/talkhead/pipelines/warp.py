"""Thin-plate-spline image warps through landmarks (used by the talking head and the mouth renderer).

The spline is solved at the control points and evaluated on a grid every ``GRID`` pixels, then
upsampled bilinearly (every ``DETAIL_GRID`` pixels inside a detail box, where lips and jaw move against
each other), which makes the cost of a warp independent of the number of points and cheap at 720p.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

GRID = 16  # pixels between the points where the spline is evaluated away from the face (it is smooth there)
DETAIL_GRID = 4  # the same around the landmarks, where lips and jaw move against each other


def border_anchors(width: int, height: int, per_side: int = 4) -> np.ndarray:
    """Fixed points along the image border: the frame itself does not move."""
    xs, ys = np.linspace(0, width - 1, per_side + 1), np.linspace(0, height - 1, per_side + 1)
    top = np.stack([xs, np.zeros_like(xs)], 1)
    bottom = np.stack([xs, np.full_like(xs, height - 1)], 1)
    left = np.stack([np.zeros_like(ys[1:-1]), ys[1:-1]], 1)
    right = np.stack([np.full_like(ys[1:-1], width - 1), ys[1:-1]], 1)
    return np.concatenate([top, bottom, left, right])


def _tps_kernel(distances_squared: np.ndarray) -> np.ndarray:
    return 0.5 * distances_squared * np.log(np.maximum(distances_squared, 1e-12))  # r² log r


def squared_distances(a: np.ndarray, b: np.ndarray, a_squared: np.ndarray | None = None) -> np.ndarray:
    """(N, M) squared distances, by |a|² + |b|² − 2 a·b (one matrix product instead of an (N, M, D) array)."""
    a_squared = (a * a).sum(1) if a_squared is None else a_squared
    return np.maximum(a_squared[:, None] + (b * b).sum(1)[None] - 2 * a @ b.T, 0)


def _solve_spline(target: np.ndarray, source: np.ndarray, scale: float, regularization: float):
    """The spline's coefficients (unit coordinates) and a function evaluating it at (K, 2) unit nodes -> pixels."""
    t, s = target / scale, source / scale
    n = len(t)
    kernel = _tps_kernel(squared_distances(t, t)) + regularization * np.eye(n)
    affine = np.hstack([np.ones((n, 1)), t])
    system = np.zeros((n + 3, n + 3))
    system[:n, :n], system[:n, n:], system[n:, :n] = kernel, affine, affine.T
    coefficients = np.linalg.solve(system, np.vstack([s, np.zeros((3, 2))]))

    def evaluate(nodes: np.ndarray, nodes_squared: np.ndarray | None = None) -> np.ndarray:
        values = _tps_kernel(squared_distances(nodes, t, nodes_squared)) @ coefficients[:n]
        return (values + coefficients[n] + nodes @ coefficients[n + 1 :]) * scale

    return evaluate


def _fine_map(evaluate, scale: float, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """The map of the box [x0, x1) x [y0, y1), the spline evaluated every ``DETAIL_GRID`` pixels and upsampled."""
    xs, ys = np.arange(x0, x1 + DETAIL_GRID, DETAIL_GRID), np.arange(y0, y1 + DETAIL_GRID, DETAIL_GRID)
    fine = evaluate(np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2) / scale)
    fine = fine.reshape(len(ys), len(xs), 2).astype(np.float32)
    return cv2.remap(fine, *_grid_coordinates(x1 - x0, y1 - y0, DETAIL_GRID), cv2.INTER_LINEAR)


def thin_plate_map(
    target: np.ndarray,
    source: np.ndarray,
    width: int,
    height: int,
    regularization: float = 1e-7,
    detail: np.ndarray | None = None,
) -> np.ndarray:
    """(height, width, 2) float32 ``cv2.remap`` map: for each output pixel, where to sample the source image.

    The spline sends ``target`` points (where features should end up) to ``source`` points (where
    they are in the photo). It is evaluated every ``GRID`` pixels and upsampled bilinearly; inside the
    ``detail`` box (x0, y0, x1, y1), where the landmarks move against each other, every
    ``DETAIL_GRID`` pixels, which keeps the lips within half a pixel of where the spline puts them.
    ``regularization`` only guards against coinciding points: larger values pull the lips back.
    """
    scale = float(max(width, height))  # unit coordinates keep the system well conditioned
    evaluate = _solve_spline(target, source, scale, regularization)
    nodes, nodes_squared, shape = _grid_nodes(width, height)
    coarse = evaluate(nodes, nodes_squared).reshape(*shape, 2).astype(np.float32)
    mapping = cv2.remap(coarse, *_grid_coordinates(width, height, GRID), cv2.INTER_LINEAR)
    if detail is not None:
        x0, y0 = (max(0, int(v) // DETAIL_GRID * DETAIL_GRID) for v in detail[:2])
        x1, y1 = min(width, int(np.ceil(detail[2]))), min(height, int(np.ceil(detail[3])))
        if x1 > x0 and y1 > y0:
            mapping[y0:y1, x0:x1] = _fine_map(evaluate, scale, x0, y0, x1, y1)
    return mapping


def thin_plate_region(
    image: np.ndarray,
    target: np.ndarray,
    source: np.ndarray,
    box: tuple[int, int, int, int],
    regularization: float = 1e-7,
) -> np.ndarray:
    """The (y1 - y0, x1 - x0) patch at ``box`` (x0, y0, x1, y1) of ``image`` warped as :func:`thin_plate_map` warps the
    whole image (with ``detail`` over the box): where only a small part of a warp is used (a mouth's inside), the
    spline is evaluated there alone."""
    height, width = image.shape[:2]
    scale = float(max(width, height))
    x0, y0, x1, y1 = box
    snapped_x, snapped_y = x0 // DETAIL_GRID * DETAIL_GRID, y0 // DETAIL_GRID * DETAIL_GRID  # the grid of detail
    mapping = _fine_map(_solve_spline(target, source, scale, regularization), scale, snapped_x, snapped_y, x1, y1)
    return cv2.remap(
        image,
        np.ascontiguousarray(mapping[y0 - snapped_y :, x0 - snapped_x :]),
        None,  # type: ignore[call-overload]  # OpenCV's stubs want an array for map2 even with a two-channel map1
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


@lru_cache(maxsize=4)
def _grid_nodes(width: int, height: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """The spline's evaluation points every ``GRID`` pixels (covering the image), in unit coordinates."""
    xs, ys = np.arange(0, width + GRID, GRID), np.arange(0, height + GRID, GRID)
    nodes = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2) / float(max(width, height))
    return nodes, (nodes * nodes).sum(1), (len(ys), len(xs))


@lru_cache(maxsize=16)
def _grid_coordinates(width: int, height: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each pixel falls on a grid with a node every ``step`` pixels (node i at pixel i·step): bilinear
    upsampling that keeps the nodes in place, which ``cv2.resize`` (pixel-centre aligned) would shift."""
    columns = np.tile(np.arange(width, dtype=np.float32) / step, (height, 1))
    rows = np.tile(np.arange(height, dtype=np.float32)[:, None] / step, (1, width))
    return columns, rows


def piecewise_affine_warp(image: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``image`` with the points ``source`` (N, 2) moved to ``target``, triangle by triangle (Delaunay triangles of
    ``source``), the rest of the image untouched.

    Unlike :func:`thin_plate_map`, each triangle maps affinely on its own: a triangle that collapses in ``target``
    (the inside of a mouth being closed) simply vanishes, where a spline through points that meet overshoots
    and folds the face around them. The points' hull should be ringed by points that do not move.
    """
    from scipy.spatial import Delaunay

    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    out = image.copy()
    height, width = image.shape[:2]

    def signed_area(corners: np.ndarray) -> float:
        (ax, ay), (bx, by) = corners[1] - corners[0], corners[2] - corners[0]
        return 0.5 * (ax * by - ay * bx)

    for simplex in Delaunay(source).simplices:
        src, dst = source[simplex], target[simplex]
        area = signed_area(dst)
        if abs(area) < 0.25 or np.sign(area) != np.sign(signed_area(src)):
            continue  # collapsed (or flipped) in the target: nothing of it shows
        x0, y0 = np.maximum(np.floor(dst.min(0)).astype(int) - 1, 0)
        x1, y1 = np.minimum(np.ceil(dst.max(0)).astype(int) + 2, [width, height])
        if x1 <= x0 or y1 <= y0:
            continue
        matrix = cv2.getAffineTransform((dst - (x0, y0)).astype(np.float32), src.astype(np.float32))
        patch = cv2.warpAffine(
            image,
            matrix,
            (x1 - x0, y1 - y0),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(mask, np.round((dst - (x0, y0)) * 16).astype(np.int32), 1, cv2.LINE_8, shift=4)
        region = out[y0:y1, x0:x1]
        region[mask.astype(bool)] = patch[mask.astype(bool)]
    return out
