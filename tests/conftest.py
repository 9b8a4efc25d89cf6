"""Shared fixtures: synthetic talking videos built from skimage's astronaut photo, and the real data."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import soundfile

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"

requires_real_data = pytest.mark.skipif(not REAL_DATA.is_dir(), reason="../shared/data is absent")


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def face_frame(astronaut: np.ndarray, size: int = 256, shift: tuple[int, int] = (0, 0)) -> np.ndarray:
    """The astronaut's head and shoulders (face about a third of the frame), shifted by ``shift`` pixels."""
    dx, dy = shift
    crop = astronaut[10 + dy : 330 + dy, 70 + dx : 390 + dx]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def speech_like(seconds: float, sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """Amplitude-modulated harmonics with pauses: loud enough, not silent, deterministic."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    voice = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((140, 280, 420, 700), 1))
    envelope = (np.sin(2 * np.pi * 3 * t) > -0.3).astype(float) * (0.5 + 0.5 * np.abs(np.sin(2 * np.pi * 5 * t)))
    return (0.3 * voice * envelope / 2 + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def write_av(
    path: Path,
    frames,
    fps: float = 25,
    audio: np.ndarray | None = None,
    sample_rate: int = 16000,
    channels: int = 1,
    codec: str = "libx264",
) -> Path:
    """Encode test media with PyAV directly (independent of talkhead's writer)."""
    container = av.open(str(path), "w")
    rate = Fraction(fps).limit_denominator(1001)
    video = container.add_stream(codec, rate=rate)
    video.height, video.width = frames[0].shape[:2]
    video.pix_fmt = "yuv420p"
    if audio is not None:
        stream = container.add_stream("aac", rate=sample_rate)
        stream.layout = "stereo" if channels == 2 else "mono"
    for index, frame in enumerate(frames):
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        video_frame.pts = index
        video_frame.time_base = 1 / rate
        for packet in video.encode(video_frame):
            container.mux(packet)
    for packet in video.encode():
        container.mux(packet)
    if audio is not None:
        planar = np.ascontiguousarray(np.tile(audio[None], (channels, 1)).astype(np.float32))
        audio_frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout=stream.layout.name)
        audio_frame.sample_rate = sample_rate
        audio_frame.pts = 0
        for packet in stream.encode(audio_frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    container.close()
    return path


def write_timed_video(path: Path, frames, seconds, codec: str = "libx264") -> Path:
    """A silent video whose frame i is presented at ``seconds[i]``: pts set by hand on a 1 ms clock, so the
    frame rate can vary (a phone's variable-frame-rate recording)."""
    container = av.open(str(path), "w")
    clock = Fraction(1, 1000)
    stream = container.add_stream(codec, rate=round(len(frames) / max(seconds[-1], 1e-3)))
    stream.height, stream.width = frames[0].shape[:2]
    stream.pix_fmt = "yuv420p"
    stream.time_base = stream.codec_context.time_base = clock
    for frame, time in zip(frames, seconds, strict=False):
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        video_frame.pts, video_frame.time_base = int(round(time * 1000)), clock
        for packet in stream.encode(video_frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


def talking_video(
    path: Path, astronaut: np.ndarray, num_frames: int = 40, fps: float = 25, with_audio: bool = True, size: int = 256
) -> Path:
    """A short clip of the astronaut drifting slowly, with speech-like audio (or none)."""
    frames = [face_frame(astronaut, size, (int(3 * np.sin(i / 6)), int(2 * np.cos(i / 7)))) for i in range(num_frames)]
    audio = speech_like(num_frames / fps) if with_audio else None
    return write_av(path, frames, fps, audio)


def write_wav(path: Path, wave: np.ndarray, sample_rate: int = 16000, subtype: str = "PCM_16") -> Path:
    soundfile.write(str(path), wave, sample_rate, subtype=subtype, format="WAV")
    return path


def contract_dataset(
    path: Path,
    num_clips: int = 6,
    frames: int = 60,
    sources: int = 3,
    faces: bool = False,
    seed: int = 0,
    test_clips: int = 0,
    mouths: bool = False,
) -> Path:
    """A small DatasetDict in the data-contract format, with random but well-formed values.

    Landmarks are a fixed face shape that drifts and whose mouth opens with the audio energy, so
    models have something real (if easy) to learn.
    """
    import datasets

    from talkhead.data.build import clip_features
    from talkhead.processing.audio import logfbank26, mel80
    from talkhead.processing.mouth_crops import MOUTH_SIZE, mouth_crop_boxes

    rng = np.random.default_rng(seed)
    base = rng.uniform(0.3, 0.7, (68, 2)).astype(np.float32)

    def rows(count, offset):
        for index in range(count):
            audio = speech_like(frames / 25, seed=seed + offset + index)
            energy = np.abs(audio[: frames * 640]).reshape(frames, 640).mean(1)
            landmarks = np.repeat(base[None], frames, 0) + 0.01 * np.sin(np.arange(frames) / 9)[:, None, None]
            landmarks[:, 57, 1] += 0.2 * energy / (energy.max() + 1e-6)  # the lower lip follows the sound
            landmarks[:, 66, 1] += 0.2 * energy / (energy.max() + 1e-6)
            row = {
                "clip_id": f"clip{offset + index}",
                "source": f"source{(offset + index) % sources}",
                "fps": 25,
                "landmarks": landmarks.astype(np.float32),
                "clip_box": np.array([0, 0, 256, 256], np.float32),
                "face_found": np.ones(frames, bool),
                "audio": audio[: frames * 640],
                "logfbank": logfbank26(audio[: frames * 640], frames),
                "mel": mel80(audio[: frames * 640]),
                "face_boxes": np.tile(np.array([64, 64, 192, 192], np.float32), (frames, 1)),
            }
            if faces:
                row["faces"] = rng.integers(0, 255, (frames, 96, 96, 3), dtype=np.uint8)
            if mouths:
                row["mouths"] = rng.integers(0, 255, (frames, MOUTH_SIZE, MOUTH_SIZE, 3), dtype=np.uint8)
                row["mouth_boxes"] = mouth_crop_boxes(landmarks * 256)
            yield row

    features = clip_features(faces, with_mouths=mouths)
    splits = {"train": datasets.Dataset.from_list(list(rows(num_clips, 0)), features=features)}
    if test_clips:
        splits["test"] = datasets.Dataset.from_list(list(rows(test_clips, num_clips)), features=features)
    datasets.DatasetDict(splits).save_to_disk(str(path))
    return path
