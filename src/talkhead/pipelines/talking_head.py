"""Talking head from one photo and speech: MS-Sync motion, an image warp, and a stabilized-sync mouth.

1. MS-Sync (Airale et al.) turns the speech into 68-landmark head and lip motion for the photo's face
   (:class:`~talkhead.pipelines.speech_to_landmarks.SpeechToLandmarks`).
2. ``head_motion_scale`` and ``lip_scale`` rescale the two parts of that motion: the per-frame
   similarity transform of the non-mouth points (the head) and what the mouth and lower jaw do beyond it.
3. Each frame is the photo warped by a thin-plate spline through the landmarks (minus the inner lips,
   which coincide on a closed mouth) plus fixed anchors on the image border, so the background stays.
4. The stabilized-sync face generator (Yaman et al.) repaints the mouth of every warped frame for the
   audio, with the photo's face closed by the silent-lip generator as identity, and the result is
   pasted back with the same soft mouth mask as :mod:`talkhead.pipelines.lip_sync`.

Where we differ from both papers: MS-Sync stops at landmarks and the stabilized-sync generator
edits videos; the warp that joins them is ours (neither paper renders a still photo). The spline
is solved per frame at the landmarks (:mod:`talkhead.processing.warp`) and evaluated on a grid, then upsampled,
which makes the warp cost independent of the number of landmarks and cheap at 720p.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from ..errors import TalkheadInputError
from ..processing import audio as audio_lib
from ..processing.faces import crop_face, face_crop_boxes, smooth_boxes
from ..processing.landmarks import apply_transform, normalize_landmarks, similarity_transform
from ..processing.video import VideoWriter
from ..processing.warp import border_anchors, thin_plate_map
from .base import TalkheadPipeline, load_component
from .lip_sync import (
    DEFAULT_FACE_GENERATOR, DEFAULT_SILENT_LIP, OUTPUT_SAMPLE_RATE, FaceRenderer, _pose_descriptor,
    check_output_path, close_mouths, load_speech,
)
from .speech_to_landmarks import SpeechToLandmarks, read_image
from .stages import StageTimes

logger = logging.getLogger(__name__)

WARP_POINTS = np.r_[0:60]  # all but the inner lips
HEAD_POINTS = np.r_[17:48]  # brows, nose, eyes: rigid with the skull
LOWER_FACE = np.r_[4:13, 48:68]  # lower jaw and mouth: what speech moves


@dataclass
class TalkingHeadOptions:
    """How :func:`talking_head` renders.

    Args:
        head_motion_scale: 0 keeps the head still, 1 is the generated motion, above 1 exaggerates it.
        lip_scale: the same for the mouth and jaw movement. 2 by default: the shipped generator's mouth
            moves half as much as real ones (std of the mouth opening 0.030 against 0.059 on the held-out
            clips; benchmarks/talking_head_lips.py), and 2 matches them (0.063).
        fps: output frame rate (the motion is generated at 25 fps and interpolated).
        max_side: longest side of the output video in pixels (larger photos are downscaled).
        repaint: let the stabilized-sync face generator repaint the mouth. Off by default: the shipped
            ``stable-sync-face`` (9 MB, trained on 11 minutes) renders the mouth as a blur at photo
            resolution, while the warp keeps the photo's own lips moving with the generated landmarks.
            Turn it on with a better-trained generator.
        expression_scale: the same for the rest of the face's own movement (brows, eyes). Off by default:
            the shipped generator's eye and brow points jitter, and a warp through them folds the eyes.
        lip_detrend_seconds: removes the slow drift of the generated mouth (see :func:`rescale_motion`);
            0 keeps the generator's motion as it is.
        seed: fixes the generator's optional noise.
        feather: width of the mouth paste-back seam, as a fraction of the face box.
        crf: x264 quality.
        progress: show a tqdm bar.
    """

    head_motion_scale: float = 1.0
    lip_scale: float = 2.0
    expression_scale: float = 0.0
    fps: float = 25.0
    max_side: int = 720
    repaint: bool = False
    lip_detrend_seconds: float = 2.0
    seed: int = 0
    feather: float = 0.1
    crf: int = 18
    progress: bool = True

    def __post_init__(self):
        scales = {"head_motion_scale": self.head_motion_scale, "lip_scale": self.lip_scale,
                  "expression_scale": self.expression_scale}
        if not all(0 <= value <= 4 for value in scales.values()):
            raise TalkheadInputError(f"motion scales must be in [0, 4]; got {scales}")
        if not 1 <= self.fps <= 120:
            raise TalkheadInputError(f"fps must be between 1 and 120, got {self.fps}")
        if self.max_side < 96:
            raise TalkheadInputError(f"max_side must be at least 96 pixels, got {self.max_side}")


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

    def to_dict(self) -> dict:
        values = asdict(self)
        values["landmarks"] = np.round(self.landmarks, 2).tolist()
        return values


def rescale_motion(motion: np.ndarray, head_scale: float, lip_scale: float, detrend_frames: int = 0,
                   expression_scale: float = 1.0) -> np.ndarray:
    """(T, 68, 2) pixels with the head's rigid motion scaled by ``head_scale`` and the lower face's own by ``lip_scale``.

    Frame t = H_t(start) + r_t, where H_t is the least-squares similarity transform of the head points from frame 0
    and r_t the rest. Returns H'_t(start) + s·r_t with H'_t = I + head_scale·(H_t − I) and s = ``lip_scale``
    on the jaw and mouth, ``expression_scale`` elsewhere (brows, eyes, nose). ``detrend_frames`` > 1 first subtracts the moving average over that
    many frames from the jaw and mouth residual: the autoregressive generator's mouth drifts open over
    seconds, while articulation lives at syllable rate (4-5 Hz) and passes through.
    """
    from scipy.ndimage import uniform_filter1d

    start = motion[0]
    last_row = np.array([[0.0, 0.0, 1.0]])  # 3x3, so the transforms scale linearly towards the identity
    heads = np.stack([np.vstack([similarity_transform(start[HEAD_POINTS], frame[HEAD_POINTS]), last_row])
                      for frame in motion])
    residual = motion - np.stack([apply_transform(head, start) for head in heads])
    if detrend_frames > 1:
        lower = residual[:, LOWER_FACE]
        residual[:, LOWER_FACE] = lower - uniform_filter1d(lower, detrend_frames, axis=0, mode="nearest")
    weights = np.full((68, 1), expression_scale, motion.dtype)
    weights[LOWER_FACE] = lip_scale
    scaled = np.eye(3) + head_scale * (heads - np.eye(3))
    return np.stack([apply_transform(head, start) for head in scaled]) + weights * residual


def warp_photo(photo: np.ndarray, start: np.ndarray, frame_points: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """The photo with its landmarks ``start`` moved to ``frame_points``."""
    height, width = photo.shape[:2]
    target = np.concatenate([frame_points[WARP_POINTS], anchors])
    source = np.concatenate([start[WARP_POINTS], anchors])
    low, high = frame_points.min(0), frame_points.max(0)
    margin = 0.15 * (high - low).max()
    mapping = thin_plate_map(target, source, width, height, detail=np.concatenate([low - margin, high + margin]))
    return cv2.remap(photo, mapping, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def fit_photo(photo: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Downscale to at most ``max_side`` (even sizes, as H.264 wants); returns the image and the factor."""
    height, width = photo.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    size = (max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2))
    if size == (width, height):
        return photo, 1.0
    return cv2.resize(photo, size, interpolation=cv2.INTER_AREA), size[0] / width


