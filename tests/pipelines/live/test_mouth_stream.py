"""The streamable mouth-motion model, the running mel mean, live phones and the per-frame mouth stream."""

import numpy as np
import pytest
import torch

from talkhead.errors import TalkheadInputError
from talkhead.models.mouth_motion import MouthMotionConfig, MouthMotionModel
from talkhead.models.mouth_motion.feature_extraction_mouth_motion import MouthMotionFeatureExtractor, RunningMelMean
from talkhead.pipelines.live.mouth_stream import (
    BACKGROUND_DELAY_FRAMES,
    MIN_NASAL_HISTORY,
    NASAL_SHUT_PERCENTILE,
    MouthShapeStream,
)
from talkhead.processing import phone_worker
from talkhead.processing.live_phones import (
    SETTLED_SECONDS,
    WINDOW_SECONDS,
    LivePhoneDecoder,
    WindowPhoneDecoder,
    decode_as_stream,
)
from talkhead.processing.mouth import keep_lips_apart
from talkhead.processing.phones import PHONE_INDEX, PhoneSegment, decode_phones, phones_available, segments_to_frames
from tests.conftest import speech_like


def _streamable(look_ahead=2, **overrides) -> MouthMotionModel:
    torch.manual_seed(0)
    config = MouthMotionConfig.from_preset_or_file(
        "tiny", look_ahead=look_ahead, mel_normalization="running", phone_decoder="live", **overrides
    )
    return MouthMotionModel(config).eval()


@pytest.mark.parametrize("look_ahead", [0, 2, 3])
def test_a_prediction_reads_only_its_window(look_ahead):
    model = _streamable(look_ahead)
    config = model.config
    features = np.random.default_rng(0).standard_normal((30, config.input_size)).astype(np.float32)
    t = 15
    base = model.predict(features)[t]
    assert np.allclose(model.predict_frame(features, t), base, atol=1e-5)  # one frame at a time, as a stream
    changed = features.copy()
    changed[t + look_ahead + 1 :] = 9.0
    changed[: max(t - config.frames_before, 0)] = 7.0
    assert np.allclose(model.predict(changed)[t], base, atol=1e-5)
    if look_ahead:  # the last future frame it may read does reach it
        reached = features.copy()
        reached[t + look_ahead] += 5.0
        assert not np.allclose(model.predict(reached)[t], base, atol=1e-5)


def test_the_offline_model_still_reads_both_sides():
    config = MouthMotionConfig.from_preset_or_file("tiny")
    assert config.frames_before == config.frames_after == config.receptive_frames


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"look_ahead": 99}, "look_ahead=99"),
        ({"mel_normalization": "running"}, "set look_ahead too"),
        ({"look_ahead": 1, "mel_normalization": "running", "mel_prior": [0.0] * 3}, "mel_prior has 3 values"),
    ],
)
def test_bad_streaming_settings_are_refused(overrides, words):
    with pytest.raises(ValueError, match=words):
        MouthMotionConfig.from_preset_or_file("tiny", **overrides)


def test_the_running_mean_starts_at_the_prior_and_ignores_silence():
    prior = np.full(80, -1.0)
    running = RunningMelMean(prior)
    silent = running.normalize(np.full(80, -4.0), speaking=False)
    assert np.allclose(silent, -3.0) and np.allclose(running.mean, prior)
    running.normalize(np.zeros(80), speaking=True)
    assert np.all(running.mean > -1.0)


def test_running_features_of_a_prefix_are_the_prefix_of_the_features():
    extractor = MouthMotionFeatureExtractor(use_phones=False, mel_normalization="running", mel_prior=[-1.0] * 80)
    wave = speech_like(3.0)
    whole = extractor(wave, 75, 25)
    part = extractor(wave[: 40 * 640], 40, 25)
    assert np.allclose(whole[:35], part[:35], atol=1e-5)  # a running mean has no future


needs_phones = pytest.mark.skipif(not phones_available(), reason="pocketsphinx is not installed")


@needs_phones
def test_live_phones_arrive_as_the_speech_does():
    wave = speech_like(3.0)
    decoder = LivePhoneDecoder()
    decoder.push(wave[:16000])
    early = decoder.segments()
    decoder.push(wave[16000:])
    final = decoder.close()
    assert early and max(s.end for s in early) <= 1.0 + 1e-6
    assert final[-1].end > 2.5
    assert all(a.end <= b.start + 1e-6 for a, b in zip(final, final[1:], strict=False))
    assert decode_phones(wave, "live") == decode_as_stream(wave)


@needs_phones
def test_window_phones_settle_and_keep_a_bounded_window():
    wave = speech_like(6.0)
    decoder = WindowPhoneDecoder()
    assert decoder.segments() == []
    snapshots = []
    for start in range(0, len(wave), 640):
        decoder.push(wave[start : start + 640])
        snapshots.append((decoder.heard / 16000, decoder.segments()))
        assert len(decoder._audio) <= WINDOW_SECONDS * 16000
    now, final = snapshots[-1]
    assert final[-1].end > now - 0.3 and all(a.end <= b.start + 1e-6 for a, b in zip(final, final[1:], strict=False))
    for then, seen in snapshots[::10]:  # what had settled then is still there, unchanged
        settled = [s for s in seen if s.end <= then - SETTLED_SECONDS - 0.2]
        assert all(s in final for s in settled if s.end > now - 10)


def _window_snapshots(decoder, wave, wait=False):
    snapshots = []
    for start in range(0, len(wave), 640):
        decoder.push(wave[start : start + 640])
        if wait:
            decoder.wait()
        snapshots.append(decoder.segments())
    return snapshots


