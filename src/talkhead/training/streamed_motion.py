"""The mouth-shape models' data streamed from Parquet shards (``train_mouth_motion.py --streaming``,
``train_mouth_sync.py --streaming``).

What :func:`talkhead.training.motion_clips.prepare_motion_clips` does with every clip in memory, done as the clips
stream (:mod:`talkhead.training.streamed_data`): the held-out sources are chosen from two small columns; the first
validation clips (at most 200: held-out sources of a big set hold many) are read again at each validation;
the training clips stream through :class:`~talkhead.data.streaming.StreamedWindows`, each turned into a
:class:`~talkhead.data.mouth_windows.MotionClip` when it arrives. Phones come from the dataset's ``phones`` column
when it was decoded with the model's decoder (``talkhead preprocess --phones --phone-decoder words``), else they are
decoded as each clip arrives (slow: word phones run at about 4x real time). The audio-video offsets are not searched
here (that needs every clip at once): undo them at preprocessing (``--av-offset-model``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.mouth_windows import MotionClip, motion_clip, silence_displacement, speech_opening_std
from ..data.streaming import MOTION_COLUMNS, StreamedWindows, clip_draws, dataset_options
from ..processing.phones import PHONE_LOOP_DECODER, phone_features
from .streamed_data import StreamedClips, StreamedSplit, streamed_split, streamed_windows


@dataclass
class StreamedMotionData:
    windows: StreamedWindows
    validation: StreamedClips
    held_out: list[str]
    rest_pose: np.ndarray  # (20, 2) silence displacement of the first clips of the stream
    opening_std: float  # speech_opening_std of the same clips
    stored_phones: bool


def motion_clip_maker(args, config) -> tuple[callable, bool]:
    """(clip -> :class:`MotionClip` for ``config``, whether the dataset's stored phones are used): phones from the
    ``phones`` column when the dataset was decoded with the model's decoder, else decoded as each clip arrives."""
    options = dataset_options(args.dataset)
    decoder = getattr(config, "phone_decoder", PHONE_LOOP_DECODER)
    stored = bool(options.get("phones")) and options.get("phone_decoder", PHONE_LOOP_DECODER) == decoder

    def to_motion_clip(clip) -> MotionClip:
        phones = (
            clip.phones
            if stored and clip.phones is not None
            else phone_features(clip.audio, clip.num_frames, clip.fps, decoder)
        )
        return motion_clip(clip, config, phones)

    return to_motion_clip, stored


def motion_split(args) -> StreamedSplit:
    return streamed_split(args, (*MOTION_COLUMNS, "phones"))


def streamed_motion_data(trainer, config, sample, rest_pose_clips: int = 64) -> StreamedMotionData:
    """The streamed training windows, the validation clips (the first held-out ones, read again at each
    validation) and the rest pose for ``config`` (see the module docstring); ``sample(clip, rng)`` draws one
    window; ``trainer.args`` has the shared data arguments and the buffer."""
    args = trainer.args
    split = motion_split(args)
    to_motion_clip, stored = motion_clip_maker(args, config)
    validation = split.validation_clips(to_motion_clip)
    first = split.first_training_clips(rest_pose_clips, to_motion_clip)  # the same in every process
    shapes: list[np.ndarray] = []

    def keeping_shapes(clips):
        for clip in clips:  # one read of the first clips serves both: a clip's features may mean decoding phones
            shapes.append(clip.mean_shape + clip.displacements)
            yield clip

    rest_pose = silence_displacement(keeping_shapes(first))
    opening_std = speech_opening_std(shapes)
    windows = streamed_windows(trainer, split, clip_draws(to_motion_clip, sample, args.window, args.stream_draws))
    return StreamedMotionData(windows, validation, split.held_out, rest_pose, opening_std, stored)