def resample_motion(motion: np.ndarray, fps: float) -> np.ndarray:
    """(T, 68, 2) at 25 fps -> the same duration at ``fps``, by linear interpolation in time."""
    if fps == audio_lib.VIDEO_FPS:
        return motion
    frames = max(1, int(round(len(motion) * fps / audio_lib.VIDEO_FPS)))
    times = np.arange(frames) * audio_lib.VIDEO_FPS / fps
    index = np.clip(np.floor(times).astype(int), 0, len(motion) - 1)
    following = np.minimum(index + 1, len(motion) - 1)
    weight = (times - index)[:, None, None]
    return (1 - weight) * motion[index] + weight * motion[following]


def talking_head(image, audio, output: str | os.PathLike | None, motion_model: SpeechToLandmarks, generator=None,
                 silent_lip=None, options: TalkingHeadOptions | None = None, frame_callback=None) -> TalkingHeadResult:
    """Animate ``image`` (a path or RGB array) with ``audio`` (a path or 16 kHz waveform) into ``output`` (.mp4).

    ``output`` may be ``None`` to only compute (``frame_callback(frame)`` receives each frame). With
    ``generator`` ``None`` (or ``options.repaint`` off) the mouth is the warp's alone.
    """
    from tqdm.auto import tqdm

    options = options or TalkingHeadOptions()
    image_name = str(image) if isinstance(image, (str, os.PathLike)) else "the photo"
    audio_name = str(audio) if isinstance(audio, (str, os.PathLike)) else "the audio"
    if output is not None:
        output = check_output_path(output, [image if isinstance(image, (str, os.PathLike)) else None,
                                            audio if isinstance(audio, (str, os.PathLike)) else None])
    photo = read_image(image) if isinstance(image, (str, os.PathLike)) else np.asarray(image)
    if photo.ndim == 2:
        photo = np.repeat(photo[..., None], 3, axis=2)
    if photo.ndim != 3 or photo.shape[2] not in (3, 4) or min(photo.shape[:2]) < 32:
        raise TalkheadInputError(f"{image_name} must be an RGB image at least 32 pixels on a side, got shape {photo.shape}")
    photo = np.ascontiguousarray(photo[..., :3]).astype(np.uint8)
    wave, output_wave = load_speech(audio, audio_name)
    times = StageTimes()
    with times.stage("landmarks"):
        motion = motion_model(photo, wave, image_name=image_name, audio_name=audio_name)
    warnings = []
    if motion.faces_found > 1:
        warnings.append(f"{motion.faces_found} faces in {image_name}; the largest is animated")
    if motion.silent:
        warnings.append(f"{audio_name} is silent: the face stays still with a closed mouth")
    frame, scale = fit_photo(photo, options.max_side)
    detrend = int(round(options.lip_detrend_seconds * audio_lib.VIDEO_FPS))
    points = rescale_motion(motion.pixels.astype(np.float64) * scale, options.head_motion_scale, options.lip_scale, detrend,
                            options.expression_scale)
    points = resample_motion(points, options.fps)
    start = (motion.photo_landmarks if motion.photo_landmarks is not None else motion.pixels[0]) * scale
    anchors = border_anchors(frame.shape[1], frame.shape[0])
    boxes = smooth_boxes(face_crop_boxes(points))
    renderer = None
    if options.repaint and generator is not None:
        reference_box = face_crop_boxes(start)
        identity = close_mouths(silent_lip, crop_face(frame, reference_box)[None])
        reference_pose = _pose_descriptor(normalize_landmarks(start, reference_box))[None]
        renderer = FaceRenderer(generator, identity, reference_pose, audio_lib.mel80(wave), options.fps, options.feather)
    seconds = len(points) / options.fps
    writer = (VideoWriter(output, fps=options.fps, sample_rate=OUTPUT_SAMPLE_RATE, crf=options.crf, audio=output_wave)
              if output is not None else contextlib.nullcontext())
    with writer:  # an error discards the partial file
        batch_size = 16
        for first in tqdm(range(0, len(points), batch_size), desc="talking head", unit="batch", disable=not options.progress):
            indices = list(range(first, min(first + batch_size, len(points))))
            with times.stage("render"):
                frames = [warp_photo(frame, start, points[i], anchors) for i in indices]
            if renderer is not None:
                frames = renderer(frames, boxes[indices], normalize_landmarks(points[indices], boxes[indices]), indices, times)
            for rendered in frames:
                if frame_callback is not None:
                    frame_callback(rendered)
                if output is not None:
                    with times.stage("encode"):
                        writer.write(rendered)
    for warning in warnings:
        logger.warning(warning)
    return TalkingHeadResult(str(output) if output is not None else None, options.fps, len(points), seconds,
                             points.astype(np.float32), motion.silent, motion.faces_found, warnings, times.to_dict())


