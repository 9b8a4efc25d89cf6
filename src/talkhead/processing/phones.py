"""Phones of English speech at the video frame rate, from the acoustic model inside the ``pocketsphinx`` wheel.

Mouth shape is mostly a function of the phone being spoken. Learning that from 11 minutes of mel
spectrograms fails on new voices (issue #14); a phone recogniser trained on hundreds of hours does the
speaker-independent part for us. This is how Rhubarb Lip Sync gets mouth shapes from any voice.

``pocketsphinx``'s "allphone" search with its bundled phone language model (``en-us-phone.lm.bin``)
decodes a phone sequence with 10 ms timings, about 20 times faster than real time on one core. Each
video frame gets the fraction of its span covered by each phone (a soft one-hot; :func:`phone_features`).
Noise and filler units count as silence.

``decoder="words"`` recognises the words first (the bundled English language model and CMU dictionary,
about 4 times faster than real time on one core) and then aligns their dictionary phones to the audio: the phones of real
words in their real order, which a phone loop often gets wrong; where no word is recognised it falls back
to the phone loop. ``pocketsphinx`` is an optional dependency
(``pip install talkhead[phones]``); nothing is downloaded: the model ships inside the wheel.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import TalkheadInputError
from .audio import SAMPLE_RATE, SAMPLES_PER_FRAME, VIDEO_FPS
from .per_thread import per_thread

# the 39 ARPAbet phones of CMUdict and pocketsphinx's en-us model, then silence; the order is part of
# every checkpoint that reads these features: append, never reorder
PHONES = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY", "JH",
    "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH", "SIL",
)
PHONE_INDEX = {phone: index for index, phone in enumerate(PHONES)}
SILENCE = PHONE_INDEX["SIL"]
NUM_PHONES = len(PHONES)
DECODER_FRAMES_PER_SECOND = 100  # pocketsphinx's default frame rate (10 ms)
PHONE_DECODERS = ("allphone", "words")  # see decode_phones
DEFAULT_PHONE_DECODER = "allphone"  # what a model saved before the choice existed was trained with
WORD_CHUNK_SECONDS = 30.0  # word recognition decodes at most this much at once (its memory grows with the utterance)


@dataclass(frozen=True)
class PhoneSegment:
    """One decoded phone: ``phone`` from ``start`` to ``end`` seconds (end exclusive)."""

    phone: str
    start: float
    end: float


def phones_available() -> bool:
    """Whether the optional ``pocketsphinx`` package (and so :func:`decode_phones`) is installed."""
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        return False
    return True


def _import_pocketsphinx():
    try:
        import pocketsphinx
    except ImportError as err:
        raise TalkheadInputError(
            "phone features need the optional 'pocketsphinx' package: pip install 'talkhead[phones]'") from err
    return pocketsphinx


def _model_folder() -> str:
    return os.path.join(_import_pocketsphinx().get_model_path(), "en-us")


@per_thread  # a decoder is not safe to share between threads (processing.per_thread)
def _decoder():
    """This thread's phone-loop decoder."""
    model = _model_folder()
    # wide beams: allphone search is cheap, and pruning only loses phones
    return _import_pocketsphinx().Decoder(
        hmm=os.path.join(model, "en-us"), allphone=os.path.join(model, "en-us-phone.lm.bin"),
        lw=2.0, beam=1e-10, pbeam=1e-10, samprate=SAMPLE_RATE, loglevel="FATAL")


@per_thread
def _word_decoder():
    """This thread's word recogniser (about 1 s to load); alignment switches its search, which :func:`_word_phones`
    switches back."""
    model = _model_folder()
    return _import_pocketsphinx().Decoder(
        hmm=os.path.join(model, "en-us"), lm=os.path.join(model, "en-us.lm.bin"),
        dict=os.path.join(model, "cmudict-en-us.dict"), samprate=SAMPLE_RATE, loglevel="FATAL")


def _pcm(wave: np.ndarray) -> bytes:
    wave = np.asarray(wave, np.float32)
    if wave.ndim != 1:
        raise TalkheadInputError(f"decode_phones needs a mono 16 kHz waveform (1-D), got shape {wave.shape}")
    return (np.clip(wave, -1.0, 1.0) * 32767).astype(np.int16).tobytes()


def _run(decoder, pcm: bytes) -> None:
    """One pass over ``pcm`` that depends on nothing decoded before. The en-us model's ``feat.params`` turns on
    noise removal (``-remove_noise yes``, which overrides a ``remove_noise=False`` argument), and its noise estimate
    carried over from one utterance to the next: speech decoded after 5 s of noise got other phones than the same
    speech decoded first (issue #23). ``reinit_feat`` rebuilds only the feature front end (about 0.1 ms), so every
    pass, the three of word alignment included, starts from the same state."""
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def _segment(phone: str, start_frame: int, frames: int) -> PhoneSegment:
    phone = phone if phone in PHONE_INDEX else "SIL"  # +NSN+, +SPN+, ... are noise
    return PhoneSegment(phone, start_frame / DECODER_FRAMES_PER_SECOND, (start_frame + frames) / DECODER_FRAMES_PER_SECOND)


