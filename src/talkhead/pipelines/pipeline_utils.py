"""What ``pipeline("talking-head")`` and ``pipeline("lip-sync")`` share: the :class:`TalkheadPipeline` base
class, the default model ids, the output's sound rate and reading the speech (:func:`load_speech`).

Why transformers' ``Pipeline`` and not a diffusers ``DiffusionPipeline``: every model here is a
transformers ``PreTrainedModel``, users already know ``transformers.pipeline(task, model=...)``, and
the task registry gives both tasks a default checkpoint. The extra models of a task (the silent-lip
generator, the MS-Sync generator) are constructor arguments loaded by name, which is all a
multi-model bundle needs here; diffusers' ``model_index.json`` loading would add a second loading
convention for the same checkpoints.

The ``Pipeline`` contract is preprocess -> _forward -> postprocess on one input. These pipelines
decode and encode whole videos, so ``preprocess`` resolves the inputs, ``_forward`` runs the streaming
function of the task (which writes the file, atomically) and ``postprocess`` returns the report as a
dict: the result's fields (arrays stay arrays) and ``video_frames``. With ``output=`` the video is that
file (``video``: its path; ``video_frames``: ``None``). Without it the video is written to a temporary
folder, read back as ``video_frames`` (uint8, (frames, height, width, 3), RGB; the whole video in
memory) and the folder removed (``video``: ``None``); the video's sound, the speech given cut to the
video's length, is not returned.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

import numpy as np
from transformers import Pipeline

from .. import defaults
from ..errors import TalkheadInputError
from ..hub import load_pretrained
from ..io import audio as audio_io
from ..io.audio import stream_audio
from ..io.video import read_video
from ..models.mouth_motion import MouthMotionFeatureExtractor
from ..processing.heard import HeardSpeech

OUTPUT_SAMPLE_RATE = 48_000
# the pipelines' names for the shipped checkpoints they default to (talkhead.defaults holds the values)
DEFAULT_MOUTH_MOTION = defaults.MOUTH_MOTION
DEFAULT_FACE_GENERATOR = defaults.FACE_GENERATOR
DEFAULT_SILENT_LIP = defaults.SILENT_LIP


def load_component(model_class, value):
    """A model given by name or path is loaded (eval mode); a model object is used as is; ``None`` stays."""
    if value is None or not isinstance(value, (str, os.PathLike)):
        return value

    return load_pretrained(model_class, value).eval()


class TalkheadPipeline(Pipeline):
    """Base of the talkhead video pipelines: file in, file (or frames) out, report back.

    A task implements :meth:`_run_task`; this class gives it the output file, a temporary one when the caller named
    none (see the module docstring for what is returned then)."""

    _load_tokenizer = False
    _load_feature_extractor = False
    _load_image_processor = False
    _load_processor = False
    _load_video_processor = False
    options_class: type = None  # the task's options dataclass
    input_keys: tuple[str, ...] = ()  # the keys of the input dict; the first is the visual input

    def _sanitize_parameters(self, output=None, **options):
        known = {f.name for f in dataclasses.fields(self.options_class)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"unknown option(s) {unknown} for {type(self).__name__}; known: {sorted(known)}")
        return ({"output": output} if output is not None else {}), options, {}

    def preprocess(self, inputs, output=None):
        if not isinstance(inputs, dict) or not all(key in inputs for key in self.input_keys):
            raise TalkheadInputError(
                f"{type(self).__name__} takes a dict with keys {list(self.input_keys)}, got "
                f"{type(inputs).__name__ if not isinstance(inputs, dict) else sorted(inputs)}"
            )
        return {**{key: inputs[key] for key in self.input_keys}, "output": output}

    def _forward(self, model_inputs, **options):
        output = model_inputs["output"]
        if output is not None:
            return {"result": self._run_task(model_inputs, output, options), "video_frames": None}
        # removed on success and on failure alike: a pipeline called in a loop must not fill the disk
        with tempfile.TemporaryDirectory(prefix="talkhead-") as folder:
            result = self._run_task(model_inputs, Path(folder) / "output.mp4", options)
            frames = read_video(result.video, fps=result.fps)
        return {"result": dataclasses.replace(result, video=None), "video_frames": frames}

    def _run_task(self, model_inputs: dict, output: str | os.PathLike, options: dict):
        """Run the task on ``model_inputs`` with the call's ``options``, writing the video to ``output``; returns the
        task's result dataclass (its ``video`` the path written, its ``fps`` the video's)."""
        raise NotImplementedError

    def postprocess(self, model_outputs):
        return {**dataclasses.asdict(model_outputs["result"]), "video_frames": model_outputs["video_frames"]}


def mouth_phones(
    model, wave: np.ndarray, num_frames: int, fps: float, language: str, phones=None, visemes: bool = True
) -> np.ndarray | None:
    """(num_frames, NUM_PHONES) phone features that the mouth-motion ``model`` and the viseme stage read: ``phones``
    when already decoded, else decoded with the model's phone decoder when either reads them (``visemes``: the stage
    runs); ``None`` when neither does."""
    if phones is None and (model.config.use_phones or visemes):
        phones = MouthMotionFeatureExtractor.from_config(model.config).decode_phones(wave, num_frames, fps, language)
    return phones


def heard_mouth_phones(
    model, wave: np.ndarray, num_frames: int, fps: float, language: str, pending=None, visemes: bool = True
) -> tuple[np.ndarray | None, HeardSpeech | None]:
    """(:func:`mouth_phones`, what was heard in the speech: the report's ``heard``), both ``None`` when neither the
    model nor the viseme stage reads phones. ``pending``: the
    :class:`~talkhead.processing.phone_worker.PendingPhones` started earlier, or ``None`` to decode them here."""
    if pending is not None:
        return pending.result_and_heard(num_frames)
    if not (model.config.use_phones or visemes):
        return None, None
    return MouthMotionFeatureExtractor.from_config(model.config).decode_heard_phones(wave, num_frames, fps, language)


def load_speech(audio, name: str):
    """(wave at 16 kHz for the model, the output's 48 kHz sound) from a path or a 16 kHz array.

    From a file the output sound is a stream (:func:`~talkhead.io.audio.stream_audio`), read as the
    video is written, so only the 16 kHz copy the model needs is held whole.
    """
    if isinstance(audio, (str, os.PathLike)):
        wave = audio_io.load_audio(audio)
        output_wave = stream_audio(audio, OUTPUT_SAMPLE_RATE)
    else:
        wave = np.asarray(audio, np.float32)
        if wave.ndim == 2 and min(wave.shape) <= 8:  # (samples, channels) or (channels, samples)
            wave = wave.mean(axis=int(np.argmin(wave.shape)))
        if wave.ndim != 1:
            raise TalkheadInputError(f"{name} must be a mono 16 kHz waveform (a 1-D array), got shape {wave.shape}")
        output_wave = audio_io.resample(wave, audio_io.SAMPLE_RATE, OUTPUT_SAMPLE_RATE)
    audio_io.check_min_duration(wave, name)
    return wave, output_wave