class TalkingHeadPipeline(TalkheadPipeline):
    """``pipeline("talking-head")``: ``{"image": path or RGB array, "audio": path or 16 kHz array}`` -> report dict.

    ``model`` is the MS-Sync generator (default ``ms-sync-short``); ``face_generator`` and ``silent_lip``
    the stabilized-sync generators that repaint the mouth when ``repaint=True``. Call options are the
    fields of :class:`TalkingHeadOptions` and ``output`` (default: a new temporary file). The report
    holds ``video`` (the path) and ``landmarks`` (per frame, output pixels).
    """

    options_class = TalkingHeadOptions
    input_keys = ("image", "audio")

    def __init__(self, model, face_generator=DEFAULT_FACE_GENERATOR, silent_lip=DEFAULT_SILENT_LIP, **kwargs):
        from ..models.stable_sync import StableSyncFaceGenerator

        self.face_generator = load_component(StableSyncFaceGenerator, face_generator)
        self.silent_lip = load_component(StableSyncFaceGenerator, silent_lip)
        super().__init__(model=model.eval(), **kwargs)
        for component in (self.face_generator, self.silent_lip):
            if component is not None:
                component.to(self.device)

    def _forward(self, model_inputs, **options):
        options = TalkingHeadOptions(**options)
        result = talking_head(model_inputs["image"], model_inputs["audio"], model_inputs["output"],
                              SpeechToLandmarks(self.model, seed=options.seed), self.face_generator, self.silent_lip,
                              options)
        return {"result": result}