def decode_phones(wave: np.ndarray, decoder: str = DEFAULT_PHONE_DECODER) -> list[PhoneSegment]:
    """The phone sequence of 16 kHz mono speech ``wave`` (float in [-1, 1]), with start and end times.

    ``decoder``: ``allphone`` (a phone loop under the phone language model) or ``words`` (words recognised,
    then their dictionary phones aligned to the audio; the phone loop where no word is heard).
    """
    if decoder not in PHONE_DECODERS:
        raise TalkheadInputError(f"decode_phones: decoder must be one of {PHONE_DECODERS}, got {decoder!r}")
    pcm = _pcm(wave)
    if not pcm:
        return []
    if decoder == "words":
        segments = _word_phones_in_chunks(np.asarray(wave, np.float32), pcm)
        if segments:
            return segments
    return _phone_loop(pcm)


def _phone_loop(pcm: bytes) -> list[PhoneSegment]:
    decoder = _decoder()
    _run(decoder, pcm)
    return [_segment(s.word, s.start_frame, s.end_frame + 1 - s.start_frame) for s in decoder.seg()]


def speech_chunks(wave: np.ndarray, max_seconds: float = WORD_CHUNK_SECONDS) -> list[tuple[int, int]]:
    """(start, stop) samples cutting ``wave`` into pieces of at most ``max_seconds``, each cut at the quietest
    video frame of the last third of its piece (between words, where a pause is)."""
    from .audio import frame_rms

    limit = int(max_seconds * SAMPLE_RATE)
    cuts, start = [], 0
    while len(wave) - start > limit:
        search_from = start + 2 * limit // 3
        frames = (start + limit - search_from) // SAMPLES_PER_FRAME
        rms = frame_rms(wave[search_from: search_from + frames * SAMPLES_PER_FRAME], frames)
        stop = search_from + int(np.argmin(rms)) * SAMPLES_PER_FRAME
        cuts.append((start, stop))
        start = stop
    return cuts + [(start, len(wave))]


def _word_phones_in_chunks(wave: np.ndarray, pcm: bytes) -> list[PhoneSegment]:
    """:func:`_word_phones` over :func:`speech_chunks` of ``wave`` (``pcm`` its 16-bit samples): memory and time stay
    linear (decoded whole, 300 s of speech took the lip-sync pipeline to 2.8 GB); [] when no piece has a recognised
    word. Pieces are never empty (each cut lies inside its piece's last third)."""
    segments, heard = [], False
    for start, stop in speech_chunks(wave):
        piece = pcm[2 * start: 2 * stop]  # int16: two bytes a sample
        chunk = _word_phones(piece)
        heard |= bool(chunk)
        if not chunk:  # no word heard here: this piece's phone loop
            chunk = _phone_loop(piece)
        offset = start / SAMPLE_RATE
        segments += [PhoneSegment(c.phone, c.start + offset, c.end + offset) for c in chunk]
    return segments if heard else []


def _word_phones(pcm: bytes) -> list[PhoneSegment]:
    """Recognise the words, then align their dictionary phones (two more passes); [] when no word is heard."""
    recogniser = _word_decoder()
    recogniser.activate_search()  # the language-model search it was made with (the last alignment left another)
    _run(recogniser, pcm)
    hypothesis = recogniser.hyp()
    text = hypothesis.hypstr.strip() if hypothesis is not None else ""
    if not text:
        return []
    try:
        recogniser.set_align_text(text)
        _run(recogniser, pcm)
        recogniser.set_alignment()
        _run(recogniser, pcm)
        alignment = recogniser.get_alignment()
        segments = [_segment(phone.name, phone.start, phone.duration) for word in alignment or [] for phone in word]
    except RuntimeError:  # a word the aligner refuses: keep the phone loop's answer
        segments = []
    return segments


def segments_to_frames(segments: list[PhoneSegment], num_frames: int, fps: float = VIDEO_FPS) -> np.ndarray:
    """(num_frames, NUM_PHONES) float32: the fraction of each video frame's span [t/fps, (t+1)/fps) that each
    phone covers. Frames no segment covers (past the decoded audio) are silence; rows sum to 1."""
    features = np.zeros((num_frames, NUM_PHONES), np.float32)
    for segment in segments:
        first, last = int(np.floor(segment.start * fps)), int(np.ceil(segment.end * fps))
        column = PHONE_INDEX[segment.phone]
        for frame in range(max(first, 0), min(last, num_frames)):
            overlap = min(segment.end, (frame + 1) / fps) - max(segment.start, frame / fps)
            if overlap > 0:
                features[frame, column] += overlap * fps
    features[:, SILENCE] += np.clip(1.0 - features.sum(1), 0.0, None)
    return features / features.sum(1, keepdims=True)


def phone_features(wave: np.ndarray, num_frames: int, fps: float = VIDEO_FPS,
                   decoder: str = DEFAULT_PHONE_DECODER) -> np.ndarray:
    """(num_frames, NUM_PHONES): the phones of ``wave`` (16 kHz) at ``fps``, as soft one-hots (``decoder``: see
    :func:`decode_phones`)."""
    return segments_to_frames(decode_phones(wave, decoder), num_frames, fps)
