"""Audio features for every model in the package, computed from the 16 kHz mono waves that
:func:`talkhead.io.audio.load_audio` reads.

* :func:`logfbank26`: the MS-Sync audio feature (Airale et al., MS-Sync, §4.1). The paper says
  "26-d MFCC"; the authors' code keeps the 26 log filterbank energies, which is what we compute.
  100 frames/s, exactly 4 per 25-fps video frame.
* :func:`mel80`: the Wav2Lip-style 80-band log-mel used by the image-side models (Wav2Lip,
  ``hparams.py``; Yaman et al., stabilized sync, §3.5). 80 frames/s, a 16-frame window spans 5 video frames.
* :func:`mfcc13`: the 13-d MFCC of SyncNet v2 (Chung & Zisserman 2016, ``joonson/syncnet_python``):
  python_speech_features' ``mfcc`` defaults on the 16-bit PCM scale, 100 frames/s.
* :func:`silence_mask`: per video frame, whether the audio is silent.

Where we differ from the references: the 26 mel filters come from ``librosa.filters.mel`` (HTK
scale, unnormalised triangles) instead of python_speech_features' FFT-bin-quantised triangles, so
the energies differ slightly from the authors' features; models trained here use ours throughout.
:func:`mfcc13` feeds pretrained weights, so it uses python_speech_features' own quantised triangles.
"""

from __future__ import annotations

from typing import cast

import librosa
import numpy as np
import scipy.fft
import scipy.signal

from ..defaults import VIDEO_FPS
from ..errors import EmptyAudioError
from ..io.audio import SAMPLE_RATE, fit_length

SAMPLES_PER_FRAME = SAMPLE_RATE // VIDEO_FPS  # 640 audio samples per video frame
VIDEO_WINDOW = 5  # video frames in one sync window (200 ms): SyncNet, our experts, the face generator

# Airale et al., MS-Sync, §4.1: 25 ms windows, 10 ms hop -> 100 frames/s = 4 per video frame
LOGFBANK_WINDOW = 400
LOGFBANK_HOP = 160
LOGFBANK_NFFT = 512
LOGFBANK_BANDS = 26
LOGFBANK_PER_VIDEO_FRAME = 4
LOG_SILENCE = float(np.log(1e-8))  # padding value for audio features beyond the clip borders

# python_speech_features.mfcc defaults, as syncnet_python calls it
MFCC_COEFFICIENTS = 13
MFCC_LIFTER = 22
MFCC_PCM_SCALE = 32768.0  # syncnet_python reads 16-bit PCM samples, not floats in [-1, 1]

# Wav2Lip hparams (``hparams.py``)
MEL_NFFT = 800
MEL_HOP = 200
MEL_BANDS = 80
MEL_FMIN = 55.0
MEL_FMAX = 7600.0
MEL_PER_SECOND = SAMPLE_RATE / MEL_HOP  # 80
MEL_WINDOW = 16  # mel frames in one VIDEO_WINDOW (200 ms)
MEL_MAX_ABS = 4.0
MEL_SILENCE = -MEL_MAX_ABS  # mel80 of silence: what G_S reads to close the lips (Yaman et al., stabilized sync, §3.2)
MEL_MIN_DB = -100.0
MEL_REF_DB = 20.0
PREEMPHASIS = 0.97


def num_video_frames(num_samples: int, sample_rate: int = SAMPLE_RATE, fps: float = VIDEO_FPS) -> int:
    """Video frames covered by ``num_samples`` of audio (rounded to the nearest frame)."""
    return int(round(num_samples * fps / sample_rate))


def _preemphasis(wave: np.ndarray) -> np.ndarray:
    return scipy.signal.lfilter([1.0, -PREEMPHASIS], [1.0], wave).astype(np.float32)


