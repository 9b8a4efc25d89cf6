"""Mouth rendering by retrieval and warp: the person's own mouths, re-timed and re-shaped.

Video Rewrite (Bregler et al., 1997) and "Synthesizing Obama" (Suwajanakorn et al., 2017) dub a video
by reusing its own mouths. We do the same with a motion model in front:

1. **Pool.** Lower-face patches of frames spread over the video, each cut in its **face frame**
   (:mod:`talkhead.processing.mouth`: head position, roll and scale removed) at the video's own
   resolution, with their landmarks. Real lips and teeth, in this person's light.
2. **Retrieve.** For every output frame, the pooled frames whose mouth shape is nearest the target
   shape (and whose head pose is nearest the frame's) are candidates; a Viterbi pass picks one per
   frame, preferring to play pooled frames in their own order and, where it must jump, to jump between
   mouths that look alike (as video textures do), so teeth and lips do not pop.
3. **Warp** (:mod:`.mouth_paste`). A thin-plate spline moves the chosen patch's lips and jaw onto the target
   shape, and the patch is mapped into the frame's face frame and pasted under a feathered lower-face mask with a
   colour match along the seam. Every pixel outside the mask is the source frame's.

Everything here is a pure function of arrays; :mod:`talkhead.pipelines.lip_sync` decodes and encodes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from ..metrics.mouth_quality import lip_teeth_share
from ..processing.landmarks import JAW, MOUTH
from ..processing.mouth import (
    eye_distance,
    face_frames,
    invert_similarity,
    mouth_shapes,
    place_mouth,
    points_in_face_frame,
)
from .warp import squared_distances

# the patch covers this part of the face frame (x right, y down; eye centres at (+-0.5, 0), nose tip near
# y = 0.75): below the nose, jaw to jaw
PATCH_LEFT, PATCH_RIGHT, PATCH_TOP, PATCH_BOTTOM = -1.15, 1.15, 0.35, 2.0
POSE_POINTS = np.r_[0:5, 12:17, 27:36]  # upper jaw line and nose: head yaw and pitch, not speech
WARP_POINTS = np.r_[2:15, 31:36, 48:60, 60:68]  # jaw, nostrils, lips (inner lips too: teeth stay inside)
RETRIEVAL_CHUNK = 512  # output frames whose costs against the whole pool are held at once
THUMBNAIL_SIZE = (32, 16)  # (width, height) of the grey mouth thumbnails that jumps between pooled mouths compare
LOOK_COST = 0.02  # see retrieve; 0, 0.02 and 0.06 measured in RESULTS.md, "Articulation"
# see retrieve: a shut frame's cost per unit of teeth share. A mouth showing a band of teeth costs about 0.1-0.3 more,
# more than the shape costs of near candidates (0.01-0.05), so a frame that must be shut takes a mouth that is. Taken
# above the video's own shut mouths' share instead (lip highlights read as teeth: real shut lips score about 0.15),
# it let dlib's "shut" mouths that show teeth through (RESULTS.md, "Articulation")
TEETH_COST = 1.0
JAW_FOLLOW = np.array([0, 0, 0, 0.15, 0.35, 0.6, 0.85, 1.0, 1.0, 1.0, 0.85, 0.6, 0.35, 0.15, 0, 0, 0])
"""How much each jaw point (0-16) follows the lower lip's vertical move (the chin drops as the mouth opens)."""


