"""The mouth-motion model's data streamed from Parquet shards (``train_mouth_motion.py --streaming``).

What :func:`talkhead.training.motion_clips.prepare_motion_clips` does with every clip in memory, done as the clips
stream (:mod:`talkhead.data.streaming`): the held-out sources are chosen from two small columns; the first
validation clips (at most ``max_validation_clips``: held-out sources of a big set hold many) are read into memory;
the training clips stream through :class:`~talkhead.data.streaming.StreamedWindows`, each turned into a
:class:`~talkhead.data.mouth_windows.MotionClip` when it arrives. Phones come from the dataset's ``phones`` column
when it was decoded with the model's decoder (``talkhead preprocess --phones --phone-decoder words``), else they are
decoded as each clip arrives (slow: word phones run at about 4x real time). The audio-video offsets are not searched
here (that needs every clip at once): undo them at preprocessing (``--av-offset-model``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

import numpy as np

from ..data.clips import choose_holdout
from ..data.mouth_windows import MotionClip, motion_clip, silence_displacement, speech_opening_std
from ..data.streaming import (
    MOTION_COLUMNS,
    SplitStream,
    StreamedWindows,
    dataset_options,
    row_to_clip,
    source_frames,
)
from ..processing.phones import PHONE_LOOP_DECODER, phone_features


@dataclass
class StreamedMotionData:
    windows: StreamedWindows
    validation: StreamedClips
    held_out: list[str]
    rest_pose: np.ndarray  # (20, 2) silence displacement of the first clips of the stream
    opening_std: float  # speech_opening_std of the same clips
    stored_phones: bool


class StreamedClips:
    """The first ``limit`` clips of ``rows`` as :class:`~talkhead.data.mouth_windows.MotionClip`, read again at every
    pass (validation): one clip in memory at a time, whatever the size of the held-out sources."""

    def __init__(self, rows, to_motion_clip, limit: int, count: int):
        self.rows, self.to_motion_clip, self.limit = rows, to_motion_clip, limit
        self.count = min(count, limit)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[MotionClip]:
        return (self.to_motion_clip(row_to_clip(row)) for row in islice(self.rows, self.limit))


def streamed_motion_data(
    args, config, sample, rank: int = 0, world_size: int = 1, rest_pose_clips: int = 64, max_validation_clips: int = 200
) -> StreamedMotionData:
    """The streamed training windows, the validation clips (the first ``max_validation_clips`` of the held-out
    sources, read again at each validation) and the rest pose for ``config`` (see the module docstring);
    ``sample(clip, rng)`` draws one window; ``args`` has the shared data arguments and the buffer."""
    stream = SplitStream(args.dataset, args.split, (*MOTION_COLUMNS, "phones"))
    sources, frames = source_frames(stream.rows())
    holdout = [s.strip() for s in args.validation_sources.split(",") if s.strip()] if args.validation_sources else None
    held = choose_holdout(sources, frames, holdout, args.validation_fraction, args.seed)
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

    def trained_on(source: str) -> bool:
        return source not in held

    validation = StreamedClips(
        stream.rows().filter(lambda source: source in held, input_columns="source"),
        to_motion_clip,
        max_validation_clips,
        sum(source in held for source in sources),
    )
    first = StreamedClips(
        stream.rows().filter(trained_on, input_columns="source"), to_motion_clip, rest_pose_clips, len(sources)
    )  # the same in every process
    shapes: list[np.ndarray] = []

    def keeping_shapes(clips):
        for clip in clips:  # one read of the first clips serves both: a clip's features may mean decoding phones
            shapes.append(clip.mean_shape + clip.displacements)
            yield clip

    rest_pose = silence_displacement(keeping_shapes(first))
    opening_std = speech_opening_std(shapes)
    windows = StreamedWindows(
        stream,
        trained_on,
        to_motion_clip,
        sample,
        args.window,
        args.seed,
        rank,
        world_size,
        args.window_buffer,
        args.stream_draws,
    )
    return StreamedMotionData(windows, validation, sorted(held), rest_pose, opening_std, stored)