def logfbank26(
    wave: np.ndarray,
    num_frames: int | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """MS-Sync 26-band log filterbank energies, (4·T, 26) float32 at 100 frames/s (Airale et al., MS-Sync, §4.1).

    Args:
        wave: mono 16 kHz waveform.
        num_frames: video frames T to align to. The result then has exactly ``4 * num_frames``
            rows: reflect-padded at the end when the audio is short, truncated when long. ``None``
            derives T from the audio length.
        sample_rate: must be 16 kHz; resample first.
    """
    _check_rate(sample_rate)
    if num_frames is None:
        num_frames = num_video_frames(len(wave), sample_rate)
    target = LOGFBANK_PER_VIDEO_FRAME * int(num_frames)
    if target <= 0:
        raise EmptyAudioError("cannot compute features for 0 video frames")
    wave = np.asarray(wave, dtype=np.float64)
    if wave.size == 0:
        raise EmptyAudioError("cannot compute audio features of an empty waveform")
    wave = wave - wave.mean()
    peak = np.abs(wave).max()
    if peak > 0:
        wave /= peak
    energies, _ = _band_energies(wave, _logfbank_filters(sample_rate))
    feats = np.log(_nonzero(energies)).astype(np.float32)
    return _pad_or_trim_reflect(feats, target)


def mfcc13(wave: np.ndarray, sample_rate: int = SAMPLE_RATE, pcm_scale: float = MFCC_PCM_SCALE) -> np.ndarray:
    """SyncNet v2's audio feature: 13 MFCCs at 100 frames/s, (N, 13) float32.

    ``python_speech_features.mfcc(signal, 16000)`` with its defaults, which is what syncnet_python
    computes: 25 ms rectangular frames every 10 ms (the tail zero-padded, N = 1 + ⌈(n - 400) / 160⌉),
    pre-emphasis 0.97, 512-point power spectrum, 26 mel triangles quantised to FFT bins as
    python_speech_features builds them, log, orthonormal DCT-II, lifter 22, and the first
    coefficient replaced by the log frame energy. Four rows per 25-fps video frame; SyncNet's window
    for video frame t is rows 4t .. 4t + 19.

    Args:
        wave: mono 16 kHz waveform in [-1, 1] (as :func:`talkhead.io.audio.load_audio` returns it).
        sample_rate: must be 16 kHz; resample first.
        pcm_scale: multiplies ``wave`` first. syncnet_python feeds int16 samples, so the default
            32768 reproduces its features; the scale only moves the energy coefficient (by log of
            its square), which the pretrained network has seen only on that scale.
    """
    _check_rate(sample_rate)
    wave = np.asarray(wave, dtype=np.float64)
    if wave.size == 0:
        raise EmptyAudioError("cannot compute the MFCCs of an empty waveform")
    bands, totals = _band_energies(wave * pcm_scale, _quantised_mel_filters(sample_rate))
    log_bands = np.log(_nonzero(bands))
    cepstra = scipy.fft.dct(log_bands, type=2, axis=1, norm="ortho")[:, :MFCC_COEFFICIENTS]
    cepstra *= 1 + (MFCC_LIFTER / 2) * np.sin(np.pi * np.arange(MFCC_COEFFICIENTS) / MFCC_LIFTER)
    cepstra[:, 0] = np.log(_nonzero(totals))
    return cepstra.astype(np.float32)


SPECTRUM_BLOCK = 4096


def _band_energies(wave: np.ndarray, filters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """python_speech_features' front end and filterbank, block by block.

    Pre-emphasis, 25 ms / 10 ms framing, |rfft(512)|² / 512, then ``filters`` (B, 257). Returns the band
    energies (N, B) and each frame's total power (N,), float64.
    """
    emphasized = np.append(wave[0], wave[1:] - PREEMPHASIS * wave[:-1])
    frames = _frame_signal(emphasized, LOGFBANK_WINDOW, LOGFBANK_HOP)
    bands = np.empty((len(frames), len(filters)))
    totals = np.empty(len(frames))
    for start in range(0, len(frames), SPECTRUM_BLOCK):
        power = np.abs(np.fft.rfft(frames[start : start + SPECTRUM_BLOCK], LOGFBANK_NFFT)) ** 2 / LOGFBANK_NFFT
        bands[start : start + SPECTRUM_BLOCK] = power @ filters.T
        totals[start : start + SPECTRUM_BLOCK] = power.sum(axis=1)
    return bands, totals


def _nonzero(values: np.ndarray) -> np.ndarray:
    """Zeros replaced by machine epsilon before a log (digital silence), as python_speech_features does."""
    return np.where(values == 0, np.finfo(np.float64).eps, values)


def _frame_signal(signal: np.ndarray, window: int, hop: int) -> np.ndarray:
    """python_speech_features framing: zero-pad the tail so the last partial frame is kept."""
    count = 1 if len(signal) <= window else 1 + int(np.ceil((len(signal) - window) / hop))
    padded_length = (count - 1) * hop + window
    signal = np.pad(signal, (0, max(0, padded_length - len(signal))))
    return librosa.util.frame(signal, frame_length=window, hop_length=hop, axis=0)[:count]


_FILTER_CACHE: dict[tuple, np.ndarray] = {}


def _logfbank_filters(sample_rate: int) -> np.ndarray:
    key = ("logfbank", sample_rate)
    if key not in _FILTER_CACHE:
        _FILTER_CACHE[key] = librosa.filters.mel(
            sr=sample_rate,
            n_fft=LOGFBANK_NFFT,
            n_mels=LOGFBANK_BANDS,
            fmin=0.0,
            fmax=sample_rate / 2,
            htk=True,
            norm=None,
        ).astype(np.float64)
    return _FILTER_CACHE[key]


def _quantised_mel_filters(sample_rate: int) -> np.ndarray:
    """(26, 257) python_speech_features triangles: mel-spaced edges rounded down to FFT bins.

    Each triangle rises over bins [b0, b1) and falls over [b1, b2), with edges
    ⌊513 · f / sample_rate⌋ of 28 points equally spaced on the HTK mel scale from 0 Hz to Nyquist.
    """
    key = ("quantised_mel", sample_rate)
    if key not in _FILTER_CACHE:
        top_mel = 2595.0 * np.log10(1.0 + (sample_rate / 2) / 700.0)
        edges_hz = 700.0 * (10.0 ** (np.linspace(0.0, top_mel, LOGFBANK_BANDS + 2) / 2595.0) - 1.0)
        edges = np.floor((LOGFBANK_NFFT + 1) * edges_hz / sample_rate)
        bins = np.arange(LOGFBANK_NFFT // 2 + 1)[None, :]
        low, mid, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
        rising = np.where((bins >= low) & (bins < mid), (bins - low) / np.maximum(mid - low, 1), 0.0)
        falling = np.where((bins >= mid) & (bins < high), (high - bins) / np.maximum(high - mid, 1), 0.0)
        _FILTER_CACHE[key] = rising + falling
    return _FILTER_CACHE[key]


def _pad_or_trim_reflect(feats: np.ndarray, target: int) -> np.ndarray:
    """Exactly ``target`` rows: reflect the tail when short (as the MS-Sync code pads), truncate when long."""
    while feats.shape[0] < target:
        missing = target - feats.shape[0]
        if feats.shape[0] > 1:
            reflected = feats[-2::-1][:missing]  # reflect excludes the edge row
        else:
            reflected = np.repeat(feats[-1:], missing, axis=0)
        feats = np.concatenate([feats, reflected])
    return np.ascontiguousarray(feats[:target])


def mel80(wave: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Wav2Lip-style normalised log-mel, (M, 80) float32 in [-4, 4] at 80 frames/s (Wav2Lip, ``hparams.py``).

    ``M = 1 + len(wave) // 200`` (centred STFT). The window of :data:`MEL_WINDOW` frames that
    starts at video frame t begins at :func:`mel_start` ``(t)``. An all-zero waveform gives -4
    everywhere: the "silent audio" of the silent-lip generator.
    """
    _check_rate(sample_rate)
    wave = np.asarray(wave, dtype=np.float32)
    if wave.size == 0:
        raise EmptyAudioError("cannot compute the mel spectrogram of an empty waveform")
    mel = _mel_energies(_preemphasis(wave), _mel80_filters(sample_rate))
    db = 20.0 * np.log10(np.maximum(1e-5, mel)) - MEL_REF_DB
    normalized = 2 * MEL_MAX_ABS * ((db - MEL_MIN_DB) / -MEL_MIN_DB) - MEL_MAX_ABS
    return np.ascontiguousarray(np.clip(normalized, -MEL_MAX_ABS, MEL_MAX_ABS).T.astype(np.float32))


def _mel_energies(emphasized: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """``filters @ |STFT|`` of a centred STFT (librosa's zero padding), SPECTRUM_BLOCK frames at a time. (80, M)."""
    padded = np.pad(emphasized, MEL_NFFT // 2)
    count = 1 + len(emphasized) // MEL_HOP
    mel = np.empty((len(filters), count), np.float32)
    for start in range(0, count, SPECTRUM_BLOCK):
        stop = min(start + SPECTRUM_BLOCK, count)
        block = padded[start * MEL_HOP : (stop - 1) * MEL_HOP + MEL_NFFT]
        spectrum = np.abs(librosa.stft(block, n_fft=MEL_NFFT, hop_length=MEL_HOP, win_length=MEL_NFFT, center=False))
        mel[:, start:stop] = filters @ spectrum
    return mel


def _mel80_filters(sample_rate: int) -> np.ndarray:
    key = ("mel80", sample_rate)
    if key not in _FILTER_CACHE:
        _FILTER_CACHE[key] = librosa.filters.mel(
            sr=sample_rate, n_fft=MEL_NFFT, n_mels=MEL_BANDS, fmin=MEL_FMIN, fmax=MEL_FMAX
        )
    return _FILTER_CACHE[key]


def mel_start(frame_index: int, fps: float = VIDEO_FPS) -> int:
    """First mel row of the window that starts at video frame ``frame_index`` (⌊80·t/25⌋)."""
    return int(MEL_PER_SECOND * frame_index / fps)


def mel_window(mel: np.ndarray, frame_index: int, fps: float = VIDEO_FPS) -> np.ndarray:
    """The (16, 80) mel window starting at video frame ``frame_index``; edge-padded past the end."""
    start = mel_start(frame_index, fps)
    window = mel[max(start, 0) : start + MEL_WINDOW]
    if start < 0:
        window = np.concatenate([np.repeat(mel[:1], -start, axis=0), window])
    if window.shape[0] < MEL_WINDOW:
        edge = window[-1:] if window.shape[0] else np.full((1, mel.shape[1]), MEL_SILENCE, mel.dtype)
        window = np.concatenate([window, np.repeat(edge, MEL_WINDOW - window.shape[0], axis=0)])
    return window


def mel_tensor(mel: np.ndarray, frame: int):
    """The (1, 80, 16) torch mel window starting at video frame ``frame``: :func:`mel_window` as the image models
    read it."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(mel_window(mel, frame).T))[None]


def mel_per_frame(mel: np.ndarray, num_frames: int, fps: float = VIDEO_FPS) -> np.ndarray:
    """(num_frames, bands): the mean of the mel rows inside each video frame's span [t/fps, (t+1)/fps).

    At 25 fps that is rows 3.2·t to 3.2·(t+1); spans past the end repeat the last row (silence if none).
    """
    edges = np.round(np.arange(num_frames + 1) * MEL_PER_SECOND / fps).astype(int)
    if len(mel) == 0:
        return np.full((num_frames, MEL_BANDS), MEL_SILENCE, np.float32)
    padded = np.concatenate([mel, np.repeat(mel[-1:], max(0, edges[-1] + 1 - len(mel)), axis=0)])
    sums = np.concatenate([np.zeros((1, mel.shape[1])), np.cumsum(padded, axis=0, dtype=np.float64)])
    stops = np.maximum(edges[1:], edges[:-1] + 1)  # at least one row per frame (fps above 80)
    return ((sums[stops] - sums[edges[:-1]]) / (stops - edges[:-1])[:, None]).astype(np.float32)


def frame_rms(wave: np.ndarray, num_frames: int, sample_rate: int = SAMPLE_RATE, fps: float = VIDEO_FPS) -> np.ndarray:
    """(num_frames,) root mean square of each video frame's span of ``wave`` (zero-padded past its end): the loudness
    envelope every silence rule, plot and baseline here reads."""
    edges = np.round(np.arange(num_frames + 1) * sample_rate / fps).astype(int)
    wave = fit_length(np.asarray(wave, dtype=np.float32), int(edges[-1]))
    squared = np.concatenate([[0.0], np.cumsum(wave.astype(np.float64) ** 2)])
    return np.sqrt(np.maximum((squared[edges[1:]] - squared[edges[:-1]]) / np.maximum(np.diff(edges), 1), 0))


SILENCE_FLOOR_DBFS = -60.0  # below this a frame is silent however loud the rest of the clip is
SILENCE_CLOSING_MARGIN = 2


def frame_level_db(
    wave: np.ndarray, num_frames: int, sample_rate: int = SAMPLE_RATE, fps: float = VIDEO_FPS
) -> np.ndarray:
    """(num_frames,) :func:`frame_rms` in dB of full scale (floored at -120 dB)."""
    return 20.0 * np.log10(np.maximum(frame_rms(wave, num_frames, sample_rate, fps), 1e-6))


def silence_mask(
    wave: np.ndarray,
    num_frames: int | None = None,
    sample_rate: int = SAMPLE_RATE,
    fps: float = VIDEO_FPS,
    threshold_db: float = -30.0,
    floor_dbfs: float = SILENCE_FLOOR_DBFS,
) -> np.ndarray:
    """Per video frame: ``True`` where the audio is silent.

    A frame is silent when its RMS is ``threshold_db`` below the loudest frame of the clip, or
    below ``floor_dbfs`` in absolute terms (so an all-silent clip is silent everywhere).
    """
    if num_frames is None:
        num_frames = num_video_frames(len(wave), sample_rate, fps)
    level_db = frame_level_db(wave, num_frames, sample_rate, fps)
    loudest = level_db.max() if level_db.size else floor_dbfs
    return (level_db < loudest + threshold_db) | (level_db < floor_dbfs)


def silence_closing_weights(
    wave: np.ndarray, num_frames: int, fps: float = VIDEO_FPS, margin: int = SILENCE_CLOSING_MARGIN
) -> np.ndarray:
    """(num_frames,) in [0, 1]: how far each frame's mouth should be pulled to rest because the audio is silent.

    Silence here is absolute (RMS below :data:`SILENCE_FLOOR_DBFS`), not relative to the clip: features
    normalised over the clip make an all-silent input read as average speech, and a model would then hold the mouth
    open. A frame gets weight 1 when it and ``margin`` frames either side are silent, and the weights
    ramp over about two frames, so the lips close in a pause without cutting the onset of the next word.
    """
    quiet = silence_mask(wave, num_frames, fps=fps, threshold_db=-np.inf)  # the absolute floor alone
    return closing_weights(quiet, margin)


def closing_weights(quiet: np.ndarray, margin: int = SILENCE_CLOSING_MARGIN) -> np.ndarray:
    """(T,) :func:`silence_closing_weights` from each frame's silence (T,) bool: a frame's weight reads the frames
    within ``margin`` + 1 of it, and those past either end count as quiet."""
    quiet = np.asarray(quiet, bool)
    if margin:
        padded = np.concatenate([np.ones(margin, bool), quiet, np.ones(margin, bool)])  # the clip's borders are quiet
        # numpy's stubs type all(axis) as a scalar or an array; over one axis of a 2-D array it is an array
        quiet = cast(np.ndarray, np.lib.stride_tricks.sliding_window_view(padded, 2 * margin + 1).all(1))
    weights = quiet.astype(np.float64)
    if len(weights) > 2:
        weights = np.convolve(np.pad(weights, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
    return weights


def _check_rate(sample_rate: int) -> None:
    if sample_rate != SAMPLE_RATE:
        raise ValueError(
            f"features are defined at {SAMPLE_RATE} Hz, got {sample_rate} Hz; resample first with load_audio or "
            "resample"
        )


__all__ = [
    "VIDEO_FPS",
    "SAMPLES_PER_FRAME",
    "MEL_SILENCE",
    "LOG_SILENCE",
    "MEL_WINDOW",
    "LOGFBANK_PER_VIDEO_FRAME",
    "num_video_frames",
    "logfbank26",
    "mel80",
    "mel_start",
    "mel_window",
    "silence_mask",
    "silence_closing_weights",
    "SILENCE_FLOOR_DBFS",
    "mfcc13",
]
