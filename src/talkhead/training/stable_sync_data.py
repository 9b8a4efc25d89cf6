"""The windows the stabilized-sync generators train on (``examples/train_stable_sync.py``): loaded in memory, or
streamed from Parquet shards (``--streaming``, :mod:`talkhead.training.streamed_data`), with the AV-HuBERT audio
features of each target window when the sync loss is AV-HuBERT's."""

from __future__ import annotations

import torch

from ..data.clips import load_training_clips
from ..data.face_windows import WINDOW, FaceWindowDataset, face_window_sample, stored_faces, usable_clip
from ..data.streaming import FACE_COLUMNS, clip_draws
from ..errors import TalkheadInputError
from ..models.av_hubert.feature_extraction_av_hubert import stacked_logfbank
from .streamed_data import StreamedBatches, streamed_split, streamed_windows


def av_hubert_window_dataset(base):
    """``base`` (a FaceWindowDataset class) whose samples also hold ``av_hubert_audio``, (5, 104): the target
    window's rows of the clip's AV-HuBERT audio features (computed from its waveform once per clip)."""

    class WithAVHubertAudio(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.av_hubert_audio = {}

        def __getitem__(self, index: int) -> dict:
            sample = super().__getitem__(index)
            clip, start = self._draw(self._rng(index))  # the parent's first draw again: the target window
            if clip.clip_id not in self.av_hubert_audio:
                self.av_hubert_audio[clip.clip_id] = stacked_logfbank(clip.audio, clip.num_frames)
            sample["av_hubert_audio"] = torch.from_numpy(self.av_hubert_audio[clip.clip_id][start : start + WINDOW])
            return sample

    return WithAVHubertAudio


def with_av_hubert(args) -> bool:
    return args.sync_loss == "av_hubert" and args.stage == "talking-face"


def load_datasets(args, trainer):
    """Training windows (a dataset, or streamed ones), validation windows (a dataset, None, or streamed batches), the
    validation clip count and the held-out sources."""
    try:
        if args.streaming:
            dataset, validation, validation_clips, held_out = streamed_data(args, trainer)
        else:
            train_clips, validation_clips, held_out = load_training_clips(
                args.dataset, args.split, args.validation_sources, args.validation_fraction, args.seed
            )
            windows = av_hubert_window_dataset(FaceWindowDataset) if with_av_hubert(args) else FaceWindowDataset
            dataset = windows(train_clips, seed=args.seed)
            validation = windows(validation_clips, args.validation_samples, seed=1234) if validation_clips else None
            validation_clips = len(validation_clips)
    except (TalkheadInputError, ValueError) as err:
        raise SystemExit(f"error: {err}") from err
    return dataset, validation, validation_clips, held_out


def streamed_data(args, trainer):
    """(training windows, validation batches drawn again at each validation, validation clip count, held-out
    sources) of clips streamed from the Parquet shards, this process's part (see talkhead.training.streamed_data)."""

    def prepare(clip):
        if usable_clip(clip, 2 * WINDOW) is None:
            return None
        if not with_av_hubert(args):
            return clip, None
        return clip, stacked_logfbank(clip.audio, clip.num_frames)

    def sample(prepared, rng):
        return face_window_sample(prepared[0], rng, prepared[1])

    def stored(prepared, rng):  # the shuffle buffer holds uint8 faces; loader() batches them as float
        return stored_faces(sample(prepared, rng))

    split = streamed_split(args, FACE_COLUMNS)
    windows = streamed_windows(trainer, split, clip_draws(prepare, stored, 2 * WINDOW, args.stream_draws))
    validation = StreamedBatches(
        split.validation_clips(prepare=lambda clip: clip),
        clip_draws(prepare, sample, 2 * WINDOW, args.stream_draws),
        args.validation_samples,
        args.batch_size,
    )
    return windows, validation, len(validation.clips), split.held_out
