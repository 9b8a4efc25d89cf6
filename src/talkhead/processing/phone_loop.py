"""The phone inventory and pocketsphinx's phone loop: the low-level decoding every phone decoder here shares.

:mod:`.phones` (a recording at once, words or the phone loop) and :mod:`.live_phones` (a stream) both decode
with the decoder made here, so neither imports the other's decoding.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import TalkheadInputError
from ..io.audio import SAMPLE_RATE
from .per_thread import per_thread

# the 39 ARPAbet phones of CMUdict and pocketsphinx's en-us model, then silence; the order is part of
# every checkpoint that reads these features: append, never reorder
PHONES = (
    "AA",
    "AE",
    "AH",
    "AO",
    "AW",
    "AY",
    "B",
    "CH",
    "D",
    "DH",
    "EH",
    "ER",
    "EY",
    "F",
    "G",
    "HH",
    "IH",
    "IY",
    "JH",
    "K",
    "L",
    "M",
    "N",
    "NG",
    "OW",
    "OY",
    "P",
    "R",
    "S",
    "SH",
    "T",
    "TH",
    "UH",
    "UW",
    "V",
    "W",
    "Y",
    "Z",
    "ZH",
    "SIL",
)
PHONE_INDEX = {phone: index for index, phone in enumerate(PHONES)}
SILENCE = PHONE_INDEX["SIL"]
NUM_PHONES = len(PHONES)
DECODER_FRAMES_PER_SECOND = 100  # pocketsphinx's default frame rate (10 ms)


@dataclass(frozen=True)
class PhoneSegment:
    """One decoded phone: ``phone`` from ``start`` to ``end`` seconds (end exclusive)."""

    phone: str
    start: float
    end: float


def _import_pocketsphinx():
    try:
        import pocketsphinx
    except ImportError as err:
        raise TalkheadInputError(
            "phone features need the optional 'pocketsphinx' package: pip install 'talkhead[phones]'"
        ) from err
    return pocketsphinx


def _model_folder() -> str:
    return os.path.join(_import_pocketsphinx().get_model_path(), "en-us")


def phone_loop_decoder():
    """A new phone-loop decoder (about 0.1 s to load)."""
    model = _model_folder()
    # wide beams: allphone search is cheap, and pruning only loses phones
    return _import_pocketsphinx().Decoder(
        hmm=os.path.join(model, "en-us"),
        allphone=os.path.join(model, "en-us-phone.lm.bin"),
        lw=2.0,
        beam=1e-10,
        pbeam=1e-10,
        samprate=SAMPLE_RATE,
        loglevel="FATAL",
    )


_decoder = per_thread(phone_loop_decoder)  # a decoder is not safe to share between threads (processing.per_thread)


def _pcm(wave: np.ndarray) -> bytes:
    wave = np.asarray(wave, np.float32)
    if wave.ndim != 1:
        raise TalkheadInputError(f"decode_phones needs a mono 16 kHz waveform (1-D), got shape {wave.shape}")
    return (np.clip(wave, -1.0, 1.0) * 32767).astype(np.int16).tobytes()


def _run(decoder, pcm: bytes) -> None:
    """One pass over ``pcm`` that depends on nothing decoded before. The en-us model's ``feat.params`` turns on
    noise removal (``-remove_noise yes``, which overrides a ``remove_noise=False`` argument), and its noise estimate
    carries over from one utterance to the next: speech decoded after 5 s of noise gets other phones than the same
    speech decoded first. ``reinit_feat`` rebuilds only the feature front end (about 0.1 ms), so every
    pass, the three of word alignment included, starts from the same state."""
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def _segment(phone: str, start_frame: int, frames: int) -> PhoneSegment:
    phone = phone if phone in PHONE_INDEX else "SIL"  # +NSN+, +SPN+, ... are noise
    return PhoneSegment(
        phone, start_frame / DECODER_FRAMES_PER_SECOND, (start_frame + frames) / DECODER_FRAMES_PER_SECOND
    )


def _phone_loop(pcm: bytes) -> list[PhoneSegment]:
    decoder = _decoder()
    _run(decoder, pcm)
    return [_segment(s.word, s.start_frame, s.end_frame + 1 - s.start_frame) for s in decoder.seg()]
