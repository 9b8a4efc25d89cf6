"""Lip-sync's default mouth renderer: mouth shapes from the mouth-motion model, texture from the video itself.

1. The mouth-motion model (:mod:`talkhead.models.mouth_motion`) turns the new speech into a mouth
   shape per output frame: the video's mean mouth shape plus the predicted displacement.
2. A pool of the video's own lower-face patches is cut in one extra decoding pass (at most
   ``pool_size`` frames spread over the video, at full resolution).
3. :func:`~talkhead.pipelines.mouth_retrieval.retrieve` picks a pooled mouth per output frame and
   :func:`~talkhead.pipelines.mouth_paste.render_frame` warps it onto the shape and pastes it.

Splitting "what shape" (a motion model) from "what it looks like" (the person's own mouths) keeps the
video's real lips and teeth sharp at video resolution; the measurements that chose it over the paper's
generator are in RESULTS.md.
"""

from __future__ import annotations

import contextlib

import numpy as np

from ... import defaults
from ...processing.audio import frame_level_db, silence_closing_weights
from ...processing.mouth import closed_shape, keep_lips_apart, mouth_shapes
from ...processing.phones import DEFAULT_LANGUAGE
from ...processing.visemes import BILABIALS, VisemeTargets, articulate, viseme_weights
from .. import mouth_retrieval as retrieval
from ..mouth_paste import render_frame
from ..pipeline_utils import heard_mouth_phones, mouth_phones


def predicted_shapes(
    model,
    wave: np.ndarray,
    num_frames: int,
    fps: float,
    mean_shape: np.ndarray,
    language: str = DEFAULT_LANGUAGE,
    closed: np.ndarray | None = None,
    phones: np.ndarray | None = None,
    visemes: bool = True,
) -> np.ndarray:
    """(num_frames, 20, 2) target mouth shapes for ``wave`` at ``fps``: ``mean_shape`` + the model's displacements;
    where the audio is silent, ``closed`` (the video's own shut mouth, :func:`~talkhead.processing.mouth.closed_shape`)
    if given. The model's rest is learnt from pauses in speech, where real lips rarely shut: 10 s of silence left
    the dubbed lips at 0.05-0.14 inter-ocular distances apart, against 0.01-0.05 in each video's closed frames.
    With ``visemes`` and ``closed``, the phones' lip shapes are imposed
    (:func:`~talkhead.processing.visemes.articulate`:
    shut on P, B and M with ``closed`` itself). ``phones``: the model's phone features when already decoded
    (:mod:`talkhead.processing.phone_worker`)."""
    phones = mouth_phones(model, wave, num_frames, fps, language, phones, visemes and closed is not None)
    shapes = mean_shape + model.predict_speech(wave, num_frames, fps, phones=phones, language=language)
    if closed is not None:
        closing = silence_closing_weights(wave, num_frames, fps)[:, None, None]
        shapes = (1 - closing) * shapes + closing * closed
        if visemes:
            loudness = frame_level_db(wave, num_frames, fps=fps)
            shapes = articulate(shapes, phones[:num_frames], VisemeTargets(closed, mean_shape), loudness)
    return keep_lips_apart(shapes)


def shut_weights(wave: np.ndarray, num_frames: int, fps: float, phones: np.ndarray | None = None) -> np.ndarray:
    """(num_frames,) how far each output frame must be shut: silence (:func:`silence_closing_weights`) and, with the
    phone features, the p, b and m of the viseme stage (:func:`~talkhead.processing.visemes.viseme_weights`)."""
    weights = silence_closing_weights(wave, num_frames, fps)
    if phones is not None:
        weights = np.maximum(weights, viseme_weights(phones[:num_frames], BILABIALS))
    return weights


