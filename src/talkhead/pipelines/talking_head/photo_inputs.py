"""A talking photo's inputs, read and checked before the long work: the output path, the photo (any RGB, grey or
RGBA image, fitted to the output size) and the speech (:func:`~talkhead.pipelines.talking_head.talking_head`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ...errors import TalkheadInputError
from ...io import audio as audio_io
from ...io.outputs import check_free_space, check_output_path, estimated_video_bytes
from ...options import TalkingHeadOptions
from ..pipeline_utils import load_speech
from .speech_to_landmarks import read_image


def fit_photo(photo: np.ndarray, output_size: int) -> tuple[np.ndarray, float]:
    """Downscale to at most ``output_size`` (even sizes, as H.264 wants); returns the image and the factor."""
    height, width = photo.shape[:2]
    scale = min(1.0, output_size / max(height, width))
    size = (max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2))
    if size == (width, height):
        return photo, 1.0
    return cv2.resize(photo, size, interpolation=cv2.INTER_AREA), size[0] / width


@dataclass
class PhotoInputs:
    """One run's inputs, read and checked."""

    output: Path | None  # not one of the inputs, with room for the video; None: frames for the callback only
    photo: np.ndarray  # RGB, as given (MS-Sync finds the face at full size)
    frame: np.ndarray  # the photo fitted to the output size, ``scale`` times its size
    scale: float
    wave: np.ndarray  # the speech at 16 kHz
    output_wave: object  # the speech for the video's sound (:func:`~talkhead.pipelines.pipeline_utils.load_speech`)
    image_name: str  # for the messages
    audio_name: str


def read_photo(image, image_name: str) -> np.ndarray:
    """``image`` (a path or an array) as an RGB uint8 array, with a one-line error for what is not a photo."""
    photo = read_image(image) if isinstance(image, (str, os.PathLike)) else np.asarray(image)
    if photo.ndim == 2:
        photo = np.repeat(photo[..., None], 3, axis=2)
    if photo.ndim != 3 or photo.shape[2] not in (3, 4) or min(photo.shape[:2]) < 32:
        raise TalkheadInputError(
            f"{image_name} must be an RGB image at least 32 pixels on a side, got shape {photo.shape}"
        )
    return np.ascontiguousarray(photo[..., :3]).astype(np.uint8)


def read_photo_inputs(image, audio, output, options: TalkingHeadOptions) -> PhotoInputs:
    """The output path checked, the photo and the speech read, then the free space for the video checked."""
    image_path = image if isinstance(image, (str, os.PathLike)) else None
    audio_path = audio if isinstance(audio, (str, os.PathLike)) else None
    image_name = str(image) if image_path is not None else "the photo"
    audio_name = str(audio) if audio_path is not None else "the audio"
    if output is not None:
        output = check_output_path(output, [image_path, audio_path])
    photo = read_photo(image, image_name)
    wave, output_wave = load_speech(audio, audio_name)
    frame, scale = fit_photo(photo, options.output_size)
    if output is not None:
        frames = round(len(wave) / audio_io.SAMPLE_RATE * options.fps)
        check_free_space(output, estimated_video_bytes(frames, frame.shape[1], frame.shape[0], options.fps))
    return PhotoInputs(output, photo, frame, scale, wave, output_wave, image_name, audio_name)