@needs_phones
def test_window_phones_decoded_in_a_worker_are_those_decoded_here():
    wave = speech_like(2.0)
    here = _window_snapshots(WindowPhoneDecoder(), wave)
    worker = WindowPhoneDecoder(start_decoding=phone_worker.start_phone_loop)
    assert _window_snapshots(worker, wave, wait=True) == here and len(here[-1]) > 5


@needs_phones
def test_window_phones_are_decoded_here_where_no_worker_can_run(monkeypatch):
    monkeypatch.setattr(phone_worker, "IN_PROCESS", False)
    wave = speech_like(1.5)
    elsewhere = WindowPhoneDecoder(start_decoding=phone_worker.start_phone_loop)
    assert _window_snapshots(elsewhere, wave) == _window_snapshots(WindowPhoneDecoder(), wave)


@needs_phones
def test_live_phones_can_be_read_before_any_speech_and_between_utterances():
    decoder = LivePhoneDecoder()
    assert decoder.segments() == []
    decoder.push(speech_like(1.0))
    decoder.end_utterance()
    heard = decoder.segments()
    assert heard and decoder.segments() == heard  # the next utterance has no path yet
    decoder.push(speech_like(1.0, seed=1))
    assert decoder.segments()[-1].end > 1.5


def _stream_frames(model, wave, sizes, visemes=True, background_phones=False):
    mean, closed = np.zeros((20, 2)), np.zeros((20, 2))
    closed[:, 0] = np.linspace(-0.5, 0.5, 20)
    stream = MouthShapeStream(model, mean + closed * 1.1, closed, visemes, background_phones)
    frames, position, index = [], 0, 0
    while position < len(wave):
        size = sizes[index % len(sizes)]
        frames += stream.push(wave[position : position + size])
        position, index = position + size, index + 1
    return frames, stream


def test_the_mouth_stream_does_not_depend_on_how_the_speech_is_cut():
    model = _streamable(2, use_phones=False)  # without phones: live phones are provisional until heard out
    wave = speech_like(2.0)
    one, stream = _stream_frames(model, wave, [320], visemes=False)
    other, _ = _stream_frames(model, wave, [1000, 37, 6400], visemes=False)
    assert len(one) == len(other) == 50 - stream.delay_frames - 1
    assert [f.index for f in one] == list(range(len(one)))
    for a, b in zip(one, other, strict=True):
        assert np.allclose(a.shape, b.shape, atol=1e-6) and a.shut == pytest.approx(b.shut)


def test_the_streamed_model_input_is_the_offline_one():
    model = _streamable(2, use_phones=False)
    wave = speech_like(2.0)
    frames, stream = _stream_frames(model, wave, [640], visemes=False)
    features = MouthMotionFeatureExtractor.from_config(model.config)(wave, 50, 25)
    offline = model.predict(features)  # the stream's frames are past the offline clip's end padding
    rest = np.zeros((20, 2))
    rest[:, 0] = np.linspace(-0.5, 0.5, 20) * 1.1
    expected = keep_lips_apart(rest + offline)
    for frame in frames:
        if frame.shut == 0:
            assert np.allclose(frame.shape, expected[frame.index], atol=1e-4)


@needs_phones
def test_silence_shuts_the_streamed_mouth():
    model = _streamable(2)
    frames, _ = _stream_frames(model, np.zeros(32000, np.float32), [640])
    assert all(f.shut == 1.0 for f in frames[3:])
    assert np.allclose(frames[-1].shape[:, 0], np.linspace(-0.5, 0.5, 20), atol=1e-6)


@needs_phones
def test_a_stream_whose_phones_decode_in_a_worker_holds_one_frame_more():
    model = _streamable(2)
    wave = speech_like(2.0)
    here, inline = _stream_frames(model, wave, [320])
    there, background = _stream_frames(model, wave, [320], background_phones=True)
    assert background.delay_frames == inline.delay_frames + BACKGROUND_DELAY_FRAMES
    assert len(there) == len(here) - BACKGROUND_DELAY_FRAMES
    assert [f.index for f in there] == list(range(len(there)))


@pytest.mark.parametrize(
    ("opening", "history", "heard_as_m"),
    [(0.05, 60, True), (0.35, 60, False), (0.05, MIN_NASAL_HISTORY - 1, False)],
)
def test_a_nasal_is_taken_as_an_m_where_the_models_lips_are_near_shut(opening, history, heard_as_m):
    stream = MouthShapeStream(_streamable(2), np.zeros((20, 2)), np.zeros((20, 2)), visemes=False)
    t = 80
    past = np.linspace(0.1, 0.4, history)  # the voiced frames' openings just before t
    stream._voiced_openings = {t - history + i: float(value) for i, value in enumerate(past)}
    stream._voiced_openings[t] = opening
    assert (opening <= np.percentile(past, NASAL_SHUT_PERCENTILE)) == (opening == 0.05)  # the cases mean what they say
    first = t - 10
    phones = segments_to_frames([PhoneSegment("N", 9 / 25, 12 / 25)], 14, 25)  # frames t - 1 to t + 1
    read = stream._lip_read_nasals(phones, t, first)
    assert (read[t - first, PHONE_INDEX["M"]] == 1.0) == heard_as_m
    assert read[t + 1 - first, PHONE_INDEX["N"]] == 1.0  # a frame not yet made keeps its nasal
    later = stream._lip_read_nasals(phones, t + 1, first)  # the decision holds for the frames made after it
    assert (later[t - first, PHONE_INDEX["M"]] == 1.0) == heard_as_m


def test_an_offline_model_cannot_stream():
    with pytest.raises(TalkheadInputError, match="streamable mouth-motion model"):
        MouthShapeStream(
            MouthMotionModel(MouthMotionConfig.from_preset_or_file("tiny")), np.zeros((20, 2)), np.zeros((20, 2))
        )
