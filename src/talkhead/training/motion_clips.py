"""What the mouth-shape scripts (train_mouth_motion.py, train_mouth_sync.py) share: their arguments, and their clips
with phones and offsets undone.

Both read a dataset of `talkhead preprocess`, hold out validation sources, find the clips' audio-video offsets
with the phone table (:mod:`talkhead.data.av_offsets`; written to OUTPUT_DIR/av_offsets.json) and turn each clip
into a :class:`~talkhead.data.mouth_windows.MotionClip` with its offset undone where asked. They differ in
whether the validation clips join the offset search (the phone table is fitted on the clips searched): the
mouth-motion model never shifts its validation clips and leaves them out; the mouth-sync expert searches all
clips and shifts the validation ones with ``--align_validation``. Phones decoded from the audio are cached in
OUTPUT_DIR/phones_cache.npz: decoding is the slow part of a (re)start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..data.av_offsets import clip_offsets
from ..data.clips import load_training_clips
from ..data.mouth_windows import clip_phones, motion_clip
from ..processing import audio as audio_lib
from ..processing.phones import PHONE_LOOP_DECODER
from .arguments import TrainingRunArguments


@dataclass
class MouthShapeTrainingArguments(TrainingRunArguments):
    """The audio features, preset overrides, offset search and optimisation both mouth-shape scripts take."""

    model_config: str = field(default="small", metadata={"help": "preset (small, tiny) or config.json"})
    use_phones: bool = field(default=True, metadata={"help": "read the pocketsphinx phone features"})
    use_mel: bool = field(default=True, metadata={"help": "read the per-frame mel"})
    hidden_size: int | None = field(default=None, metadata={"help": "overrides the preset's channels"})
    dropout: float | None = field(default=None, metadata={"help": "overrides the preset's dropout"})
    input_dropout: float | None = field(default=None, metadata={"help": "overrides the preset's input dropout"})
    align_offsets: bool = field(default=True, metadata={"help": "undo the training clips' audio-video offsets"})
    max_offset: int = field(default=8, metadata={"help": "largest offset searched, in frames"})
    batch_size: int = field(default=32)
    learning_rate: float = field(default=1e-3)
    weight_decay: float = field(default=1e-2)
    max_steps: int = field(default=6000)
    lr_scheduler: str = field(
        default="one_cycle",
        metadata={"help": "one_cycle (warm-up over the first 5 per cent) or a transformers schedule"},
    )
    max_grad_norm: float | None = field(default=1.0)
    validation_steps: int = field(default=250)

    def model_overrides(self, *names: str) -> dict:
        """The preset overrides given (hidden size, dropouts and the script's own ``names``), for
        ``from_preset_or_file``."""
        wanted = ("hidden_size", "dropout", "input_dropout", *names)
        return {name: getattr(self, name) for name in wanted if getattr(self, name) is not None}


def undone_offsets(
    train: list, validation: list, cache_path: Path, args, search_validation: bool, undo_validation: bool
) -> dict[str, int]:
    """Each clip's offset to undo (clip id -> frames; 0 where none is undone), with the report written."""

    searched = train + (validation if search_validation else [])
    if not searched or not (args.align_offsets or search_validation):
        return {}
    found, details = clip_offsets(searched, cache_path, args.max_offset)
    undo = [args.align_offsets] * len(train) + [undo_validation] * (len(searched) - len(train))
    lags = {clip.clip_id: lag if undone else 0 for clip, lag, undone in zip(searched, found, undo, strict=True)}
    report = {
        c.clip_id: {"source": c.source, **d, "undone": bool(lags[c.clip_id])}
        for c, d in zip(searched, details, strict=True)
    }
    (cache_path.parent / "av_offsets.json").write_text(json.dumps(report, indent=1))
    print(
        f"audio-video offsets undone in {sum(lag != 0 for lag in lags.values())} of {len(searched)} clips "
        f"(frames: {sorted(lag for lag in lags.values() if lag)})"
    )
    return lags


def phones_cache_path(output_dir, decoder: str = PHONE_LOOP_DECODER) -> Path:
    """Where a run keeps its decoded phones: one file per decoder, so a cache never mixes them."""
    return Path(output_dir) / ("phones_cache.npz" if decoder == PHONE_LOOP_DECODER else f"phones_cache_{decoder}.npz")


def cached_phones(clips: list, cache_path: Path, decoder: str = PHONE_LOOP_DECODER) -> dict[str, np.ndarray]:
    """The phone features of every clip, from the cache or decoded with ``decoder`` (and then added to it)."""

    cache = dict(np.load(cache_path)) if cache_path.exists() else {}
    missing = [clip for clip in clips if clip.clip_id not in cache]
    for clip in tqdm(missing, desc=f"decoding phones ({decoder})", disable=not missing):
        cache[clip.clip_id] = clip_phones(clip, decoder)
    if missing or not cache_path.exists():
        np.savez_compressed(cache_path, **cache)
    return cache


def mean_speech_mel(clips) -> list[float]:
    """The 80-band mean mel of the clips' frames with speech: where a ``running`` mel normalisation starts."""
    rows = []
    for clip in clips:
        mel = getattr(clip, "mel", None)
        mel = audio_lib.mel_per_frame(audio_lib.mel80(clip.audio) if mel is None else mel, clip.num_frames, clip.fps)
        speaking = audio_lib.frame_level_db(clip.audio, clip.num_frames, fps=clip.fps) > audio_lib.SILENCE_FLOOR_DBFS
        rows.append(mel[speaking])
    return [round(float(v), 4) for v in np.concatenate(rows).mean(0)]


def prepare_motion_clips(args, config, search_validation: bool = False, undo_validation: bool = False):
    """(training, validation) :class:`MotionClip` lists and the held-out sources, for ``config``'s audio features.

    ``args`` has the shared data arguments and ``align_offsets``/``max_offset``; ``search_validation`` puts the
    validation clips in the offset search, ``undo_validation`` also shifts them.
    """

    train, validation, held_out = load_training_clips(
        args.dataset, args.split, args.validation_sources, args.validation_fraction, args.seed
    )
    decoder = getattr(config, "phone_decoder", PHONE_LOOP_DECODER)  # the mouth-sync expert has no choice
    cache_path = phones_cache_path(args.output_dir, decoder)
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    phones = cached_phones(train + validation, cache_path, decoder)  # first: the offset search reads them too
    lags = undone_offsets(train, validation, cache_path, args, search_validation, undo_validation)
    if getattr(config, "mel_normalization", None) == "running" and config.mel_prior is None:
        config.mel_prior = mean_speech_mel(train)
    motion = [motion_clip(c, config, phones[c.clip_id], lags.get(c.clip_id, 0)) for c in train + validation]
    return motion[: len(train)], motion[len(train) :], held_out
