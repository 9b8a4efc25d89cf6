"""Talking head from one photo and speech: MS-Sync head motion, mouth-motion lips, and an image warp.

1. MS-Sync (Airale et al.) turns the speech into 68-landmark head and lip motion for the photo's face
   (:class:`~talkhead.pipelines.talking_head.speech_to_landmarks.SpeechToLandmarks`); the mouth-motion model
   (``models.mouth_model``, the default ``mouth-motion``) then sets the mouth and jaw from the speech's phones.
2. ``head_motion_scale`` and ``lip_scale`` rescale the two parts of that motion: the per-frame
   similarity transform of the non-mouth points (the head) and what the mouth and lower jaw do beyond it.
3. Each frame is the photo warped by a thin-plate spline through the landmarks (minus the inner lips,
   which coincide on a closed mouth) plus fixed anchors on the image border, so the background stays.
4. Where the mouth opens wider than in the photo, the mouth-interior generator (``models.mouth_interior``,
   :mod:`talkhead.pipelines.talking_head.mouth_interior`) fills the inside of the lips with teeth, tongue and throat;
   without it a closed photo gets a shaded interior (``mouth_interior``). A photo taken mid-word is driven from its own
   mouth closed (unless ``keep_open_mouth``), so it can close, and the eyes blink (``blinks``,
   :mod:`talkhead.pipelines.talking_head.blinks`). Only with ``repaint=True`` (off by default: the shipped generator
   paints a blur) does the stabilized-sync face generator (Yaman et al.) repaint the mouth of every warped frame for
   the audio, with the photo's face closed by the silent-lip generator as identity, pasted back with the soft mouth
   mask of :func:`~talkhead.pipelines.generator_renderer.mouth_mask`.

Where we differ from both papers: MS-Sync stops at landmarks and the stabilized-sync generator
edits videos; the warp that joins them is ours (neither paper renders a still photo). The spline
is solved per frame at the landmarks (:mod:`talkhead.pipelines.warp`) and evaluated on a grid, then upsampled,
which makes the warp cost independent of the number of landmarks and cheap at 720p.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from tqdm.auto import tqdm

from ... import defaults
from ...errors import TalkheadInputError
from ...io.video_writer import VideoWriter
from ...options import TalkingHeadOptions
from ...processing import audio as audio_lib
from ...processing.face_crops import crop_face, face_crop_boxes, smooth_boxes
from ...processing.heard import HeardSpeech
from ...processing.landmarks import (
    mouth_opening,
    normalize_landmarks,
)
from ..concurrency import render_in_order
from ..generator_renderer import FaceRenderer, close_mouths, pose_descriptor
from ..loading import TalkingHeadModels, load_talking_head_models
from ..pipeline_utils import (
    DEFAULT_FACE_GENERATOR,
    DEFAULT_MOUTH_MOTION,
    DEFAULT_SILENT_LIP,
    OUTPUT_SAMPLE_RATE,
    TalkheadPipeline,
    heard_mouth_phones,
)
from ..stages import StageTimes
from ..warp import border_anchors
from .blinks import blink_schedule
from .mouth_interior import MouthInteriorRenderer
from .photo_frames import OPEN_PHOTO_GAP, PhotoFrames
from .photo_inputs import PhotoInputs, read_photo_inputs
from .photo_motion import (
    close_photo_mouth,
    resample_motion,
    rescale_motion,
    speak_with_mouth_model,
    start_mouth_phones,
)
from .speech_to_landmarks import LandmarkMotion, SpeechToLandmarks

logger = logging.getLogger(__name__)


@dataclass
class TalkingHeadResult:
    """What :func:`talking_head` made: the file (if written), and the motion it followed."""

    video: str | None
    fps: float
    frames: int
    seconds: float
    landmarks: np.ndarray  # (frames, 68, 2) in output pixels
    silent: bool = False
    faces_found: int = 1
    warnings: list[str] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    heard: HeardSpeech | None = None  # what the mouth model's phones heard; None: no mouth model, or silent speech

    def to_dict(self) -> dict:
        values = asdict(self)
        values["landmarks"] = np.round(self.landmarks, 2).tolist()
        return values


@dataclass
class AnimatedPhoto:
    """The photo as it is animated, and where its landmarks go (output pixels)."""

    frame: np.ndarray  # the photo fitted to the output size; its mouth closed when an open photo is driven closed
    start: np.ndarray  # (68, 2): the landmarks of ``frame``
    points: np.ndarray  # (frames, 68, 2): the landmarks of each output frame
    reference: tuple[np.ndarray, np.ndarray]  # the photo as given and its landmarks: where an open photo's teeth are
    closed_from_open: bool  # the photo was open and ``frame`` is it closed
    heard: HeardSpeech | None = None  # what the mouth model's phones heard; None: no phones decoded


def _speech_motion(inputs: PhotoInputs, models: TalkingHeadModels, options: TalkingHeadOptions, times: StageTimes):
    """(MS-Sync's motion for the photo, timed as ``landmarks``; the mouth model's phones of the speech, which decode
    meanwhile: :func:`~talkhead.pipelines.talking_head.photo_motion.start_mouth_phones`)."""
    pending_phones = start_mouth_phones(models.mouth_model, inputs.wave, options.language)
    with times.stage("landmarks"):
        motion = models.head_model(
            inputs.photo, inputs.wave, image_name=inputs.image_name, audio_name=inputs.audio_name
        )
    return motion, pending_phones


def _animate_photo(
    motion: LandmarkMotion,
    pending_phones,
    inputs: PhotoInputs,
    models: TalkingHeadModels,
    options: TalkingHeadOptions,
    times: StageTimes,
) -> AnimatedPhoto:
    """``motion`` on the photo fitted to the output: head and lips rescaled, an open photo closed unless
    ``keep_open_mouth``, the mouth and jaw set by the mouth model when there is one (with what its phones heard),
    resampled to ``options.fps``."""
    mouth_model = models.mouth_model
    detrend = int(round(options.lip_detrend_seconds * audio_lib.VIDEO_FPS)) if mouth_model is None else 0
    lip_scale = options.lip_scale if mouth_model is None else 0.0  # the mouth model sets the mouth below
    points = rescale_motion(
        motion.pixels.astype(np.float64) * inputs.scale,
        options.head_motion_scale,
        lip_scale,
        detrend,
        options.expression_scale,
    )
    frame = inputs.frame
    start = (motion.photo_landmarks if motion.photo_landmarks is not None else motion.pixels[0]) * inputs.scale
    reference = (frame, start)
    closed_from_open = not options.keep_open_mouth and mouth_opening(start) > OPEN_PHOTO_GAP
    if closed_from_open:
        frame, start = close_photo_mouth(frame, start)
    heard = None
    if mouth_model is not None:
        with times.stage("landmarks"):
            phones = None
            if not motion.silent:  # a silent mouth stays shut: its phones are neither read nor waited for
                phones, heard = heard_mouth_phones(
                    mouth_model,
                    inputs.wave,
                    len(points),
                    audio_lib.VIDEO_FPS,
                    options.language,
                    pending_phones,
                    options.visemes,
                )
            points = speak_with_mouth_model(
                points,
                start,
                mouth_model,
                inputs.wave,
                options.lip_scale,
                silent=motion.silent,
                language=options.language,
                phones=phones,
                visemes=options.visemes,
            )
    return AnimatedPhoto(frame, start, resample_motion(points, options.fps), reference, closed_from_open, heard)


def _motion_warnings(motion: LandmarkMotion, inputs: PhotoInputs) -> list[str]:
    """What the user should know about the faces in the photo and the speech."""
    messages = []
    if motion.faces_found > 1:
        messages.append(f"{motion.faces_found} faces in {inputs.image_name}; the largest is animated")
    if motion.silent:
        messages.append(f"{inputs.audio_name} is silent: the face stays still with a closed mouth")
    return messages


def _photo_frames(motion: AnimatedPhoto, mouth_interior, options: TalkingHeadOptions) -> PhotoFrames:
    """The frames' renderer: the photo warped, its eyes blinked and its opened mouth filled by ``mouth_interior``
    (the generator, or ``None``: painted) or, for an open photo driven closed, by its own teeth."""
    points, closed_from_open = motion.points, motion.closed_from_open
    blinks = blink_schedule(len(points), options.fps, options.seed) if options.blinks else np.zeros(len(points))
    photo_open = mouth_opening(motion.start) > OPEN_PHOTO_GAP
    anchors = border_anchors(motion.frame.shape[1], motion.frame.shape[0])
    interior = None
    if options.mouth_interior and mouth_interior is not None and not closed_from_open:
        interior = MouthInteriorRenderer(mouth_interior, *motion.reference, points, rest_points=motion.start)
    return PhotoFrames(
        motion.frame,
        motion.start,
        points,
        blinks,
        anchors,
        open_photo=motion.reference if closed_from_open and options.mouth_interior else None,
        interior=interior,
        paint=options.mouth_interior and interior is None and not photo_open and not closed_from_open,
    )


def _repaint(models: TalkingHeadModels, motion: AnimatedPhoto, wave: np.ndarray, options: TalkingHeadOptions):
    """``repaint(frames, indices, times)``: the face generator's mouth for ``wave`` on warped frames, with the
    photo's face closed by the silent-lip generator as identity; ``None`` without ``options.repaint`` or a generator."""
    if not options.repaint or models.face_generator is None:
        return None
    points = motion.points
    boxes = smooth_boxes(face_crop_boxes(points))
    reference_box = face_crop_boxes(motion.start)
    identity = close_mouths(models.silent_lip, crop_face(motion.frame, reference_box)[None])
    reference_pose = pose_descriptor(normalize_landmarks(motion.start, reference_box))[None]
    renderer = FaceRenderer(
        models.face_generator, identity, reference_pose, audio_lib.mel80(wave), options.fps, options.feather
    )

    def repaint(frames, indices, times):
        return renderer(frames, boxes[indices], normalize_landmarks(points[indices], boxes[indices]), indices, times)

    return repaint


