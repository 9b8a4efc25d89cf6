"""Phones decoded in the worker process equal the phones decoded here, and the caller keeps working meanwhile."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("pocketsphinx")

from talkhead.processing import phone_worker  # noqa: E402
from talkhead.processing.phones import phone_features  # noqa: E402

from ..conftest import speech_like  # noqa: E402


@pytest.mark.parametrize("decoder", ["allphone", "words"])
def test_the_worker_gives_the_phones_of_this_process(decoder):
    wave = speech_like(2.0, seed=4)
    pending = phone_worker.start_phone_features(wave, 50, 25.0, decoder, "auto")
    assert pending.in_workers()  # decoded in the workers, not here
    here = phone_features(wave, 50, 25.0, decoder, "auto")
    assert np.array_equal(pending.result(50), here)
    assert np.array_equal(pending.result(30), here[:30])  # fewer frames: the first rows


def test_the_caller_is_free_while_the_worker_decodes():
    wave = speech_like(6.0, seed=5)
    phone_worker.start_phone_features(wave[:16000], 25, 25.0, "words").result(25)  # the worker is up
    pending = phone_worker.start_phone_features(wave, 150, 25.0, "words")
    started, spins = time.perf_counter(), 0
    while not pending.done():
        spins += 1  # pure Python work, which a thread beside pocketsphinx would hardly get to do
    waited = time.perf_counter() - started
    assert waited > 0.2 and spins / waited > 1e5


def test_without_a_worker_the_phones_are_decoded_here(monkeypatch):
    wave = speech_like(1.0, seed=6)
    monkeypatch.setattr(phone_worker, "IN_PROCESS", False)
    pending = phone_worker.start_phone_features(wave, 25, 25.0, "allphone")
    assert pending.futures == [None]
    assert np.array_equal(pending.result(25), phone_features(wave, 25, 25.0, "allphone"))


def test_word_pieces_decode_in_parallel_and_join_as_here():
    """20 s of speech is three pieces (at most 8 s each, cut at the quietest frame), sent to the workers in turn;
    joined, they are the caller's own phones, and what each piece was heard as is the caller's too."""
    from talkhead.processing.phones import heard_phone_features, speech_chunks

    wave = np.concatenate([speech_like(7.0, seed=7), np.zeros(8000, np.float32), speech_like(12.5, seed=8)])
    pending = phone_worker.start_phone_features(wave, 500, 25.0, "words", "en")
    chunks = speech_chunks(wave)
    assert len(chunks) == len(pending.futures) >= 3 and pending.in_workers()
    features, heard = pending.result_and_heard(500)
    here, heard_here = heard_phone_features(wave, 500, 25.0, "words", "en")
    assert np.array_equal(features, here) and heard == heard_here
    assert [(piece.start, piece.end) for piece in heard.pieces] == [
        (round(start / 16000, 3), round(stop / 16000, 3)) for start, stop in chunks
    ]
