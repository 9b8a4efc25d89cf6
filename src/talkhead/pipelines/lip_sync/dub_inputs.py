"""One dub's inputs, read and checked before the long work, and what the user should know about them once the video
is tracked: the faces found, and the speech against the video (:func:`~talkhead.pipelines.lip_sync.lip_sync`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...io import audio as audio_io
from ...io.outputs import check_free_space, check_output_path, estimated_video_bytes
from ...io.video_probe import probe_video, refuse_still_image
from ...options import LipSyncOptions
from ...processing import audio as audio_lib
from ..pipeline_utils import load_speech
from .face_plan import FacePlan, ranges_text


@dataclass
class DubInputs:
    """One run's inputs, read and checked."""

    video: str | os.PathLike
    output: Path  # not one of the inputs, with room for the video
    fps: float  # the source's frame rate, and the output's
    wave: np.ndarray  # the speech at 16 kHz
    output_wave: object  # the speech for the video's sound (:func:`~talkhead.pipelines.pipeline_utils.load_speech`)
    speech_frames: int  # the output's length, before ``audio_longer`` trims it
    audio_name: str  # for the messages


def read_dub_inputs(video, audio, output, options: LipSyncOptions) -> DubInputs:
    """The output path checked, the video probed and the speech read, then the free space for the output checked
    (before the long work)."""
    audio_path = audio if isinstance(audio, (str, os.PathLike)) else None
    audio_name = str(audio) if audio_path is not None else "the audio"
    output = check_output_path(output, [video, audio_path])
    info = refuse_still_image(probe_video(video))  # one frame has no mouths to reuse: a photo is talking-head's
    fps = float(info.source_fps or audio_lib.VIDEO_FPS)
    wave, output_wave = load_speech(audio, audio_name)
    speech_frames = max(1, round(len(wave) / audio_io.SAMPLE_RATE * fps))
    expected = min(speech_frames, info.num_frames(fps)) if options.audio_longer == "trim" else speech_frames
    check_free_space(output, estimated_video_bytes(expected, info.width, info.height, fps))
    return DubInputs(video, output, fps, wave, output_wave, speech_frames, audio_name)


def output_frames(speech_frames: int, source_frames: int, audio_longer: str) -> tuple[int, str | None]:
    """How many frames the output has, and the ``audio_longer`` policy when the speech outlasts the video."""
    if speech_frames <= source_frames:
        return speech_frames, None
    return (source_frames if audio_longer == "trim" else speech_frames), audio_longer


def dub_warnings(plan: FacePlan, inputs: DubInputs, options: LipSyncOptions) -> list[str]:
    """What the user should know about the tracked faces, and about the speech against the video."""
    video_name, audio_name, fps, speech_frames = str(inputs.video), inputs.audio_name, inputs.fps, inputs.speech_frames
    messages = []
    if plan.faces_where_tracked > 1:
        messages.append(
            f"{plan.faces_where_tracked} faces in '{video_name}': dubbing {plan.face} (face={options.face}; "
            "choose another with face=leftmost, face=rightmost, face=INDEX counting from 0 on the left, or "
            "face=X,Y)"
        )
    if plan.missing:
        verb = "interpolated" if options.on_missing_face == "interpolate" else "left unchanged"
        messages.append(f"no face in frames {ranges_text(plan.missing)} of '{video_name}': {verb}")
    if audio_lib.silence_mask(inputs.wave).all():
        messages.append(f"{audio_name} is silent: the mouth stays closed")
    if speech_frames > plan.num_frames:
        messages.append(
            f"{audio_name} is longer than the video ({len(inputs.wave) / audio_io.SAMPLE_RATE:.2f} s against "
            f"{plan.num_frames / fps:.2f} s): {options.audio_longer}"
        )
    elif speech_frames < plan.num_frames:
        messages.append(
            f"{audio_name} ends before the video: the output stops with the audio after {speech_frames / fps:.2f} s"
        )
    return messages
