"""Speech -> 68-landmark motion for a face photo, with MS-Sync (the first stage of talking-head generation).

The pipeline owns the I/O: it reads the photo and the audio, finds the face, normalises its
landmarks the way the generator was trained (a fixed square crop around the face; Airale et al.,
MS-Sync, §4.1), generates the motion and maps it back to the photo's pixels.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ... import defaults
from ...errors import MediaDecodeError, NoFaceError
from ...hub import load_pretrained
from ...io import audio as audio_io
from ...io.inputs import check_input_file
from ...io.outputs import atomic_output
from ...models.ms_sync import MSSyncGenerator
from ...processing import audio as audio_lib
from ...processing.face_crops import frame_clip
from ...processing.faces import DlibHOGDetector, default_landmark_predictor
from ...processing.landmarks import close_mouth, denormalize_landmarks, draw_landmarks
from ...processing.per_thread import per_thread

logger = logging.getLogger(__name__)

MIN_AUDIO_SECONDS = audio_io.MIN_AUDIO_SECONDS  # the rule every command shares
DEFAULT_GENERATOR = defaults.HEAD_MOTION
LANDMARK_SUFFIXES = (".npz", ".json")


@dataclass
class LandmarkMotion:
    """Generated motion for one photo.

    Attributes:
        landmarks: (T, 68, 2) in crop units (the dataset convention).
        pixels: (T, 68, 2) in the photo's pixels.
        crop_box: (4,) the square crop (x0, y0, x1, y1) the units refer to.
        fps: frames per second (25).
        silent: the audio was silent everywhere, so the face stays still with a closed mouth.
        faces_found: how many faces the photo held (the largest was used).
        photo_landmarks: (68, 2) the face as detected in the photo, in its pixels (frame 0 of ``pixels``
            is the generator's reconstruction of it, or its closed-mouth version for silent audio).
    """

    landmarks: np.ndarray
    pixels: np.ndarray
    crop_box: np.ndarray
    fps: int = 25
    silent: bool = False
    faces_found: int = 1
    photo_landmarks: np.ndarray | None = None

    def save(self, path: str | os.PathLike) -> Path:
        """``.npz`` (arrays) or ``.json`` (lists), written atomically."""

        path = Path(path)
        if path.suffix not in LANDMARK_SUFFIXES:
            raise ValueError(f"output must end in .npz or .json, got '{path.name}'")
        with atomic_output(path) as temporary:
            if path.suffix == ".json":
                temporary.write_text(
                    json.dumps(
                        {
                            "fps": self.fps,
                            "landmarks": np.round(self.landmarks, 5).tolist(),
                            "pixels": np.round(self.pixels, 2).tolist(),
                            "crop_box": self.crop_box.tolist(),
                        }
                    )
                )
            else:
                np.savez(temporary, landmarks=self.landmarks, pixels=self.pixels, crop_box=self.crop_box, fps=self.fps)
        return path


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Any image file as (H, W, 3) uint8 RGB (grayscale and alpha are converted)."""

    path = check_input_file(path, "image")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise MediaDecodeError(f"cannot read '{path}' as an image (jpg, png, bmp, webp, ...)")
    if image.dtype != np.uint8:
        image = (image / (image.max() or 1) * 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@per_thread  # dlib's detector is not safe to share between threads
def photo_detector() -> DlibHOGDetector:
    # a photo is detected once, so it can afford a finer scan than video frames: faces down to ~40 px of 1024
    return DlibHOGDetector(working_side=1024)


def face_landmarks(image: np.ndarray, name: str = "the photo") -> tuple[np.ndarray, int]:
    """68 points (pixels) of the largest face in ``image`` and how many faces there were."""
    boxes = photo_detector().detect(image)
    if len(boxes) == 0:
        raise NoFaceError(f"no face found in {name}; use a photo with a frontal face at least about 80 pixels wide")
    if len(boxes) > 1:
        logger.warning("%d faces found in %s; using the largest", len(boxes), name)
    return default_landmark_predictor()(image, boxes[0]), len(boxes)


class SpeechToLandmarks:
    """MS-Sync landmark generation for a photo and a speech recording.

    Args:
        generator: an :class:`~talkhead.models.ms_sync.MSSyncGenerator`, or the name / path of one
            (default: ``talkhead/ms-sync-short``, see :mod:`talkhead.hub`).
        seed: only the optional initial-state noise is random; the seed fixes it.
        chunk_frames: longer audio is generated in pieces of this many frames, each restarted from the
            photo and cross-faded over ``overlap_frames`` into the previous one. The autoregressive
            rollout drifts (with ms-sync-short the face grows from 93 to 786 pixels over 5 minutes of
            speech); restarting bounds the drift to one piece. 0 generates in one piece.
        overlap_frames: length of each cross-fade.
    """

    def __init__(self, generator=DEFAULT_GENERATOR, seed: int = 0, chunk_frames: int = 250, overlap_frames: int = 25):

        self.generator = (
            load_pretrained(MSSyncGenerator, generator) if isinstance(generator, (str, os.PathLike)) else generator
        )
        self.generator.eval()
        self.seed = seed
        if chunk_frames and not 0 <= overlap_frames < chunk_frames:
            raise ValueError(f"overlap_frames must be in [0, chunk_frames), got {overlap_frames} and {chunk_frames}")
        self.chunk_frames, self.overlap_frames = chunk_frames, overlap_frames

    def __call__(self, image, audio, image_name: str = "the photo", audio_name: str = "the audio") -> LandmarkMotion:
        """``image``: a path or (H, W, 3) RGB array; ``audio``: a path or a 16 kHz mono waveform."""
        if isinstance(image, (str, os.PathLike)):
            image_name, image = str(image), read_image(image)
        if isinstance(audio, (str, os.PathLike)):
            audio_name, audio = str(audio), audio_io.load_audio(audio)
        wave = np.asarray(audio, np.float32)
        audio_io.check_min_duration(wave, audio_name)
        pixels, faces = face_landmarks(image, image_name)
        framing = frame_clip(pixels[None])  # the dataset's convention, for a clip of one frame
        crop, start = framing.clip_box, framing.landmarks[0]
        frames = audio_lib.num_video_frames(len(wave))
        if audio_lib.silence_mask(wave, frames).all():
            logger.warning("%s is silent: the face stays still with a closed mouth", audio_name)
            motion = np.repeat(close_mouth(start)[None], frames, axis=0)
            return LandmarkMotion(
                motion,
                denormalize_landmarks(motion, crop),
                crop,
                silent=True,
                faces_found=faces,
                photo_landmarks=pixels,
            )
        features = audio_lib.logfbank26(audio_io.fit_length(wave, frames * audio_lib.SAMPLES_PER_FRAME), frames)
        # a generator of this call's own, not torch's global one: threads sharing the pipeline draw the same noise
        motion = self._generate(start, features, frames, torch.Generator().manual_seed(self.seed))
        if not np.isfinite(motion).all():  # never hand out NaN: fall back to the still face
            logger.warning("the generator produced non-finite landmarks; returning the still face")
            motion = np.repeat(start[None], frames, axis=0)
        return LandmarkMotion(
            motion, denormalize_landmarks(motion, crop), crop, faces_found=faces, photo_landmarks=pixels
        )

    def _generate(
        self, start: np.ndarray, features: np.ndarray, frames: int, noise: torch.Generator | None
    ) -> np.ndarray:
        """(frames, 68, 2) motion from the still ``start``; in cross-faded pieces when longer than ``chunk_frames``."""
        device = self.generator.device
        initial = torch.from_numpy(start)[None].to(device)
        per_frame = audio_lib.LOGFBANK_PER_VIDEO_FRAME

        def piece(begin: int, end: int) -> np.ndarray:
            audio = torch.from_numpy(features[per_frame * begin : per_frame * end])[None].to(device)
            with torch.no_grad():
                return self.generator.generate(initial, audio, end - begin, noise_generator=noise)[0].cpu().numpy()

        if not self.chunk_frames or frames <= self.chunk_frames:
            return piece(0, frames)
        motion = np.empty((frames, *start.shape), np.float32)
        begin = 0
        while True:
            end = min(begin + self.chunk_frames, frames)
            part = piece(begin, end)
            if begin == 0:
                motion[:end] = part
            else:
                blend = min(self.overlap_frames, end - begin)
                ramp = np.linspace(0, 1, blend + 2, dtype=np.float32)[1:-1, None, None]
                motion[begin : begin + blend] = (1 - ramp) * motion[begin : begin + blend] + ramp * part[:blend]
                motion[begin + blend : end] = part[blend:]
            if end == frames:
                return motion
            begin = end - self.overlap_frames


def preview_frames(image: np.ndarray, motion: LandmarkMotion, max_side: int = 512):
    """The photo with the generated landmarks drawn on it, one frame per step (downscaled to ``max_side``)."""

    scale = min(1.0, max_side / max(image.shape[:2]))
    base = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
    for points in motion.pixels:
        yield draw_landmarks(base, points * scale, (40, 220, 90), 1)