@dataclass
class MouthPool:
    """Pooled lower-face patches of one video, all at ``pixels_per_unit`` pixels per face-frame unit."""

    patches: np.ndarray  # (N, H, W, 3) uint8
    landmarks: np.ndarray  # (N, 68, 2) in patch pixels
    shapes: np.ndarray  # (N, 20, 2) mouth shapes (face frame)
    poses: np.ndarray  # (N, D) head-pose descriptors
    frame_indices: np.ndarray  # (N,) source frame of each patch
    pixels_per_unit: float

    def __len__(self) -> int:
        return len(self.patches)

    @functools.cached_property
    def teeth(self) -> np.ndarray:
        """(N,) :func:`~talkhead.metrics.mouth_quality.lip_teeth_share` of each patch: dlib's inner-lip points often
        meet on the edge of the teeth, so a mouth they call shut can still show a band of them."""
        return np.array(
            [lip_teeth_share(patch, points) for patch, points in zip(self.patches, self.landmarks, strict=True)]
        )

    @functools.cached_property
    def looks(self) -> np.ndarray:
        """(N, N) how different each two pooled mouths look: the mean absolute difference of their grey mouth
        thumbnails (the box around every patch's lips), over the median of all pairs (1 is a typical pair)."""
        lips = self.landmarks[:, MOUTH]
        (x0, y0), (x1, y1) = np.floor(lips.min((0, 1))).astype(int), np.ceil(lips.max((0, 1))).astype(int)
        height, width = self.patches.shape[1:3]
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(max(x1, x0 + 1), width), min(max(y1, y0 + 1), height)
        thumbnails = (
            np.stack(
                [
                    cv2.resize(cv2.cvtColor(patch[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY), THUMBNAIL_SIZE, cv2.INTER_AREA)
                    for patch in self.patches
                ]
            )
            .reshape(len(self), -1)
            .astype(np.float32)
        )
        differences = np.zeros((len(self), len(self)), np.float32)
        for row in range(len(self)):
            differences[row] = np.abs(thumbnails - thumbnails[row]).mean(1)
        typical = float(np.median(differences[np.triu_indices(len(self), 1)])) if len(self) > 1 else 0.0
        return differences / typical if typical > 0 else differences


def pose_descriptors(landmarks: np.ndarray) -> np.ndarray:
    """(T, 68, 2) image landmarks -> (T, D): upper jaw and nose in the face frame (what out-of-plane turns move)."""
    return points_in_face_frame(landmarks, POSE_POINTS).reshape(len(landmarks), -1)


def patch_size(pixels_per_unit: float) -> tuple[int, int]:
    """(width, height) of a patch in pixels."""
    return (
        int(round((PATCH_RIGHT - PATCH_LEFT) * pixels_per_unit)),
        int(round((PATCH_BOTTOM - PATCH_TOP) * pixels_per_unit)),
    )


def image_to_patch(landmarks: np.ndarray, pixels_per_unit: float) -> np.ndarray:
    """(2, 3) affine from a frame's image pixels to its patch pixels (face frame, scaled and shifted)."""
    matrix = face_frames(landmarks[None])[0]
    scale = np.diag([pixels_per_unit, pixels_per_unit])
    return np.concatenate(
        [scale @ matrix[:, :2], (scale @ matrix[:, 2:]) - np.array([[PATCH_LEFT], [PATCH_TOP]]) * pixels_per_unit], 1
    )


def choose_pixels_per_unit(landmarks: np.ndarray, cap: float = 160.0) -> float:
    """The video's median inter-ocular distance in pixels (patches keep the source's detail), at most ``cap``."""

    return float(np.clip(np.nanmedian(eye_distance(landmarks)), 24.0, cap))


def cut_patch(
    frame: np.ndarray, landmarks: np.ndarray, pixels_per_unit: float, out: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(patch, landmarks in patch pixels) of one frame; the patch is written into ``out`` if given. Only the
    pixels of :func:`patch_source_box` are read."""
    matrix = image_to_patch(landmarks, pixels_per_unit)
    patch = cv2.warpAffine(
        frame, matrix, patch_size(pixels_per_unit), dst=out, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT
    )
    return patch, np.asarray(landmarks, np.float64) @ matrix[:, :2].T + matrix[:, 2]


CUBIC_REACH = 3
"""Pixels around a patch's footprint that :func:`cut_patch` may read (bicubic reads 1 before and 2 after, plus one
for rounding)."""


def patch_source_box(
    landmarks: np.ndarray, pixels_per_unit: float, frame_size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the part of a (width, height) frame that :func:`cut_patch` reads for these landmarks.

    The patch's footprint and the bicubic reach, with what a footprint past the frame's edge reads by reflection,
    clipped to the frame (a few hundred pixels a side at 4K): the rest of the frame does not change the patch.
    """
    width, height = frame_size
    to_image = invert_similarity(image_to_patch(landmarks, pixels_per_unit))
    w, h = patch_size(pixels_per_unit)
    placed = np.array([[0, 0], [w, 0], [0, h], [w, h]], np.float64) @ to_image[:, :2].T + to_image[:, 2]
    box = []
    for low, high, limit in zip(
        np.floor(placed.min(0)) - CUBIC_REACH, np.ceil(placed.max(0)) + CUBIC_REACH + 1, (width, height), strict=True
    ):
        if not (np.isfinite(low) and np.isfinite(high)) or low < -limit or high > 2 * limit:
            return 0, 0, int(width), int(height)  # far outside (reflections of reflections): the whole frame
        start, stop = max(low, 0), min(high, limit)
        if low < 0:  # BORDER_REFLECT: pixel -1 - s reads s
            stop = max(stop, min(-low, limit))
        if high > limit:  # pixel limit + s reads limit - 1 - s
            start = min(start, max(2 * limit - high, 0))
        box.append((int(start), int(stop)))
    (x0, x1), (y0, y1) = box
    if x1 <= x0 or y1 <= y0:
        return 0, 0, int(width), int(height)
    return x0, y0, x1, y1


def pool_frame_indices(valid: np.ndarray, max_size: int) -> np.ndarray:
    """Frames to pool: every frame with a face, or an even spread of ``max_size`` of them."""
    candidates = np.flatnonzero(valid)
    if len(candidates) <= max_size:
        return candidates
    return candidates[np.linspace(0, len(candidates) - 1, max_size).round().astype(int)]


def target_landmarks(landmarks: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """(T, 68, 2): each frame's landmarks with the mouth set to ``shapes`` (face frame) and the chin following the
    lower lip."""

    placed = place_mouth(shapes, landmarks)
    drop = placed[:, 57] - np.asarray(landmarks, np.float64)[:, 57]  # the lower lip's move, image pixels
    placed[:, JAW] = np.asarray(landmarks, np.float64)[:, JAW] + JAW_FOLLOW[None, :, None] * drop[:, None, :]
    return placed


def local_costs(
    pool: MouthPool,
    shapes: np.ndarray,
    poses: np.ndarray,
    pose_weight: float,
    shut: np.ndarray | None = None,
    teeth_cost: float = TEETH_COST,
) -> np.ndarray:
    """(T, N) cost of each pooled mouth for each output frame, before any transition (see :func:`retrieve`)."""
    cost = squared_distances(shapes.reshape(len(shapes), -1), pool.shapes.reshape(len(pool), -1))
    cost += pose_weight * 2 / poses.shape[1] * squared_distances(poses, pool.poses)
    if shut is not None and teeth_cost:
        cost += teeth_cost * np.asarray(shut)[:, None] * pool.teeth[None, :]
    return cost


def switch_costs(
    pool: MouthPool, before: np.ndarray, after: np.ndarray, switch_cost: float, look_cost: float
) -> np.ndarray:
    """(len(before), len(after)) what it costs to go from each pooled mouth ``before`` to each ``after`` (pool
    indices): nothing for the next frame of the same source, else ``switch_cost`` + ``look_cost`` x how different the
    two mouths look (:attr:`MouthPool.looks`, only read when ``look_cost`` is set)."""
    switches = pool.frame_indices[after][None, :] != pool.frame_indices[before][:, None] + 1
    cost = switch_cost * switches
    if look_cost:
        cost = cost + look_cost * switches * pool.looks[np.ix_(before, after)]
    return cost


def next_mouth(
    pool: MouthPool,
    shape: np.ndarray,
    pose: np.ndarray,
    previous: int | None,
    shut: float = 0.0,
    excluded: np.ndarray | None = None,
    candidates: int = 8,
    pose_weight: float = 0.5,
    switch_cost: float = 0.02,
    look_cost: float = LOOK_COST,
    teeth_cost: float = TEETH_COST,
) -> int:
    """The pooled mouth for one more output frame of a stream, after ``previous`` (a pool index, or None): the costs
    of :func:`retrieve`, among its ``candidates`` nearest mouths, with the previous choice fixed (a stream cannot wait
    for the frames after it). ``excluded`` (N,) bool: pooled mouths not to take (benchmarks)."""
    cost = local_costs(pool, shape[None], pose[None], pose_weight, np.array([shut]), teeth_cost)[0]
    if excluded is not None:
        cost[excluded] = np.inf
    # among the nearest only, as retrieve: a switch costs more than most shape errors, so over the whole pool the
    # next frame of the source would always win and the mouth would replay the video instead of the speech
    options = np.argpartition(cost, min(candidates, len(cost)) - 1)[:candidates]
    total = cost[options]
    if previous is not None:
        total = total + switch_costs(pool, np.array([previous]), options, switch_cost, look_cost)[0]
    return int(options[np.argmin(total)])


def retrieve(
    pool: MouthPool,
    shapes: np.ndarray,
    poses: np.ndarray,
    frame_indices: np.ndarray | None = None,
    candidates: int = 8,
    pose_weight: float = 0.5,
    switch_cost: float = 0.02,
    exclude_within: int = 0,
    look_cost: float = LOOK_COST,
    shut: np.ndarray | None = None,
    teeth_cost: float = TEETH_COST,
) -> np.ndarray:
    """(T,) pool index per output frame: nearest mouth shapes and poses, smoothed over time by Viterbi.

    Cost of a frame = squared shape distance (face-frame units) + ``pose_weight`` x squared pose distance;
    moving to any pooled frame other than the next one in the source costs ``switch_cost`` more, plus
    ``look_cost`` x how different the two mouths look (:attr:`MouthPool.looks`, 1 for a typical pair).
    ``shut`` (T,) in [0, 1]: how far each output frame must be shut (a p, b or m, silence); such a frame's cost grows
    by ``teeth_cost`` x ``shut`` x the pooled mouth's teeth share (:attr:`MouthPool.teeth`).
    ``exclude_within`` > 0 (benchmarks only) forbids pooled frames that close to the output frame's own
    source frame (``frame_indices``), so a clip dubbed with its own audio cannot copy its true mouth.
    """
    shut = None if shut is None else np.asarray(shut)
    k = min(candidates, len(pool))
    options = np.zeros((len(shapes), k), int)
    local = np.zeros((len(shapes), k))
    for start in range(0, len(shapes), RETRIEVAL_CHUNK):  # (chunk, pool) costs at a time: memory stays flat
        stop = min(start + RETRIEVAL_CHUNK, len(shapes))
        cost = local_costs(
            pool,
            shapes[start:stop],
            poses[start:stop],
            pose_weight,
            None if shut is None else shut[start:stop],
            teeth_cost,
        )
        if exclude_within and frame_indices is not None:
            near = np.abs(np.asarray(frame_indices)[start:stop, None] - pool.frame_indices[None]) < exclude_within
            cost[near] = np.inf
        options[start:stop] = np.argpartition(cost, k - 1, axis=1)[:, :k]
        local[start:stop] = np.take_along_axis(cost, options[start:stop], 1)
    total, back = local[0].copy(), np.zeros(options.shape, int)
    for t in range(1, len(options)):
        transition = total[:, None] + switch_costs(pool, options[t - 1], options[t], switch_cost, look_cost)
        back[t] = transition.argmin(0)
        total = transition.min(0) + local[t]
    path = np.zeros(len(options), int)
    path[-1] = int(total.argmin())
    for t in range(len(options) - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return options[np.arange(len(options)), path]


def build_pool(frames_and_landmarks, pixels_per_unit: float, capacity: int | None = None) -> MouthPool:
    """A :class:`MouthPool` from an iterable of (source frame index, RGB frame, image landmarks (68, 2)).

    Patches go straight into one array (``capacity``, when the number of frames is known, sizes it at once): no
    list of patches stacked at the end, which held the pool twice (2 x 139 MB for 500 patches of a 4K video)."""
    width, height = patch_size(pixels_per_unit)
    patches = np.empty((max(capacity or 16, 1), height, width, 3), np.uint8)
    points, indices, image_landmarks = [], [], []
    for index, frame, landmarks in frames_and_landmarks:
        if len(indices) == len(patches):
            patches = np.concatenate([patches, np.empty_like(patches)])
        _, patch_points = cut_patch(frame, landmarks, pixels_per_unit, out=patches[len(indices)])
        points.append(patch_points)
        indices.append(index)
        image_landmarks.append(landmarks)
    if not indices:
        raise ValueError("build_pool needs at least one frame with a face")
    if len(indices) < len(patches):
        patches = patches[: len(indices)].copy()
    image_landmarks = np.stack(image_landmarks)
    return MouthPool(
        patches,
        np.stack(points),
        mouth_shapes(image_landmarks),
        pose_descriptors(image_landmarks),
        np.asarray(indices),
        pixels_per_unit,
    )


__all__ = [
    "MouthPool",
    "build_pool",
    "choose_pixels_per_unit",
    "patch_source_box",
    "pool_frame_indices",
    "pose_descriptors",
    "retrieve",
    "switch_costs",
    "target_landmarks",
]
