import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from talkhead.errors import EmptyAudioError, MediaDecodeError, NoAudioError
from talkhead.io import audio as audio_io
from talkhead.io.audio import stream_audio
from talkhead.processing import audio as A

from ..conftest import face_frame, speech_like, write_av, write_wav
from .psf_reference import psf_mfcc


def tone(freq: float, seconds: float, rate: int) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def dominant_frequency(wave: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize("num_frames", [1, 5, 24, 25, 101])
def test_logfbank_has_exactly_four_frames_per_video_frame(num_frames):
    wave = speech_like(num_frames / 25)
    feats = A.logfbank26(wave, num_frames)
    assert feats.shape == (4 * num_frames, 26)
    assert feats.dtype == np.float32
    assert np.isfinite(feats).all()


def test_logfbank_reflect_pads_short_audio_and_truncates_long_audio():
    wave = speech_like(1.0)  # 16000 samples: 1 + ceil((16000 - 400) / 160) = 99 raw frames
    natural = A.logfbank26(wave)
    assert natural.shape[0] == 100
    longer = A.logfbank26(wave, 30)
    assert longer.shape == (120, 26)
    np.testing.assert_array_equal(longer[:100], natural)
    # rows past the 99th reflect the raw frames, excluding the edge row: 99 -> 97, 100 -> 96
    np.testing.assert_array_equal(longer[99], natural[97])
    np.testing.assert_array_equal(longer[100], natural[96])
    np.testing.assert_array_equal(A.logfbank26(wave, 20), natural[:80])


def test_logfbank_frames_follow_the_signal_in_time():
    # a tone burst in video frames 10-19 only: energy rises exactly in audio frames 40-79
    wave = np.zeros(16000, np.float32)
    wave[10 * 640 : 20 * 640] = tone(1000, 0.4, 16000)
    feats = A.logfbank26(wave, 25).mean(axis=1)
    assert feats[44:76].min() > feats[:36].max() + 5
    assert feats[44:76].min() > feats[84:].max() + 5


def test_logfbank_peak_normalisation_makes_it_gain_invariant():
    wave = speech_like(0.5)
    np.testing.assert_allclose(A.logfbank26(wave, 12), A.logfbank26(3 * wave, 12), atol=1e-4)


def test_mel80_shape_range_and_silence():
    wave = speech_like(2.0)
    mel = A.mel80(wave)
    assert mel.shape == (1 + len(wave) // 200, 80)
    assert mel.min() >= -4 and mel.max() <= 4 and mel.std() > 0.5
    np.testing.assert_array_equal(A.mel80(np.zeros(3200, np.float32)), -4.0)


def test_mel_window_starts_at_floor_3_2_t():
    mel = np.arange(200, dtype=np.float32)[:, None].repeat(80, axis=1)
    assert A.mel_start(0) == 0 and A.mel_start(1) == 3 and A.mel_start(5) == 16 and A.mel_start(7) == 22
    window = A.mel_window(mel, 7)
    assert window.shape == (16, 80) and window[0, 0] == 22 and window[-1, 0] == 37
    tail = A.mel_window(mel, 60)  # starts at 192: edge-padded past the end
    assert tail.shape == (16, 80) and tail[-1, 0] == 199


def test_silence_mask_marks_pauses_and_all_silent_audio():
    wave = np.concatenate([tone(300, 0.4, 16000), np.zeros(6400, np.float32), tone(300, 0.4, 16000)])
    mask = A.silence_mask(wave)
    assert mask.shape == (30,)
    assert not mask[:10].any() and mask[10:20].all() and not mask[20:].any()
    assert A.silence_mask(np.zeros(16000, np.float32)).all()


@pytest.mark.parametrize("rate", [44100, 48000])
def test_stereo_wav_at_any_rate_loads_as_16k_mono(tmp_path, rate):
    left, right = tone(440, 1.5, rate), 0.5 * tone(440, 1.5, rate)
    path = write_wav(tmp_path / f"stereo_{rate}.wav", np.stack([left, right], axis=1), rate)
    wave = audio_io.load_audio(path)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert abs(len(wave) - 24000) <= 1
    assert dominant_frequency(wave, 16000) == pytest.approx(440, abs=2)
    assert np.abs(wave[2000:-2000]).max() == pytest.approx(0.75 * 0.5, rel=0.02)  # channel average


def test_compressed_audio_and_video_tracks_load_through_pyav(tmp_path, astronaut):
    frames = [face_frame(astronaut, 64)] * 25
    video = write_av(tmp_path / "clip.mp4", frames, 25, tone(440, 1.0, 48000), sample_rate=48000, channels=2)
    wave = audio_io.load_audio(video)
    assert abs(len(wave) - 16000) < 16000 * 0.05
    assert dominant_frequency(wave, 16000) == pytest.approx(440, abs=3)


def write_eight_channel_aac(path, wave: np.ndarray, rate: int) -> Path:
    """``wave`` in all 8 channels of a 7.1 AAC track; the packed frame is converted to the encoder's planar format
    by swresample (PyAV cannot build a planar 8-channel frame from an array)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=rate, layout="7.1")
        packed = av.AudioFrame.from_ndarray(np.repeat(wave, 8)[None], format="flt", layout="7.1")
        packed.sample_rate = rate
        to_planar = av.AudioResampler(format=stream.codec_context.format.name, layout="7.1", rate=rate)
        for frame in [*to_planar.resample(packed), *to_planar.resample(None), None]:
            for packet in stream.encode(frame):
                container.mux(packet)
    return path


def test_eight_channel_aac_decodes_to_the_channel_average(tmp_path):
    """PyAV counts 9 planes in a planar 8-channel frame: reading it as an array crashed the process, so the
    decoding runs in a child process."""
    path = write_eight_channel_aac(tmp_path / "ch8.m4a", tone(220, 1.0, 48000), 48000)
    decoded = tmp_path / "decoded.npy"
    code = "import sys, numpy, talkhead.io.audio as A; numpy.save(sys.argv[2], A.load_audio(sys.argv[1]))"
    child = subprocess.run(
        [sys.executable, "-c", code, str(path), str(decoded)], capture_output=True, text=True, timeout=60
    )
    assert child.returncode == 0, (child.returncode, child.stderr[-2000:])
    wave = np.load(decoded)
    assert abs(len(wave) - 16000) < 16000 * 0.05  # the encoder's last frame may be padding
    assert dominant_frequency(wave, 16000) == pytest.approx(220, abs=2)
    assert np.abs(wave[2000:-2000]).max() == pytest.approx(0.5, rel=0.03)  # the same tone in every channel


def test_wav_content_with_a_misleading_extension(tmp_path):
    path = write_wav(tmp_path / "really_pcm.mp3", tone(200, 0.5, 16000))
    assert len(audio_io.load_audio(path)) == 8000


def test_bad_audio_inputs_give_clear_errors(tmp_path, astronaut):
    with pytest.raises(FileNotFoundError, match="no such audio file"):
        audio_io.load_audio(tmp_path / "missing.wav")
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"this is not audio" * 100)
    with pytest.raises(MediaDecodeError, match="garbage.wav"):
        audio_io.load_audio(garbage)
    empty = write_wav(tmp_path / "empty.wav", np.zeros(0, np.float32))
    with pytest.raises(EmptyAudioError, match="empty"):
        audio_io.load_audio(empty)
    silent_video = write_av(tmp_path / "silent.mp4", [face_frame(astronaut, 64)] * 5)
    with pytest.raises(NoAudioError, match="no audio track"):
        audio_io.load_audio(silent_video)


@pytest.mark.parametrize("num_samples", [300, 400, 401, 6400, 9000])
def test_mfcc13_is_the_python_speech_features_recipe_on_int16_samples(num_samples):
    pcm = np.round(speech_like(0.6)[:num_samples] * 32767).astype(np.int16)  # what syncnet_python reads from a wav
    reference = psf_mfcc(pcm)
    feats = A.mfcc13(pcm / 32768.0)
    assert feats.shape == reference.shape == (1 if num_samples <= 400 else 1 + -(-(num_samples - 400) // 160), 13)
    assert feats.dtype == np.float32
    np.testing.assert_allclose(feats, reference, rtol=1e-5, atol=1e-4)


def test_mfcc13_matches_python_speech_features_when_installed():
    psf = pytest.importorskip("python_speech_features")  # not a dependency: checked where it happens to be installed
    pcm = np.round(speech_like(1.0, seed=3) * 32767).astype(np.int16)
    np.testing.assert_allclose(A.mfcc13(pcm / 32768.0), psf.mfcc(pcm, 16000), rtol=1e-5, atol=1e-4)


def test_mfcc13_scale_moves_only_the_energy_coefficient_and_silence_is_finite():
    wave = speech_like(0.5)
    pcm_scale, unit_scale = A.mfcc13(wave), A.mfcc13(wave, pcm_scale=1.0)
    np.testing.assert_allclose(pcm_scale[:, 1:], unit_scale[:, 1:], atol=2e-4)
    np.testing.assert_allclose(pcm_scale[:, 0] - unit_scale[:, 0], 2 * np.log(32768.0), atol=1e-3)
    assert np.isfinite(A.mfcc13(np.zeros(1600, np.float32))).all()
    with pytest.raises(ValueError, match="16000"):
        A.mfcc13(wave, sample_rate=8000)


@pytest.mark.parametrize("rate", [16000, 48000])
def test_streamed_audio_lines_up_with_loaded_audio(tmp_path, astronaut, rate):
    wave = speech_like(1.5, rate, seed=3)
    path = write_av(
        tmp_path / "clip.mp4", [face_frame(astronaut, 64)] * 38, fps=25, audio=wave, sample_rate=rate, channels=2
    )
    loaded = audio_io.load_audio(path)
    streamed = np.concatenate(list(stream_audio(path, audio_io.SAMPLE_RATE)))
    assert abs(len(streamed) - len(loaded)) <= 1100  # AAC's last frame may hold padding load_audio trims
    n = min(len(loaded), len(streamed)) - 400
    lags = range(-40, 41)
    scores = [float(np.dot(loaded[200 : 200 + n - 80], streamed[200 + lag : 200 + lag + n - 80])) for lag in lags]
    assert abs(lags[int(np.argmax(scores))]) <= 1  # same timeline: sample 0 at the container's time 0
    with pytest.raises(NoAudioError):
        list(stream_audio(write_av(tmp_path / "silent.mp4", [face_frame(astronaut, 64)] * 5), 16000))


def test_features_of_long_audio_are_computed_in_blocks_without_changing_them(monkeypatch):
    wave = speech_like(3.0, seed=5)
    whole_mel, whole_fbank, whole_mfcc = A.mel80(wave), A.logfbank26(wave), A.mfcc13(wave)
    monkeypatch.setattr(A, "SPECTRUM_BLOCK", 37)  # many blocks, boundaries at odd places
    np.testing.assert_allclose(A.mel80(wave), whole_mel, atol=1e-5)
    np.testing.assert_allclose(A.logfbank26(wave), whole_fbank, atol=1e-5)
    np.testing.assert_allclose(A.mfcc13(wave), whole_mfcc, atol=1e-4)


def test_silence_closing_weights_read_the_absolute_level_and_spare_the_onsets():
    speech = tone(300, 1.0, 16000)
    weights = A.silence_closing_weights(np.zeros(10 * 16000, np.float32), 250)
    np.testing.assert_array_equal(weights, 1)  # all silent: the clip's own loudest frame does not make it speech
    quiet_speech = 0.001 * speech  # -63 dBFS: quiet in absolute terms, loud relative to the rest of nothing
    assert A.silence_closing_weights(quiet_speech, 25).min() == 1
    wave = np.concatenate([speech, np.zeros(16000, np.float32), speech])  # 25 frames, a 1 s pause, 25 frames
    weights = A.silence_closing_weights(wave, 75)
    assert weights[:24].max() == 0 and weights[51:].max() == 0  # speech, and one frame either side of it
    assert weights[28:47].min() == 1  # the pause, from margin + ramp frames in
    assert 0 < weights[26] < 1  # closing over a couple of frames, not a jump
