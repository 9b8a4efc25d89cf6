"""Lip-sync (dubbing): a video and new speech -> the video with its mouth moving to the speech.

Two renderers, named by ``LipSyncOptions.renderer`` (``--renderer``):

* ``retrieval`` (default), with a :class:`~talkhead.models.mouth_motion.MouthMotionModel` (``mouth-motion``): the model
  turns the speech into mouth shapes and the video's own mouths are retrieved, warped onto them and pasted back
  (:mod:`.retrieval_renderer`). Real lips and teeth, sharp at video resolution, and only the mouth and chin change.
* ``generator``, with a :class:`~talkhead.models.stable_sync.StableSyncFaceGenerator` (``stable-sync-face``, the paper's
  G_L; Yaman et al., ECCV): every 96x96 face is repainted from a 16-frame mel window with silent-lip
  identity references (:mod:`talkhead.pipelines.generator_renderer`). Kept as a benchmark row.

It streams, so memory does not grow with the video's length:

1. **track**: decode at the source rate (downscaled to ``track_side``), follow the largest face with dlib,
   keep per-frame landmarks only (and the generator's identity references);
2. **pool** (retrieval only): decode the frames to pool at full size and cut their lower faces
   (at most ``pool_size`` patches);
3. **render**: decode again at full size, render in batches and encode H.264 + AAC at the source
   frame rate, with the new audio.

The audio (a few tens of MB for an hour), the per-frame landmarks (272 bytes a frame) and the pool are the only
things kept whole. Audio longer than the video replays the video (``audio_longer``: loop, bounce, or trim the audio);
audio shorter than the video ends the output with the audio. A still image is refused: it has no mouths to reuse.
"""

from __future__ import annotations

import logging
import os
from contextlib import closing
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ...errors import TalkheadInputError
from ...io.video import VideoReader
from ...io.video_writer import VideoWriter
from ...models.mouth_motion import MouthMotionModel
from ...models.stable_sync import StableSyncFaceGenerator
from ...options import LipSyncOptions
from ...processing import audio as audio_lib
from ...processing.heard import HeardSpeech
from ...processing.phone_worker import start_phone_features
from ...processing.phone_worker import warm_up as warm_up_phone_worker
from ..concurrency import read_ahead, render_in_order
from ..generator_renderer import FaceRenderer, close_mouths
from ..pipeline_utils import DEFAULT_SILENT_LIP, OUTPUT_SAMPLE_RATE, TalkheadPipeline, load_component
from ..stages import StageTimes
from .dub_inputs import DubInputs, dub_warnings, output_frames, read_dub_inputs
from .face_plan import FacePlan, track_faces
from .playback import iterate_source, source_order
from .retrieval_renderer import build_retrieval_renderer

logger = logging.getLogger(__name__)


# here, not in loading.py (which builds it), so that this module need not import loading: loading imports the
# talking_head package, whose pipeline imports loading, which only works when talking_head is imported first
@dataclass
class LipSyncModels:
    """The models :func:`lip_sync` takes, as :func:`~talkhead.pipelines.loading.load_lip_sync_models` loads them; each
    renderer reads its own (``retrieval``: ``mouth_model``; ``generator``: ``face_generator`` and ``silent_lip``)."""

    mouth_model: MouthMotionModel | None = None  # the retrieval renderer's mouth shapes
    face_generator: StableSyncFaceGenerator | None = None  # G_L: the generator renderer's faces
    silent_lip: StableSyncFaceGenerator | None = None  # G_S, closes G_L's identity references (None: kept as they are)


@dataclass
class LipSyncResult:
    """What :func:`lip_sync` wrote and what it did on the way."""

    video: str | None  # None: a pipeline called without output= returned the frames
    fps: float
    frames: int
    seconds: float
    source_frames: int
    generated_frames: int
    passthrough_frames: int
    missing_face_ranges: list[tuple[float, float]] = field(default_factory=list)  # seconds in the source
    audio_policy: str | None = None
    face: str = ""  # which face was dubbed (FacePlan.face)
    warnings: list[str] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    heard: HeardSpeech | None = None  # what the speech was heard as; None: no phones decoded (the generator renderer)

    def to_dict(self) -> dict:
        return asdict(self)


