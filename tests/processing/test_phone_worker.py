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
    assert pending.future is not None  # decoded in the worker, not here
    here = phone_features(wave, 50, 25.0, decoder, "auto")
    assert np.array_equal(pending.result(50), here)
    assert np.array_equal(pending.result(30), here[:30])  # fewer frames: the first rows


def test_the_caller_is_free_while_the_worker_decodes():
    wave = speech_like(6.0, seed=5)
    phone_worker.start_phone_features(wave[:16000], 25, 25.0, "words").result(25)  # the worker is up
    pending = phone_worker.start_phone_features(wave, 150, 25.0, "words")
    started, spins = time.perf_counter(), 0
    while not pending.future.done():
        spins += 1  # pure Python work, which a thread beside pocketsphinx would hardly get to do
    waited = time.perf_counter() - started
    assert waited > 0.2 and spins / waited > 1e5


def test_without_a_worker_the_phones_are_decoded_here(monkeypatch):
    wave = speech_like(1.0, seed=6)
    monkeypatch.setattr(phone_worker, "IN_PROCESS", False)
    pending = phone_worker.start_phone_features(wave, 25, 25.0, "allphone")
    assert pending.future is None
    assert np.array_equal(pending.result(25), phone_features(wave, 25, 25.0, "allphone"))