def _write_frames(
    frames_of: PhotoFrames, repaint, inputs: PhotoInputs, options: TalkingHeadOptions, times: StageTimes, frame_callback
) -> None:
    """Render the frames in batches (in worker threads), repaint them if asked, and hand each to ``frame_callback``
    and to the video at ``inputs.output`` (if not ``None``)."""
    output, count = inputs.output, len(frames_of.points)
    writer = (
        VideoWriter(output, fps=options.fps, sample_rate=OUTPUT_SAMPLE_RATE, crf=options.crf, audio=inputs.output_wave)
        if output is not None
        else contextlib.nullcontext()
    )
    batches = [
        list(range(first, min(first + options.batch_size, count))) for first in range(0, count, options.batch_size)
    ]
    with writer:  # an error discards the partial file
        rendered_batches = times.iterate("render", render_in_order(frames_of.render, batches))
        for indices, frames in zip(
            tqdm(batches, desc="talking head", unit="batch", disable=not options.progress),
            rendered_batches,
            strict=True,
        ):
            if repaint is not None:
                frames = repaint(frames, indices, times)
            for rendered in frames:
                if frame_callback is not None:
                    frame_callback(rendered)
                if output is not None:
                    with times.stage("encode"):
                        writer.write(rendered)


def talking_head(
    image,
    audio,
    output: str | os.PathLike | None,
    models: TalkingHeadModels,
    options: TalkingHeadOptions | None = None,
    frame_callback=None,
) -> TalkingHeadResult:
    """Animate ``image`` (a path or RGB array) with ``audio`` (a path or 16 kHz waveform) into ``output`` (.mp4).

    ``models`` is a :class:`~talkhead.pipelines.loading.TalkingHeadModels`
    (:func:`~talkhead.pipelines.loading.load_talking_head_models` loads one by name): ``head_model`` (MS-Sync) moves
    the head; ``mouth_model`` moves the mouth and jaw when given, else MS-Sync does; ``mouth_interior`` fills the
    opened mouth when given and ``options.mouth_interior`` is on; with ``options.repaint``, ``face_generator`` repaints
    the mouth from the photo closed by ``silent_lip`` (without a ``face_generator`` the mouth is the warp's alone).

    ``output`` may be ``None`` to only compute (``frame_callback(frame)`` receives each frame).
    """
    if models is None or models.head_model is None:
        raise TalkheadInputError(
            "talking_head needs models.head_model (MS-Sync): load it with load_talking_head_models"
        )
    options = options or TalkingHeadOptions()
    inputs = read_photo_inputs(image, audio, output, options)
    times = StageTimes()
    head_motion, pending_phones = _speech_motion(inputs, models, options, times)
    motion = _animate_photo(head_motion, pending_phones, inputs, models, options, times)
    frames_of = _photo_frames(motion, models.mouth_interior, options)
    _write_frames(frames_of, _repaint(models, motion, inputs.wave, options), inputs, options, times, frame_callback)
    messages = _motion_warnings(head_motion, inputs)
    for warning in messages:
        logger.warning(warning)
    return TalkingHeadResult(
        str(inputs.output) if inputs.output is not None else None,
        options.fps,
        len(motion.points),
        len(motion.points) / options.fps,
        motion.points.astype(np.float32),
        head_motion.silent,
        head_motion.faces_found,
        messages,
        times.to_dict(),
        motion.heard,
    )