BATCH_BYTES = 64 * 2**20  # full-size frames held at once while rendering, over all the batches in flight
BATCHES_IN_FLIGHT = 3  # two rendering and one being encoded (concurrency.render_in_order); fixed, so that the
# batches, and with them nothing of the output, depend on the number of render threads


def frames_per_batch(batch_size: int, frame: np.ndarray) -> int:
    """``batch_size``, or fewer so the batches in flight of frames like ``frame`` stay within :data:`BATCH_BYTES`."""
    return max(1, min(batch_size, BATCH_BYTES // BATCHES_IN_FLIGHT // max(frame.nbytes, 1)))


def frames_read_ahead(width: int, height: int, most: int = 8) -> int:
    """How many full-size frames the render pass decodes ahead: up to ``most``, at least 2, within a quarter of
    :data:`BATCH_BYTES` (two 4K frames: reading ahead must not undo the memory bound of the batches)."""
    return max(2, min(most, BATCH_BYTES // 4 // max(width * height * 3, 1)))


def _read_full_size(video, fps: float):
    """``read_frames(indices, regions)`` for the pool pass: (index, frame) of sorted source frames at full size, only
    those (the frames between are decoded, not converted), each cut to its box of ``regions(frame_size)`` if given
    (only that region is converted: :meth:`~talkhead.io.video.VideoReader.frames_at`)."""

    def read_frames(indices, regions=None):
        reader = VideoReader(video, fps=fps)
        yield from reader.frames_at(indices, None if regions is None else regions(reader.size))

    return read_frames


def _start_phones(mouth_model, wave: np.ndarray, num_frames: int, fps: float, options: LipSyncOptions):
    """The retrieval renderer's phone features, started now in the phone worker, or ``None`` (no phones needed).

    ``num_frames`` may exceed the frames rendered (audio trimmed to the video): each frame's phones depend only on
    the audio, so the first rows are the same."""
    config = getattr(mouth_model, "config", None)
    if options.renderer != "retrieval" or not getattr(config, "use_phones", False):
        return None
    return start_phone_features(wave, num_frames, fps, config.phone_decoder, options.language)


def _make_renderer(
    models: LipSyncModels,
    plan: FacePlan,
    wave: np.ndarray,
    fps: float,
    runs,
    options: LipSyncOptions,
    times: StageTimes,
    video,
    phones=None,
):
    """(``render(frames, output_indices, source_indices)`` of ``options.renderer`` with its ``models``, what the speech
    was heard as or ``None``); ``phones`` the mouth model's phones being decoded, or ``None``."""
    if options.renderer == "retrieval":
        sources = np.concatenate([np.arange(a, b)[::-1] if reverse else np.arange(a, b) for a, b, reverse in runs])
        valid = np.isfinite(plan.boxes).all(1)
        renderer = build_retrieval_renderer(
            models.mouth_model,
            wave,
            fps,
            plan.pixels,
            valid,
            sources,
            _read_full_size(video, fps),
            options.pool_size,
            options.exclude_within,
            times,
            options.language,
            phones,
            options.visemes,
        )

        def render(frames, outputs, _sources):
            with times.stage("render"):
                return [renderer.render(frame, index) for frame, index in zip(frames, outputs, strict=True)]

        return render, renderer.heard
    generator = FaceRenderer(
        models.face_generator,
        close_mouths(models.silent_lip, plan.references),
        plan.reference_poses,
        audio_lib.mel80(wave),
        fps,
        options.feather,
    )

    def render(frames, outputs, sources):
        return generator(frames, plan.boxes[sources], plan.landmarks[sources], outputs, times)

    return render, None


def _check_models(models: LipSyncModels, renderer: str) -> None:
    """A one-line error unless ``models`` holds what ``renderer`` needs, in its field."""
    if isinstance(models.mouth_model, StableSyncFaceGenerator):
        raise TalkheadInputError(
            "models.mouth_model is a face generator (G_L): pass it as models.face_generator with "
            "LipSyncOptions(renderer='generator')"
        )
    argument = {"retrieval": "mouth_model", "generator": "face_generator"}[renderer]
    if getattr(models, argument) is None:
        raise TalkheadInputError(f"the {renderer} renderer needs models.{argument}; load it with load_lip_sync_models")


def _track(inputs: DubInputs, models: LipSyncModels, options: LipSyncOptions, times: StageTimes):
    """(the tracking pass's :class:`~talkhead.pipelines.lip_sync.face_plan.FacePlan`; the mouth model's phones, which
    decode in a second process meanwhile, or ``None``)."""
    tracking_reader = VideoReader(inputs.video, fps=inputs.fps, max_side=options.track_side)
    phones = _start_phones(models.mouth_model, inputs.wave, inputs.speech_frames, inputs.fps, options)
    return track_faces(tracking_reader, options, times, str(inputs.video)), phones


def _batches(reader: VideoReader, runs, num_output: int, options: LipSyncOptions, times: StageTimes):
    """Batches of (output index, source index, frame), the source frames in ``runs``' order, decoded in a thread
    while the caller encodes (closed with this generator)."""
    batch: list[tuple[int, int, np.ndarray]] = []
    frames = read_ahead(times.iterate("decode", iterate_source(reader, runs)), frames_read_ahead(*reader.size))
    with closing(frames):
        for output_index, (source_index, frame) in enumerate(
            tqdm(frames, total=num_output, desc="lip-sync", unit="frame", disable=not options.progress)
        ):
            batch.append((output_index, source_index, frame))
            if len(batch) >= frames_per_batch(options.batch_size, frame):
                yield batch
                batch = []
    if batch:
        yield batch


def _render_pass(
    inputs: DubInputs, render, plan: FacePlan, runs, num_output: int, options: LipSyncOptions, times: StageTimes
) -> tuple[int, int]:
    """Decode the source frames in ``runs``' order, dub those with a face in threads and encode them in order with
    the speech; returns (frames written, frames dubbed)."""

    def render_batch(batch: list[tuple[int, int, np.ndarray]]) -> tuple[list[np.ndarray], int]:
        """(output index, source index, frame) of a batch -> its frames, dubbed where there is a face; how many."""
        with_face = [i for i, (_, s, _) in enumerate(batch) if np.isfinite(plan.boxes[s]).all()]
        frames = [frame for _, _, frame in batch]
        if with_face:
            pasted = render(
                [frames[i] for i in with_face], [batch[i][0] for i in with_face], [batch[i][1] for i in with_face]
            )
            for i, frame in zip(with_face, pasted, strict=True):
                frames[i] = frame
        return frames, len(with_face)

    batches = _batches(VideoReader(inputs.video, fps=inputs.fps), runs, num_output, options, times)
    generated = 0
    # the writer cuts or pads the audio to the video's duration itself; batches render in threads meanwhile
    with VideoWriter(
        inputs.output, fps=inputs.fps, audio=inputs.output_wave, sample_rate=OUTPUT_SAMPLE_RATE, crf=options.crf
    ) as writer:
        for frames, dubbed in render_in_order(render_batch, batches):
            generated += dubbed
            with times.stage("encode"):
                for frame in frames:
                    writer.write(frame)
        return writer.frames_written, generated


def lip_sync(
    video: str | os.PathLike,
    audio,
    output: str | os.PathLike,
    models: LipSyncModels,
    options: LipSyncOptions | None = None,
) -> LipSyncResult:
    """Dub ``video`` with ``audio`` (a path, or a 16 kHz mono waveform) into ``output`` (.mp4).

    ``options.renderer`` says which of ``models`` it uses: ``retrieval`` (default) ``models.mouth_model``, a
    :class:`~talkhead.models.mouth_motion.MouthMotionModel`; ``generator`` ``models.face_generator``, a
    :class:`~talkhead.models.stable_sync.StableSyncFaceGenerator` (G_L), with ``models.silent_lip`` (G_S) closing its
    identity references. :func:`~talkhead.pipelines.loading.load_lip_sync_models` loads them by name.
    Nothing is left at ``output`` if the run fails.
    """
    options = options or LipSyncOptions()
    _check_models(models, options.renderer)
    inputs = read_dub_inputs(video, audio, output, options)
    times = StageTimes()
    plan, phones = _track(inputs, models, options, times)
    messages = dub_warnings(plan, inputs, options)
    for warning in messages:
        logger.warning(warning)
    num_output, audio_policy = output_frames(inputs.speech_frames, plan.num_frames, options.audio_longer)
    runs = source_order(plan.num_frames, num_output, options.audio_longer)
    render, heard = _make_renderer(models, plan, inputs.wave, inputs.fps, runs, options, times, video, phones)
    written, generated = _render_pass(inputs, render, plan, runs, num_output, options, times)
    fps = inputs.fps
    return LipSyncResult(
        str(inputs.output),
        fps,
        written,
        written / fps,
        plan.num_frames,
        generated,
        written - generated,
        [(round(a / fps, 3), round(b / fps, 3)) for a, b in plan.missing],  # seconds in the source
        audio_policy,
        plan.face,
        messages,
        times.to_dict(),
        heard,
    )


class LipSyncPipeline(TalkheadPipeline):
    """``pipeline("lip-sync")``: ``{"video": path, "audio": path or 16 kHz array}`` -> report dict: the fields of
    :class:`LipSyncResult` and ``video_frames``.

    ``model`` is the mouth-motion model (default ``mouth-motion``: the retrieval renderer) or the paper's face
    generator G_L (``stable-sync-face``: the generator renderer); transformers hands a pipeline one model, so its
    kind names the renderer here. ``silent_lip`` is the generator that closes G_L's identity references (G_S,
    default ``stable-sync-silent-lip``, loaded only for G_L; ``None`` skips it). Call options are the fields of
    :class:`LipSyncOptions` and ``output``: the .mp4 to write (``video`` is its path); without it the report's
    ``video_frames`` holds the dubbed frames (uint8, (frames, height, width, 3)), ``video`` is ``None`` and no file is
    left behind.
    """

    options_class = LipSyncOptions
    input_keys = ("video", "audio")

    def __init__(self, model, silent_lip=DEFAULT_SILENT_LIP, **kwargs):
        self.renderer = "generator" if isinstance(model, StableSyncFaceGenerator) else "retrieval"
        if self.renderer == "retrieval":
            warm_up_phone_worker()
        generator = self.renderer == "generator"
        self.silent_lip = load_component(StableSyncFaceGenerator, silent_lip) if generator else None
        super().__init__(model=model.eval(), **kwargs)
        if self.silent_lip is not None:
            self.silent_lip.to(self.device)

    def _run_task(self, model_inputs, output, options):
        options = LipSyncOptions(**{"renderer": self.renderer, **options})
        if options.renderer != self.renderer:
            raise TalkheadInputError(
                f"this pipeline's model is for the {self.renderer} renderer, not "
                f"{options.renderer}; make a pipeline with the other model"
            )
        if self.renderer == "retrieval":
            models = LipSyncModels(mouth_model=self.model)
        else:
            models = LipSyncModels(face_generator=self.model, silent_lip=self.silent_lip)
        return lip_sync(model_inputs["video"], model_inputs["audio"], output, models, options)
