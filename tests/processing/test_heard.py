"""What the phone decoding heard: the path taken (the recogniser's words or the phone loop) and why, the words and the
phones, from the decoding that made the features, in this process and from the workers alike."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from talkhead.processing.heard import PHONE_LOOP, WORDS, HeardPiece, heard_speech, shorten
from talkhead.processing.phones import PhoneSegment, phones_available

ROOT = Path(__file__).resolve().parents[2]
needs_pocketsphinx = pytest.mark.skipif(not phones_available(), reason="pocketsphinx is not installed")


def _segments(*phones: str) -> list[PhoneSegment]:
    return [PhoneSegment(phone, index / 10, (index + 1) / 10) for index, phone in enumerate(phones)]


def _piece(path: str, confidence: float, text: str = "") -> HeardPiece:
    return HeardPiece(0.0, 8.0, path, confidence, text)


def test_the_path_and_the_summary_line_say_what_was_taken_and_why():
    phones = _segments("SIL", "HH", "AH", "L", "OW", "SIL")
    mixed = heard_speech(
        "auto",
        "words",
        phones,
        (_piece(WORDS, 0.61, "hello there"), _piece(PHONE_LOOP, 0.4499), _piece(WORDS, 0.58, "friend")),
        0.45,
    )
    assert mixed.path == "words in 2 of 3 pieces" and mixed.text == "hello there friend"
    assert mixed.phone_count == 4 and mixed.phones == "HH AH L OW"  # silence is not a phone heard
    # 0.4499 is cut, not rounded: "0.45 (needs 0.45)" beside a phone loop would contradict itself
    assert mixed.summary() == (
        "heard (language auto -> words in 2 of 3 pieces; word confidence 0.61, 0.44, 0.58 (needs 0.45)): "
        '"hello there friend" (4 phones)'
    )
    loop = heard_speech("fr", "words", phones)
    assert loop.path == PHONE_LOOP and loop.pieces == () and loop.min_confidence is None
    assert loop.summary() == "heard (language fr -> phone loop): 4 phones"
    refused = heard_speech("auto", "words", phones, (_piece(PHONE_LOOP, 0.3), _piece(PHONE_LOOP, 0.2)), 0.45)
    assert refused.path == PHONE_LOOP and refused.text == ""
    assert refused.summary() == "heard (language auto -> phone loop; word confidence 0.30, 0.20 (needs 0.45)): 4 phones"
    always = heard_speech("en", "words", phones, (_piece(WORDS, 0.2, "hello"),), 0.0)
    assert always.summary() == 'heard (language en -> words; word confidence 0.20): "hello" (4 phones)'
    many = heard_speech("en", "words", phones, tuple(_piece(WORDS, c / 10, "a") for c in range(2, 8)), 0.0)
    assert "word confidence 0.20 to 0.70)" in many.summary()
    silence = heard_speech("auto", "allphone", _segments("SIL"))  # a model that never listens for words
    assert silence.summary() == "heard (language auto -> phone loop; the model's phone decoder is allphone): 0 phones"


def test_long_speech_is_reported_in_short():
    from talkhead.processing.heard import PHONES_SHOWN, TEXT_SHOWN

    heard = heard_speech("en", "words", _segments(*["AA"] * (PHONES_SHOWN + 5)), (_piece(WORDS, 0.6, "word " * 40),))
    assert heard.phone_count == PHONES_SHOWN + 5 and heard.phones.endswith("AA ...")
    assert len(heard.phones.split()) == PHONES_SHOWN + 1
    line = heard.summary()
    assert '"word word' in line and 'word ..." (105 phones)' in line and len(line) < TEXT_SHOWN + 80
    assert shorten("short enough", 80) == "short enough"
    assert shorten("one two three", 9) == "one two ..."  # cut between words
    assert shorten("abcdefghijkl", 5) == "abcde ..."  # one long word: cut inside it


def test_a_word_piece_crosses_the_worker_pipe_unchanged():
    from talkhead.processing.phone_tasks import TASKS

    task = TASKS["word_chunk_phones"]
    reply = (_segments("SIL", "HH", "AY"), HeardPiece(0.0, 7.84, WORDS, 0.5123456789, "hi"))
    fields, arrays = task.reply_to_message(reply)
    assert task.reply_from_message(fields, arrays) == reply


def _english_speech(seconds: float) -> np.ndarray:
    from talkhead.io.audio import load_audio

    return load_audio(ROOT / "examples" / "assets" / "speech.wav")[: int(seconds * 16000)]


@needs_pocketsphinx
def test_en_and_fr_on_the_same_speech_report_the_path_each_took():
    """The same English speech: ``en`` takes the recogniser's words, ``fr`` the phone loop; the report says so, where
    the video alone would not."""
    from talkhead.processing.phones import decode_speech, heard_phone_features, phone_features

    speech = _english_speech(2.0)
    _, english = decode_speech(speech, "words", "en")
    assert english.path == WORDS and english.text and english.language == "en"
    assert len(english.pieces) == 1 and english.pieces[0].took_words and english.pieces[0].text == english.text
    assert english.pieces[0].end == pytest.approx(2.0) and 0 < english.pieces[0].confidence <= 1
    assert english.summary().startswith("heard (language en -> words; word confidence ")
    features, french = heard_phone_features(speech, 50, 25.0, "words", "fr")
    assert french.path == PHONE_LOOP and french.text == "" and french.pieces == () and french.phone_count > 5
    assert french.summary() == f"heard (language fr -> phone loop): {french.phone_count} phones"
    assert np.array_equal(features, phone_features(speech, 50, 25.0, "words", "fr"))  # one decoding, both answers


@needs_pocketsphinx
def test_the_workers_hear_what_this_process_hears():
    from talkhead.processing import phone_worker
    from talkhead.processing.phones import heard_phone_features

    speech = _english_speech(2.0)
    for decoder, language in (("words", "auto"), ("allphone", "auto"), ("words", "fr")):
        pending = phone_worker.start_phone_features(speech, 50, 25.0, decoder, language)
        features, heard = pending.result_and_heard(50)
        here_features, here_heard = heard_phone_features(speech, 50, 25.0, decoder, language)
        assert np.array_equal(features, here_features) and heard == here_heard
        assert np.array_equal(pending.result(40), features[:40])


def _espeak(text: str, voice: str, folder: Path) -> np.ndarray:
    from talkhead.io.audio import load_audio

    path = folder / f"{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
    return load_audio(path)


@needs_pocketsphinx
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_french_speech_under_auto_says_why_it_took_the_phone_loop(tmp_path):
    """French heard as English words is refused under ``auto``: the features are those of ``fr``, and only the report
    tells the two apart (the recogniser ran, and its confidence was too low)."""
    from talkhead.processing.phones import MIN_WORD_CONFIDENCE, heard_phone_features

    french = _espeak("Bonjour à tous, il fait beau aujourd'hui.", "fr", tmp_path)
    auto_features, auto = heard_phone_features(french, 75, 25.0, "words", "auto")
    fr_features, fr = heard_phone_features(french, 75, 25.0, "words", "fr")
    assert np.array_equal(auto_features, fr_features)
    assert auto.path == fr.path == PHONE_LOOP and auto.phones == fr.phones
    assert auto.pieces and all(piece.confidence < MIN_WORD_CONFIDENCE for piece in auto.pieces) and not fr.pieces
    assert auto.summary() != fr.summary() and "(needs 0.45)" in auto.summary()
    _, en = heard_phone_features(french, 75, 25.0, "words", "en")
    assert en.path == WORDS and en.text  # en takes its English guesses all the same
