"""Phones of English speech at the video frame rate, from the acoustic model inside the ``pocketsphinx`` wheel.

Mouth shape is mostly a function of the phone being spoken. Learning that from 11 minutes of mel
spectrograms fails on new voices; a phone recogniser trained on hundreds of hours does the
speaker-independent part for us. This is how Rhubarb Lip Sync gets mouth shapes from any voice.

``pocketsphinx``'s "allphone" search with its bundled phone language model (``en-us-phone.lm.bin``)
decodes a phone sequence with 10 ms timings, about 20 times faster than real time on one core. Each
video frame gets the fraction of its span covered by each phone (a soft one-hot; :func:`phone_features`).
Noise and filler units count as silence.

``decoder="words"`` recognises the words first (the bundled English language model and CMU dictionary,
about 4 times faster than real time on one core) and then aligns their dictionary phones to the audio: the phones
of real words in their real order, which a phone loop often gets wrong; where no word is recognised it falls back
to the phone loop. :func:`decode_speech` also says what was heard (:mod:`.heard`). ``pocketsphinx`` is an optional
dependency (``pip install talkhead[phones]``); nothing is downloaded: the model ships inside the wheel.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace

import numpy as np

from .. import defaults
from ..errors import TalkheadInputError
from ..io.audio import SAMPLE_RATE
from .audio import SAMPLES_PER_FRAME, SILENCE_FLOOR_DBFS, VIDEO_FPS, frame_rms
from .heard import PHONE_LOOP, WORDS, HeardPiece, HeardSpeech, heard_speech
from .live_phones import decode_as_stream
from .per_thread import per_thread
from .phone_loop import (
    DECODER_FRAMES_PER_SECOND,
    NUM_PHONES,
    PHONE_INDEX,
    SILENCE,
    PhoneSegment,
    _import_pocketsphinx,
    _model_folder,
    _pcm,
    _phone_loop,
    _run,
    _segment,
)

PHONE_DECODERS = ("allphone", "words", "live")  # see decode_phones
LIVE_PHONE_DECODER = "live"
# the phone loop ("allphone" search): what `talkhead preprocess` stores in a dataset's phones column, and what a model
# with no phone_decoder setting reads (the mouth-sync expert, and a mouth-motion config that does not name one)
PHONE_LOOP_DECODER = "allphone"
DEFAULT_PHONE_DECODER = "words"  # new mouth-motion models' default: the shipped `mouth-motion` listens with it
# word recognition decodes at most this much at once: its memory grows with the utterance, and pieces decode in
# parallel (processing.phone_worker). Held-out lip-follow of the shipped model with 30 s pieces 0.4890, with 8 s
# 0.4913 (24 clips: the test split and the validation sources; RESULTS.md, "Word phones in pieces")
WORD_CHUNK_SECONDS = 8.0
DEFAULT_LANGUAGE = defaults.LANGUAGE  # see decode_phones
# below this mean word posterior the recogniser did not understand the piece. It does not separate languages
# cleanly (benchmarks/non_english.py, RESULTS.md): English test clips 0.20-0.71, the German one 0.31, espeak-ng French,
# Spanish, German and Mandarin 0.28-0.41 (its English 0.23). At 0.45 the German clip, every espeak voice and 2 of the
# 11 English test clips take the phone loop: test lip-follow 0.476 against 0.480 with words always, while the
# espeak voices' mouths follow their loudness better (French 0.256 against 0.224, Spanish 0.373 against 0.316)
MIN_WORD_CONFIDENCE = 0.45
_LANGUAGE_CODE = re.compile(r"^(auto|[a-z]{2,3}([-_][a-z0-9]+)*)$")


def phones_available() -> bool:
    """Whether the optional ``pocketsphinx`` package (and so :func:`decode_phones`) is installed."""
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        return False
    return True


@per_thread
def _word_decoder():
    """This thread's word recogniser (about 1 s to load); alignment switches its search, which :func:`_word_phones`
    switches back."""
    model = _model_folder()
    return _import_pocketsphinx().Decoder(
        hmm=os.path.join(model, "en-us"),
        lm=os.path.join(model, "en-us.lm.bin"),
        dict=os.path.join(model, "cmudict-en-us.dict"),
        samprate=SAMPLE_RATE,
        loglevel="FATAL",
    )


def check_language(language: str) -> str:
    """``language`` lower-cased, or a :class:`TalkheadInputError` naming what is accepted."""
    code = str(language).strip().lower()
    if not _LANGUAGE_CODE.match(code):
        raise TalkheadInputError(
            f"language must be 'auto', 'en' or another language code such as 'fr', got {language!r}"
        )
    return code


def decode_phones(
    wave: np.ndarray, decoder: str = PHONE_LOOP_DECODER, language: str = DEFAULT_LANGUAGE
) -> list[PhoneSegment]:
    """The phone sequence of 16 kHz mono speech ``wave`` (float in [-1, 1]), with start and end times.

    ``decoder``: ``allphone`` (a phone loop under the phone language model), ``words`` (words recognised,
    then their dictionary phones aligned to the audio; the phone loop where no word is heard) or ``live`` (the
    phone loop fed as a stream, as :class:`~talkhead.processing.live_phones.LivePhoneDecoder` hears it: its
    cepstral mean runs instead of being taken over the whole utterance).

    ``language`` matters to ``words`` only, whose recogniser knows English alone: ``en`` always takes its words;
    ``auto`` takes them where the recogniser's own confidence (:func:`word_confidence`) is at least
    :data:`MIN_WORD_CONFIDENCE` in a piece, and the phone loop elsewhere (French or Mandarin heard as English words
    gives English mouth shapes at the wrong times); any other code (``fr``, ``de``, ...) takes the phone loop.
    """
    return decode_speech(wave, decoder, language)[0]


def decode_speech(
    wave: np.ndarray, decoder: str = PHONE_LOOP_DECODER, language: str = DEFAULT_LANGUAGE
) -> tuple[list[PhoneSegment], HeardSpeech]:
    """(:func:`decode_phones`, what was heard: the path taken, the words, the phones, the recogniser's confidence)."""
    if decoder not in PHONE_DECODERS:
        raise TalkheadInputError(f"decode_phones: decoder must be one of {PHONE_DECODERS}, got {decoder!r}")
    language = check_language(language)
    pcm = _pcm(wave)
    segments: list[PhoneSegment] = []
    pieces: tuple[HeardPiece, ...] = ()
    minimum = None
    if pcm and decoder == LIVE_PHONE_DECODER:
        segments = decode_as_stream(wave)
    elif pcm:
        minimum = word_confidence_floor(decoder, language)
        if minimum is not None:
            segments, pieces = _word_phones_in_chunks(np.asarray(wave, np.float32), minimum)
        segments = segments or _phone_loop(pcm)
    return segments, heard_speech(language, decoder, segments, pieces, minimum)


def speech_chunks(wave: np.ndarray, max_seconds: float = WORD_CHUNK_SECONDS) -> list[tuple[int, int]]:
    """(start, stop) samples cutting ``wave`` into pieces of at most ``max_seconds``, each cut at the quietest
    video frame of the last third of its piece (between words, where a pause is)."""

    limit = int(max_seconds * SAMPLE_RATE)
    cuts, start = [], 0
    while len(wave) - start > limit:
        search_from = start + 2 * limit // 3
        frames = (start + limit - search_from) // SAMPLES_PER_FRAME
        rms = frame_rms(wave[search_from : search_from + frames * SAMPLES_PER_FRAME], frames)
        stop = search_from + int(np.argmin(rms)) * SAMPLES_PER_FRAME
        cuts.append((start, stop))
        start = stop
    return cuts + [(start, len(wave))]


def word_chunk_phones(piece: np.ndarray, min_confidence: float = 0.0) -> tuple[list[PhoneSegment], HeardPiece]:
    """One piece of :func:`speech_chunks` decoded: (its phones, how it was heard, from 0 s), the phone loop's where no
    word was. Pieces decode independently, so they can be decoded in parallel
    (:mod:`talkhead.processing.phone_worker`) and joined by :func:`join_word_chunks`."""
    pcm = _pcm(piece)
    chunk, text, confidence = _word_phones(pcm, min_confidence)
    seconds = len(piece) / SAMPLE_RATE
    if chunk:
        return chunk, HeardPiece(0.0, seconds, WORDS, confidence, text)
    return _phone_loop(pcm), HeardPiece(0.0, seconds, PHONE_LOOP, confidence)


def join_word_chunks(chunks: list[tuple[int, int]], decoded) -> tuple[list[PhoneSegment], tuple[HeardPiece, ...]]:
    """The pieces' phones (``decoded``: :func:`word_chunk_phones` of each of ``chunks``, in order) on one time line,
    and how each piece was heard, at its times in the speech; no phones when no piece has a recognised word (the
    whole speech then takes the phone loop)."""
    segments, pieces = [], []
    for (start, stop), (chunk, piece) in zip(chunks, decoded, strict=True):
        offset = start / SAMPLE_RATE
        segments += [PhoneSegment(c.phone, c.start + offset, c.end + offset) for c in chunk]
        pieces.append(replace(piece, start=round(offset, 3), end=round(stop / SAMPLE_RATE, 3)))
    return (segments if any(piece.took_words for piece in pieces) else []), tuple(pieces)


def _word_phones_in_chunks(
    wave: np.ndarray, min_confidence: float = 0.0
) -> tuple[list[PhoneSegment], tuple[HeardPiece, ...]]:
    """:func:`_word_phones` over :func:`speech_chunks` of ``wave``: memory and time stay linear (decoded whole,
    300 s of speech took the lip-sync pipeline to 2.8 GB); no phones when no piece has a recognised word. Pieces are
    never empty (each cut lies inside its piece's last third)."""
    chunks = speech_chunks(wave)
    return join_word_chunks(chunks, [word_chunk_phones(wave[start:stop], min_confidence) for start, stop in chunks])


def word_confidence_floor(decoder: str, language: str) -> float | None:
    """The recogniser's confidence a piece needs for its words (:func:`decode_phones`), or ``None`` when ``decoder``
    and ``language`` take the phone loop alone."""
    if decoder != "words" or language not in ("auto", "en"):
        return None
    return MIN_WORD_CONFIDENCE if language == "auto" else 0.0


def _is_word(token: str) -> bool:
    return not token.startswith(("<", "[", "+"))  # <s>, <sil>, [NOISE], +SPN+ are not words


def word_confidence(segments) -> float:
    """The recogniser's mean posterior probability of its words (pocketsphinx ``Segment.prob``), weighted by their
    duration; 0 without words. Near 0.5-0.7 on English speech, near 0.3 on speech it does not know."""
    words = [s for s in segments if _is_word(s.word)]
    frames = np.array([s.end_frame + 1 - s.start_frame for s in words], np.float64)
    return float(np.dot([s.prob for s in words], frames) / frames.sum()) if words else 0.0


def _word_phones(pcm: bytes, min_confidence: float = 0.0) -> tuple[list[PhoneSegment], str, float]:
    """Recognise the words, then align their dictionary phones (two more passes): (the phones, the words, the
    recogniser's :func:`word_confidence`); no phones when no word is heard, or when the confidence is below
    ``min_confidence``."""
    recogniser = _word_decoder()
    recogniser.activate_search()  # the language-model search it was made with (the last alignment left another)
    _run(recogniser, pcm)
    hypothesis = recogniser.hyp()
    text = hypothesis.hypstr.strip() if hypothesis is not None else ""
    words = list(recogniser.seg())
    confidence = word_confidence(words)
    if not text or confidence < min_confidence:
        return [], text, confidence
    try:
        recogniser.set_align_text(text)
        _run(recogniser, pcm)
        recogniser.set_alignment()
        _run(recogniser, pcm)
        alignment = recogniser.get_alignment()
        segments = [_segment(phone.name, phone.start, phone.duration) for word in alignment or [] for phone in word]
    except RuntimeError:
        # the state-level pass fails to finish on about one 30 s piece of real English in seven (6 of the 45 train
        # clips): the recogniser's own word times, each word's phones spread evenly over it, beat the phone loop
        segments = []
    return segments or _spread_word_phones(recogniser, words, np.frombuffer(pcm, np.int16) / 32767.0), text, confidence


def _spread_word_phones(recogniser, words, wave: np.ndarray) -> list[PhoneSegment]:
    """Each recognised word's dictionary phones in equal shares of the word's frames; silence, fillers, noise and
    words heard where ``wave`` is below the absolute silence floor (the recogniser hears "dog", sure of it, in
    digital silence) as ``SIL``; [] when that leaves no word."""
    samples = SAMPLE_RATE // DECODER_FRAMES_PER_SECOND
    segments = []
    for word in words:
        span = wave[word.start_frame * samples : (word.end_frame + 1) * samples]
        audible = span.size and 20 * np.log10(max(np.sqrt(np.mean(span**2)), 1e-9)) >= SILENCE_FLOOR_DBFS
        pronunciation = recogniser.lookup_word(word.word) if _is_word(word.word) and audible else None
        names = pronunciation.split() if pronunciation else ["SIL"]
        edges = [int(e) for e in np.linspace(word.start_frame, word.end_frame + 1, len(names) + 1).round()]
        segments += [
            _segment(name, start, stop - start)
            for name, start, stop in zip(names, edges[:-1], edges[1:], strict=False)
            if stop > start
        ]
    return segments if any(s.phone != "SIL" for s in segments) else []  # no word heard: as the recogniser's none


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


def phone_features(
    wave: np.ndarray,
    num_frames: int,
    fps: float = VIDEO_FPS,
    decoder: str = PHONE_LOOP_DECODER,
    language: str = DEFAULT_LANGUAGE,
) -> np.ndarray:
    """(num_frames, NUM_PHONES): the phones of ``wave`` (16 kHz) at ``fps``, as soft one-hots (``decoder`` and
    ``language``: see :func:`decode_phones`)."""
    return segments_to_frames(decode_phones(wave, decoder, language), num_frames, fps)


def heard_phone_features(
    wave: np.ndarray, num_frames: int, fps: float, decoder: str, language: str = DEFAULT_LANGUAGE
) -> tuple[np.ndarray, HeardSpeech]:
    """(:func:`phone_features`, what was heard: :func:`decode_speech`), from one decoding."""
    segments, heard = decode_speech(wave, decoder, language)
    return segments_to_frames(segments, num_frames, fps), heard