class TalkingHeadPipeline(TalkheadPipeline):
    """``pipeline("talking-head")``: ``{"image": path or RGB array, "audio": path or 16 kHz array}`` -> report dict.

    ``model`` is the MS-Sync generator (default ``ms-sync-short``), which moves the head; ``mouth_model`` the
    mouth-motion model (default ``mouth-motion``; ``None`` lets MS-Sync move the mouth too); ``mouth_interior`` the
    mouth-interior generator (default ``mouth-interior``; ``None`` paints the opened mouth); ``face_generator``
    and ``silent_lip`` the stabilized-sync generators that repaint the mouth when ``repaint=True``. Call options are the
    fields of :class:`TalkingHeadOptions` and ``output``, the .mp4 to write. The report holds the fields of
    :class:`TalkingHeadResult` (``landmarks``: a float32 array (frames, 68, 2), output pixels) and ``video_frames``:
    with ``output``, ``video`` is its path and ``video_frames`` ``None``; without it ``video_frames`` holds the frames
    (uint8, (frames, height, width, 3)), ``video`` is ``None`` and no file is left behind.
    """

    options_class = TalkingHeadOptions
    input_keys = ("image", "audio")

    def __init__(
        self,
        model,
        mouth_model=DEFAULT_MOUTH_MOTION,
        face_generator=DEFAULT_FACE_GENERATOR,
        silent_lip=DEFAULT_SILENT_LIP,
        mouth_interior=defaults.MOUTH_INTERIOR,
        **kwargs,
    ):
        self.models = load_talking_head_models(
            SpeechToLandmarks(model), mouth_model, face_generator, silent_lip, mouth_interior=mouth_interior
        )
        super().__init__(model=model.eval(), **kwargs)
        for component in (
            self.models.mouth_model,
            self.models.face_generator,
            self.models.silent_lip,
            self.models.mouth_interior,
        ):
            if component is not None:
                component.to(self.device)

    def _run_task(self, model_inputs, output, options):
        options = TalkingHeadOptions(**options)
        models = replace(self.models, head_model=SpeechToLandmarks(self.model, seed=options.seed))
        return talking_head(model_inputs["image"], model_inputs["audio"], output, models, options)
