"""What :func:`talkhead.evaluation.evaluate.evaluate_video` resolves before it decodes: the speech, the weights.

A metric that cannot run says why in its report entry. Those reasons name the caller's inputs through
``names``: keyword spellings (:data:`KEYWORDS`) for Python callers; the CLI passes its option flags
(:data:`talkhead.cli.evaluate.OPTION_NAMES`), so the library never speaks in flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import EmptyAudioError, MediaDecodeError, NoAudioError, TalkheadInputError
from ..hub import checkpoint_path, load_pretrained
from ..io import audio as audio_io
from ..models.av_hubert import AVHubertModel
from ..models.mouth_sync import MouthSyncModel
from ..models.ms_sync import MSSyncSyncerModel
from ..models.syncnet_expert import SyncNetExpert
from ..models.syncnet_v2 import SyncNetV2Model
from ..processing import audio as audio_lib

KEYWORDS = {
    "video": "video",
    "audio": "audio",
    "reference": "reference",
    "speaker_video": "speaker_video",
    "landmarks": "landmarks",
    "syncnet_v2": "syncnet_v2=DIR",
    "av_hubert": "av_hubert=DIR",
    "max_side": "max_side",
    "metrics": "metrics=",
}
WEIGHT_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)
SYNCNET_V2_CONVERTER = "python -m talkhead.models.syncnet_v2.convert_syncnet_v2 syncnet_v2.model DIR"
AV_HUBERT_CONVERTER = "python -m talkhead.models.av_hubert.convert_av_hubert CHECKPOINT.pt DIR"


def input_names(names: Mapping[str, str] | None = None) -> dict[str, str]:
    """How messages name each input: :data:`KEYWORDS`, overridden by ``names``."""
    return {**KEYWORDS, **(names or {})}


def needs_reference(names: Mapping[str, str]) -> str:
    return f"needs {names['reference']} (the ground-truth video)"


def syncnet_v2_missing(names: Mapping[str, str]) -> str:
    return (
        f"SyncNet v2 weights not given: {names['syncnet_v2']} (convert syncnet_v2.model with "
        "`python -m talkhead.models.syncnet_v2.convert_syncnet_v2 syncnet_v2.model DIR`)"
    )


def av_hubert_missing(names: Mapping[str, str]) -> str:
    return (
        f"AV-HuBERT weights not given: {names['av_hubert']} (convert a lip-reading checkpoint with "
        "`python -m talkhead.models.av_hubert.convert_av_hubert base_lrs3_433h.pt DIR`)"
    )


def folder_has_no_audio(names: Mapping[str, str]) -> str:
    return f"a frame folder has no audio; give {names['audio']}"


def speech_or_reason(
    video: str, audio: str | None, names: Mapping[str, str]
) -> tuple[np.ndarray | None, str | None, str | None]:
    """(16 kHz wave or None, its source, why there is none). A given ``audio`` that cannot be read is an error.

    Without ``audio``, a frame folder or a video whose track is missing, empty or undecodable makes the
    audio-based metrics unavailable (with the reason) instead of stopping the evaluation.
    """
    if audio is not None:
        wave = audio_io.load_audio(audio)
        audio_io.check_min_duration(wave, f"the audio '{audio}'")  # the rule every command shares
        source = str(audio)
    else:
        if Path(video).is_dir():
            return None, None, folder_has_no_audio(names)
        try:
            wave = audio_io.load_audio(video)
            audio_io.check_min_duration(wave, f"the audio of '{video}'")
        except (NoAudioError, EmptyAudioError) as err:
            return None, None, f"no audio: {err}; give {names['audio']}"
        except MediaDecodeError as err:
            return None, None, f"the audio of '{video}' cannot be decoded: {err}; give {names['audio']}"
        source = str(video)
    if audio_lib.silence_mask(wave).all():
        return None, source, f"the audio of '{source}' is silent: synchrony cannot be measured"
    return wave, source, None


def has_weights(folder: str) -> bool:
    return any((Path(folder) / name).is_file() for name in WEIGHT_FILES)


def weights_folder(given: str | None, missing: str, converter: str) -> tuple[str | None, str | None]:
    """(resolved folder, None) or (None, why not) for optional converted weights; a folder that does not exist
    raises, naming the converter (talkhead ships none of these weights, so no name resolves to them)."""

    if given is None:
        return None, missing
    try:
        folder = checkpoint_path(given)
    except TalkheadInputError:  # neither a folder, a shipped name nor a Hub id: the error below names the converter
        folder = str(given)
    if not Path(folder).is_dir():
        raise FileNotFoundError(f"no such model folder: '{given}' (convert the weights with `{converter}`)")
    if not has_weights(folder):
        return None, f"'{given}' holds no weights (model.safetensors): convert them with `{converter}`"
    return folder, None


def load_models(selected: list[str], options, syncnet_v2: str | None, av_hubert: str | None) -> dict:
    """The models the selected metrics need, by metric (``av_hubert`` for the three AVS), in eval mode."""

    models = {}
    if "expert_sync" in selected:
        models["expert_sync"] = load_pretrained(SyncNetExpert, options.expert).eval()
    if "ms_sync" in selected:
        models["ms_sync"] = load_pretrained(MSSyncSyncerModel, options.eval_syncers).eval()
    if "mouth_sync" in selected:
        models["mouth_sync"] = load_pretrained(MouthSyncModel, options.mouth_sync).eval()
    if "syncnet_v2" in selected and syncnet_v2 is not None:
        models["syncnet_v2"] = load_pretrained(SyncNetV2Model, syncnet_v2).eval()
    if av_hubert is not None:
        models["av_hubert"] = load_pretrained(AVHubertModel, av_hubert).eval()
    return models