class RetrievalRenderer:
    """Renders output frames of one video: built from its tracking plan, its pool and the target shapes."""

    def __init__(
        self,
        pixels: np.ndarray,
        valid: np.ndarray,
        pool: retrieval.MouthPool,
        targets: np.ndarray,
        sources: np.ndarray,
        exclude_within: int = 0,
        retrieval_options: dict | None = None,
        shut: np.ndarray | None = None,
        heard=None,
    ):
        """``pixels`` (T, 68, 2) image landmarks of the source frames, ``valid`` (T,) those with a face;
        ``targets`` (N, 20, 2) the shape of each output frame and ``sources`` (N,) its source frame; ``shut`` (N,)
        how far each output frame must be shut (:func:`shut_weights`); ``retrieval_options`` are passed to
        :func:`~talkhead.pipelines.mouth_retrieval.retrieve` (benchmarks); ``heard``: what the speech was heard as
        (:class:`~talkhead.processing.heard.HeardSpeech`, the report's), ``None`` where no phones were decoded."""
        self.heard = heard
        self.pixels = pixels
        self.pool = pool
        self.sources = sources
        self.choice = np.full(len(targets), -1)
        rendered = valid[sources]
        if rendered.any():
            poses = retrieval.pose_descriptors(np.nan_to_num(pixels[sources[rendered]]))
            self.choice[rendered] = retrieval.retrieve(
                pool,
                targets[rendered],
                poses,
                sources[rendered],
                exclude_within=exclude_within,
                shut=None if shut is None else np.asarray(shut)[rendered],
                **(retrieval_options or {}),
            )
        self.targets = np.full((len(targets), 68, 2), np.nan)
        if rendered.any():
            self.targets[rendered] = retrieval.target_landmarks(pixels[sources[rendered]], targets[rendered])

    def render(self, frame: np.ndarray, output_index: int) -> np.ndarray:
        """The output frame ``output_index`` made from its source ``frame`` (returned unchanged without a face)."""
        chosen = self.choice[output_index]
        if chosen < 0:
            return frame
        source = self.sources[output_index]
        return render_frame(frame, self.pixels[source], self.targets[output_index], self.pool, chosen)


def build_retrieval_renderer(
    model,
    wave: np.ndarray,
    fps: float,
    pixels: np.ndarray,
    valid: np.ndarray,
    sources: np.ndarray,
    read_frames,
    pool_size: int = defaults.POOL_SIZE,
    exclude_within: int = 0,
    times=None,
    language: str = DEFAULT_LANGUAGE,
    phones=None,
    visemes: bool = True,
) -> RetrievalRenderer:
    """Everything :class:`RetrievalRenderer` needs, from the speech and the tracking plan.

    ``read_frames(indices, regions)`` yields ``(index, frame)`` for sorted source indices at full size, in one
    decoding pass; ``regions(frame_size)`` gives a (len(indices), 4) box per index, and each frame is only that box
    of the full frame (``frame[y0:y1, x0:x1]``): the pool pass never holds a whole 4K frame in RGB.
    ``sources`` (N,) is the source frame of each output frame. ``phones``: a
    :class:`~talkhead.processing.phone_worker.PendingPhones` started before the tracking pass, or ``None``.
    ``visemes``: impose the phones' lip shapes (:func:`predicted_shapes`).
    """

    stage = times.stage if times is not None else (lambda name: contextlib.nullcontext())
    with stage("motion"):
        shapes = mouth_shapes(pixels[valid])
        decoded, heard = heard_mouth_phones(model, wave, len(sources), fps, language, phones, visemes)
        targets = predicted_shapes(
            model, wave, len(sources), fps, shapes.mean(0), language, closed_shape(shapes), decoded, visemes
        )
        shut = shut_weights(wave, len(sources), fps, decoded if visemes else None)
    indices = retrieval.pool_frame_indices(valid, pool_size)
    ppu = retrieval.choose_pixels_per_unit(pixels[valid])
    with stage("pool"):
        pool = build_pool_from(read_frames, indices, pixels, ppu)
    with stage("render"):
        return RetrievalRenderer(
            pixels, valid, pool, targets, np.asarray(sources), exclude_within, shut=shut, heard=heard
        )


def build_pool_from(read_frames, indices: np.ndarray, pixels: np.ndarray, ppu: float) -> retrieval.MouthPool:
    """The pool of source frames ``indices`` (sorted), each read as just the region its patch is cut from.

    Each region is put at its place in one frame-sized canvas, and the patch is cut from the canvas with the same
    warp as from the whole frame, so the patches are bit for bit those of whole frames (a warp of the region alone,
    with its origin moved, rounds a few sample positions differently). The canvas is an anonymous mapping: only
    the pages the regions touch become resident (a few MB at 4K, not 25), and it is unmapped afterwards.
    """
    import mmap

    boxes, mapping, canvas = [], [], []

    def regions(frame_size):
        width, height = frame_size
        boxes[:] = [retrieval.patch_source_box(pixels[i], ppu, frame_size) for i in indices]
        mapping.append(mmap.mmap(-1, width * height * 3))
        canvas.append(np.frombuffer(mapping[-1], np.uint8).reshape(height, width, 3))
        return np.array(boxes, np.int64).reshape(-1, 4)

    def placed(frames):
        position = {int(i): n for n, i in enumerate(indices)}
        for index, region in frames:
            x0, y0, x1, y1 = boxes[position[int(index)]]
            canvas[-1][y0:y1, x0:x1] = region
            yield index, canvas[-1], pixels[index]

    try:
        return retrieval.build_pool(placed(read_frames(indices, regions)), ppu, capacity=len(indices))
    finally:
        canvas.clear()
        for pages in mapping:
            try:
                pages.close()
            except BufferError:  # a view is still held (an error mid-pass): the mapping goes with it
                pass
