"""Phone features: frame fractions from decoded segments, and the bundled pocketsphinx decoder on real speech."""

from pathlib import Path

import numpy as np
import pytest

from talkhead.processing.phones import (
    NUM_PHONES,
    PHONE_INDEX,
    SILENCE,
    PhoneSegment,
    phones_available,
    segments_to_frames,
)

ROOT = Path(__file__).resolve().parents[2]


def test_segments_become_frame_fractions():
    segments = [PhoneSegment("SIL", 0.0, 0.05), PhoneSegment("AA", 0.05, 0.13), PhoneSegment("M", 0.13, 0.16)]
    frames = segments_to_frames(segments, 6, fps=25)
    assert frames.shape == (6, NUM_PHONES)
    np.testing.assert_allclose(frames.sum(1), 1, atol=1e-6)
    np.testing.assert_allclose(frames[0, [SILENCE, PHONE_INDEX["AA"]]], [1, 0], atol=1e-6)  # 0-40 ms: silence
    np.testing.assert_allclose(frames[1, [SILENCE, PHONE_INDEX["AA"]]], [0.25, 0.75], atol=1e-6)  # 40-80 ms
    np.testing.assert_allclose(frames[3, [PHONE_INDEX["AA"], PHONE_INDEX["M"]]], [0.25, 0.75], atol=1e-6)  # 120-160 ms
    assert frames[4:, SILENCE].min() == pytest.approx(1)  # past the decoded audio


@pytest.mark.skipif(not phones_available(), reason="pocketsphinx is not installed")
def test_example_speech_decodes_to_speech_phones():
    from talkhead.io.audio import load_audio
    from talkhead.processing.phones import decode_phones, phone_features

    wave = load_audio(ROOT / "examples" / "assets" / "speech.wav")
    segments = decode_phones(wave)
    spoken = {s.phone for s in segments} - {"SIL"}
    assert len(spoken) >= 10  # 6 s of English: many different phones
    assert all(0 <= a.start < a.end <= len(wave) / 16000 + 0.02 for a in segments)
    frames = phone_features(wave, 150)
    assert frames.shape == (150, NUM_PHONES) and 0.05 < frames[:, SILENCE].mean() < 0.8
    silence = phone_features(np.zeros(16000, np.float32), 25)
    assert silence[:, SILENCE].mean() > 0.9


@pytest.mark.skipif(not phones_available(), reason="pocketsphinx is not installed")
def test_word_decoder_gives_dictionary_phones_in_time_order():
    from talkhead.io.audio import load_audio
    from talkhead.processing.phones import decode_phones

    wave = load_audio(ROOT / "examples" / "assets" / "speech.wav")
    segments = decode_phones(wave, "words")
    spoken = [s for s in segments if s.phone != "SIL"]
    assert len({s.phone for s in spoken}) >= 10
    starts = [s.start for s in segments]
    assert starts == sorted(starts) and all(
        a.end <= b.start + 1e-6 for a, b in zip(segments, segments[1:], strict=False)
    )
    assert segments[-1].end <= len(wave) / 16000 + 0.02
    assert decode_phones(np.zeros(16000, np.float32), "words") == decode_phones(np.zeros(16000, np.float32))
    with pytest.raises(Exception, match="allphone"):
        decode_phones(wave, "graphemes")


def test_speech_is_cut_into_bounded_chunks_at_its_quietest_frames():
    from talkhead.processing.phones import speech_chunks

    rate = 16000
    wave = np.ones(75 * rate, np.float32)
    wave[int(25.5 * rate) : int(25.6 * rate)] = 0  # a pause in the last third of the first 30 s
    chunks = speech_chunks(wave, max_seconds=30)
    assert chunks[0][0] == 0 and abs(chunks[0][1] - 25.5 * rate) <= 640  # within a video frame of the pause
    assert all(stop - start <= 30 * rate for start, stop in chunks)
    assert [c[0] for c in chunks[1:]] == [c[1] for c in chunks[:-1]] and chunks[-1][1] == len(wave)
    assert speech_chunks(wave[: 6 * rate]) == [(0, 6 * rate)]  # the default pieces: at most WORD_CHUNK_SECONDS


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (0.3 * np.random.default_rng(seed).standard_normal(int(16000 * seconds))).clip(-1, 1).astype(np.float32)


def _noisy_speech() -> tuple[np.ndarray, np.ndarray]:
    """The example speech with a little room noise (which the old decoders' hidden state tipped over), and 5 s of
    loud noise."""
    from talkhead.io.audio import load_audio

    rng = np.random.default_rng(0)
    clean = load_audio(ROOT / "examples" / "assets" / "speech.wav")
    speech = np.clip(clean + 0.02 * rng.standard_normal(len(clean)), -1, 1).astype(np.float32)
    return speech, np.clip(0.3 * rng.standard_normal(5 * 16000), -1, 1).astype(np.float32)


