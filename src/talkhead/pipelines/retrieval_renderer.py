"""Lip-sync's default mouth renderer: mouth shapes from the mouth-motion model, texture from the video itself.

1. The mouth-motion model (:mod:`talkhead.models.mouth_motion`) turns the new speech into a mouth
   shape per output frame: the video's mean mouth shape plus the predicted displacement.
2. A pool of the video's own lower-face patches is cut in one extra decoding pass (at most
   ``pool_size`` frames spread over the video, at full resolution).
3. :func:`~talkhead.pipelines.mouth_retrieval.retrieve` picks a pooled mouth per output frame and
   :func:`~talkhead.pipelines.mouth_retrieval.render_frame` warps it onto the shape and pastes it.

Issue #13 asked for this split of "what shape" (a motion model) from "what it looks like" (the
person's own mouths); the measurements that chose it over the paper's generator are in RESULTS.md.
"""

from __future__ import annotations

import numpy as np

from ..processing.audio import silence_closing_weights
from ..processing.mouth import closed_shape, keep_lips_apart, mouth_shapes
from ..processing.phones import DEFAULT_LANGUAGE
from . import mouth_retrieval as retrieval


def predicted_shapes(model, wave: np.ndarray, num_frames: int, fps: float, mean_shape: np.ndarray,
                     language: str = DEFAULT_LANGUAGE, closed: np.ndarray | None = None) -> np.ndarray:
    """(num_frames, 20, 2) target mouth shapes for ``wave`` at ``fps``: ``mean_shape`` + the model's displacements;
    where the audio is silent, ``closed`` (the video's own shut mouth, :func:`~talkhead.processing.mouth.closed_shape`)
    if given. The model's rest is learnt from pauses in speech, where real lips rarely shut: 10 s of silence left
    the dubbed lips at 0.05-0.14 inter-ocular distances apart, against 0.01-0.05 in each video's closed frames."""
    shapes = mean_shape + model.predict_speech(wave, num_frames, fps, language=language)
    if closed is not None:
        closing = silence_closing_weights(wave, num_frames, fps)[:, None, None]
        shapes = (1 - closing) * shapes + closing * closed
    return keep_lips_apart(shapes)


class RetrievalRenderer:
    """Renders output frames of one video: built from its tracking plan, its pool and the target shapes."""

    def __init__(self, pixels: np.ndarray, valid: np.ndarray, pool: retrieval.MouthPool, targets: np.ndarray,
                 sources: np.ndarray, exclude_within: int = 0, retrieval_options: dict | None = None):
        """``pixels`` (T, 68, 2) image landmarks of the source frames, ``valid`` (T,) those with a face;
        ``targets`` (N, 20, 2) the shape of each output frame and ``sources`` (N,) its source frame;
        ``retrieval_options`` are passed to :func:`~talkhead.pipelines.mouth_retrieval.retrieve` (benchmarks)."""
        self.pixels = pixels
        self.pool = pool
        self.sources = sources
        self.choice = np.full(len(targets), -1)
        rendered = valid[sources]
        if rendered.any():
            poses = retrieval.pose_descriptors(np.nan_to_num(pixels[sources[rendered]]))
            self.choice[rendered] = retrieval.retrieve(pool, targets[rendered], poses, sources[rendered],
                                                       exclude_within=exclude_within, **(retrieval_options or {}))
        self.targets = np.full((len(targets), 68, 2), np.nan)
        if rendered.any():
            self.targets[rendered] = retrieval.target_landmarks(pixels[sources[rendered]], targets[rendered])

    def render(self, frame: np.ndarray, output_index: int) -> np.ndarray:
        """The output frame ``output_index`` made from its source ``frame`` (returned unchanged without a face)."""
        chosen = self.choice[output_index]
        if chosen < 0:
            return frame
        source = self.sources[output_index]
        return retrieval.render_frame(frame, self.pixels[source], self.targets[output_index], self.pool, chosen)


def build_retrieval_renderer(model, wave: np.ndarray, fps: float, pixels: np.ndarray, valid: np.ndarray,
                             sources: np.ndarray, read_frames, pool_size: int = 750, exclude_within: int = 0,
                             times=None, language: str = DEFAULT_LANGUAGE) -> RetrievalRenderer:
    """Everything :class:`RetrievalRenderer` needs, from the speech and the tracking plan.

    ``read_frames(indices)`` yields ``(index, frame)`` for sorted source indices at full size (one
    decoding pass); ``sources`` (N,) is the source frame of each output frame.
    """
    import contextlib

    stage = times.stage if times is not None else (lambda name: contextlib.nullcontext())
    with stage("motion"):
        shapes = mouth_shapes(pixels[valid])
        targets = predicted_shapes(model, wave, len(sources), fps, shapes.mean(0), language, closed_shape(shapes))
    indices = retrieval.pool_frame_indices(valid, pool_size)
    ppu = retrieval.choose_pixels_per_unit(pixels[valid])
    wanted = set(indices.tolist())
    with stage("pool"):
        pool = retrieval.build_pool(((i, frame, pixels[i]) for i, frame in read_frames(indices) if i in wanted), ppu)
    with stage("render"):
        return RetrievalRenderer(pixels, valid, pool, targets, np.asarray(sources), exclude_within)
