"""What the phone decoding heard in the speech: the path it took, the words it recognised and the phones it decoded.

Under ``--language auto`` the word recogniser's phones are taken where its own confidence is high enough and the
phone loop's elsewhere (:func:`~talkhead.processing.phones.decode_phones`). Both give a mouth that moves, so which one
was taken cannot be seen in the video: :class:`HeardSpeech` says it, from the decoding that made the features, for
the pipelines' reports and the commands' summary line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WORDS = "words"
PHONE_LOOP = "phone loop"
WORD_DECODER = "words"  # the phone decoder that runs the word recogniser (talkhead.processing.phones.PHONE_DECODERS)
PHONES_SHOWN = 100  # the report's phone sequence is this long at most: an hour of speech has some 40 000
TEXT_SHOWN = 80  # characters of the words in the summary line
CONFIDENCES_SHOWN = 4  # pieces whose confidence the summary line lists; more are given as their range


@dataclass(frozen=True)
class HeardPiece:
    """One piece of the speech (:func:`~talkhead.processing.phones.speech_chunks`) as the word recogniser heard it."""

    start: float  # seconds into the speech
    end: float
    path: str  # WORDS: its phones are the recognised words'; PHONE_LOOP: the phone loop's
    confidence: float  # the recogniser's (:func:`~talkhead.processing.phones.word_confidence`), 0 without words
    text: str = ""  # the words recognised, where they were taken

    @property
    def took_words(self) -> bool:
        return self.path == WORDS


@dataclass(frozen=True)
class HeardSpeech:
    """What was heard in the speech, from the decoding that made the phone features.

    ``path`` is ``words``, ``phone loop`` or ``words in K of N pieces``; ``pieces`` are empty where the word
    recogniser did not run (the ``allphone`` or ``live`` decoder, or a language other than ``auto`` and ``en``)."""

    language: str  # as asked: auto, en, fr, ...
    path: str
    text: str  # the words recognised where they were taken, in order; "" where none were
    phone_count: int  # the phones decoded, silence not counted
    phones: str  # the first PHONES_SHOWN of them, space-separated, " ..." when there are more
    decoder: str  # the model's phone decoder: words, allphone or live
    min_confidence: float | None = None  # what a piece needed for its words; None: the recogniser did not run
    pieces: tuple[HeardPiece, ...] = ()

    def summary(self) -> str:
        """One line: ``heard (language auto -> words in 2 of 3 pieces; word confidence 0.61, 0.32, 0.58 (needs
        0.45)): "the words ..." (143 phones)``, or ``heard (language fr -> phone loop): 143 phones``."""
        how = f"language {self.language} -> {self.path}"
        if self.pieces:
            how += f"; word confidence {self._confidences()}"
        if self.decoder != WORD_DECODER:  # the language did not decide: the model never listens for words
            how += f"; the model's phone decoder is {self.decoder}"
        phones = f"{self.phone_count} phone{'s' * (self.phone_count != 1)}"
        if self.text:
            return f'heard ({how}): "{shorten(self.text, TEXT_SHOWN)}" ({phones})'
        return f"heard ({how}): {phones}"

    def _confidences(self) -> str:
        values = [piece.confidence for piece in self.pieces]
        if len(values) <= CONFIDENCES_SHOWN:
            listed = ", ".join(_hundredths(value) for value in values)
        else:
            listed = f"{_hundredths(min(values))} to {_hundredths(max(values))}"
        return listed + (f" (needs {self.min_confidence:.2f})" if self.min_confidence else "")


def _hundredths(confidence: float) -> str:
    """``confidence`` cut, not rounded, to two decimals: 0.449 shown as 0.45 beside "needs 0.45" would read as taken."""
    return f"{math.floor(round(confidence * 100, 6)) / 100:.2f}"  # round(.., 6): 0.58 * 100 is 57.99999999999999


def shorten(text: str, most: int) -> str:
    """``text`` cut at the last space within ``most`` characters, with "..." where it was cut."""
    if len(text) <= most:
        return text
    cut = text[: most + 1].rsplit(" ", 1)[0] if " " in text[: most + 1] else text[:most]
    return cut.rstrip() + " ..."


def heard_speech(
    language: str,
    decoder: str,
    segments,
    pieces: tuple[HeardPiece, ...] = (),
    min_confidence: float | None = None,
) -> HeardSpeech:
    """The :class:`HeardSpeech` of decoded ``segments`` (:class:`~talkhead.processing.phones.PhoneSegment`) and of
    the word recogniser's ``pieces``; the phone loop is the path where no piece took words (the whole speech then
    takes it)."""
    spoken = [segment.phone for segment in segments if segment.phone != "SIL"]
    taken = sum(piece.took_words for piece in pieces)
    if not taken:
        path = PHONE_LOOP
    elif taken == len(pieces):
        path = WORDS
    else:
        path = f"{WORDS} in {taken} of {len(pieces)} pieces"
    shown = " ".join(spoken[:PHONES_SHOWN]) + (" ..." if len(spoken) > PHONES_SHOWN else "")
    return HeardSpeech(
        language,
        path,
        " ".join(piece.text for piece in pieces if piece.took_words and piece.text),
        len(spoken),
        shown,
        decoder,
        None if min_confidence is None else float(min_confidence),
        tuple(pieces),
    )