@pytest.mark.skipif(not phones_available(), reason="pocketsphinx is not installed")
@pytest.mark.parametrize("decoder", ["allphone", "words"])
def test_phones_depend_only_on_the_speech_not_on_what_was_decoded_before(decoder):
    """The en-us model's noise removal must not carry its estimate from one utterance to the next: speech decoded
    after 5 s of noise would get other phones (and every mouth shape would change)."""
    from talkhead.processing.phones import decode_phones

    speech, noise = _noisy_speech()
    first = decode_phones(speech, decoder)
    decode_phones(speech[::-1].copy(), decoder)  # other speech-like audio
    decode_phones(noise, decoder)  # then loud noise, just before
    assert decode_phones(speech, decoder) == first


@pytest.mark.skipif(not phones_available(), reason="pocketsphinx is not installed")
def test_threads_decode_at_once_as_they_would_one_after_the_other():
    """Two threads sharing one decoder crashed (``Unable to set search None``) or swapped phones: each thread has its
    own (processing.per_thread)."""
    from concurrent.futures import ThreadPoolExecutor

    from talkhead.io.audio import load_audio
    from talkhead.processing.phones import decode_phones

    speech = load_audio(ROOT / "examples" / "assets" / "speech.wav")
    inputs = [(speech, "words"), (speech[16000:], "words"), (speech, "allphone"), (_noise(2.0, 1), "words")] * 2
    sequential = [decode_phones(wave, decoder) for wave, decoder in inputs]
    with ThreadPoolExecutor(4) as pool:
        concurrent = list(pool.map(lambda args: decode_phones(*args), inputs))
    assert concurrent == sequential


@pytest.mark.skipif(not phones_available(), reason="pocketsphinx is not installed")
def test_language_chooses_between_the_recognisers_words_and_the_phone_loop():
    from talkhead.errors import TalkheadInputError
    from talkhead.processing.phones import MIN_WORD_CONFIDENCE, decode_phones

    speech, noise = _noisy_speech()
    loop = decode_phones(speech, "allphone")
    assert decode_phones(speech, "words", language="fr") == loop  # not English: no English words
    assert decode_phones(speech, "words", language="en") != loop
    # loud noise is nothing the recogniser understands: auto falls back where en takes its guesses
    assert decode_phones(noise, "words", language="auto") == decode_phones(noise, "allphone")
    assert 0 < MIN_WORD_CONFIDENCE < 1
    with pytest.raises(TalkheadInputError, match="language must be"):
        decode_phones(speech, "words", language="French!")


def test_word_confidence_is_the_duration_weighted_posterior_of_words_only():
    from types import SimpleNamespace as S

    from talkhead.processing.phones import word_confidence

    segments = [
        S(word="<s>", prob=1.0, start_frame=0, end_frame=9),
        S(word="hello", prob=0.8, start_frame=10, end_frame=29),
        S(word="<sil>", prob=1.0, start_frame=30, end_frame=39),
        S(word="there(2)", prob=0.2, start_frame=40, end_frame=49),
    ]
    assert word_confidence(segments) == pytest.approx((0.8 * 20 + 0.2 * 10) / 30)
    assert word_confidence(segments[:1]) == 0.0


def test_words_the_aligner_refuses_keep_their_dictionary_phones_spread_over_their_frames():
    from types import SimpleNamespace as S

    from talkhead.processing.phones import _spread_word_phones

    dictionary = S(lookup_word={"fox": "F AA K S", "the(2)": "DH IY"}.get)
    words = [
        S(word="<s>", start_frame=0, end_frame=9),
        S(word="the(2)", start_frame=10, end_frame=19),
        S(word="fox", start_frame=20, end_frame=39),
        S(word="[NOISE]", start_frame=40, end_frame=44),
    ]
    speech = np.full(45 * 160, 0.1)
    segments = _spread_word_phones(dictionary, words, speech)
    assert [s.phone for s in segments] == ["SIL", "DH", "IY", "F", "AA", "K", "S", "SIL"]
    assert [round(s.start * 100) for s in segments] == [0, 10, 15, 20, 25, 30, 35, 40]
    assert segments[-1].end == pytest.approx(0.45)
    speech[20 * 160 :] = 0  # "fox" heard in digital silence
    assert [s.phone for s in _spread_word_phones(dictionary, words, speech)] == ["SIL", "DH", "IY", "SIL", "SIL"]
    assert _spread_word_phones(dictionary, words, np.zeros_like(speech)) == []  # no word: the phone loop decides
