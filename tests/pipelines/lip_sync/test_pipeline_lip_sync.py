"""Lip-sync pipeline: streaming order, missing faces, odd rates and formats, bad inputs, the transformers pipeline."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from talkhead.cli import main
from talkhead.errors import EmptyAudioError, MediaDecodeError, NoFaceError, TalkheadInputError
from talkhead.io.audio import load_audio
from talkhead.io.video import VideoReader, read_video
from talkhead.io.video_probe import probe_video
from talkhead.options import LipSyncOptions
from talkhead.pipelines.generator_renderer import match_colour, mouth_mask
from talkhead.pipelines.lip_sync import LipSyncModels, lip_sync
from talkhead.pipelines.lip_sync.playback import source_order

from ...conftest import face_frame, speech_like, talking_video, write_av, write_wav
from ..conftest import gray_frames


@pytest.fixture(scope="module")
def generators(face_generator_path):
    from talkhead.models.stable_sync import StableSyncFaceGenerator

    return (
        StableSyncFaceGenerator.from_pretrained(face_generator_path).eval(),
        StableSyncFaceGenerator.from_pretrained(face_generator_path).eval(),
    )


@pytest.fixture(scope="module")
def video(tmp_path_factory, astronaut):
    return talking_video(tmp_path_factory.mktemp("video") / "talking video.mp4", astronaut, num_frames=30)


def quiet(**kwargs) -> LipSyncOptions:
    return LipSyncOptions(progress=False, **kwargs)


def dub(video, audio, output, generators, options: LipSyncOptions):
    """lip_sync with the generator renderer: ``generators`` is (G_L, G_S)."""
    face_generator, silent_lip = generators
    models = LipSyncModels(face_generator=face_generator, silent_lip=silent_lip)
    return lip_sync(video, audio, output, models, dataclasses.replace(options, renderer="generator"))


def test_source_order_covers_the_output():
    assert source_order(10, 4, "loop") == [(0, 4, False)]
    assert source_order(10, 25, "loop") == [(0, 10, False), (0, 10, False), (0, 5, False)]
    assert source_order(10, 25, "bounce") == [(0, 10, False), (0, 9, True), (1, 7, False)]
    # a backward run that stops early starts where the forward run turned: frames 8, 7, 6, 5
    assert source_order(10, 14, "bounce") == [(0, 10, False), (5, 9, True)]
    frames = [
        i
        for start, stop, reverse in source_order(3, 8, "bounce")
        for i in (range(stop - 1, start - 1, -1) if reverse else range(start, stop))
    ]
    assert frames == [0, 1, 2, 1, 0, 1, 2, 1]  # no frame held at a turn
    assert source_order(1, 3, "bounce") == [(0, 1, False)] * 3


def test_backward_runs_stream_in_reverse(video):
    from talkhead.pipelines.lip_sync.playback import iterate_source

    reader = VideoReader(video)
    frames = read_video(video)
    order = [index for index, _ in iterate_source(reader, [(0, 30, False), (0, 29, True)])]
    assert order == list(range(30)) + list(range(28, -1, -1))
    backward = [frame for _, frame in iterate_source(reader, [(3, 30, True)])]
    assert np.array_equal(backward[0], frames[29]) and np.array_equal(backward[-1], frames[3])


def test_mouth_mask_and_colour_match():
    points = np.zeros((68, 2), np.float32)
    points[48:68] = np.array([[0.35, 0.75], [0.65, 0.75], [0.5, 0.7], [0.5, 0.82]] * 5)
    mask = mouth_mask(points)
    assert (
        mask[72, 48] > 0.9 and mask[10, 48] == 0 and mask[72, 5] < 0.05
    )  # on the mouth, not the eyes or the cheek edge
    source = np.full((96, 96, 3), 100, np.uint8)
    matched = match_colour(np.full((96, 96, 3), 140.0), source, mask)
    assert matched.dtype == np.uint8 and np.abs(matched.astype(int) - 100).max() <= 1


def test_dubs_a_30_fps_video_with_longer_48k_stereo_audio(video, generators, tmp_path, astronaut):
    source = write_av(tmp_path / "thirty.mp4", [face_frame(astronaut, 256, (i % 3, 0)) for i in range(24)], fps=30)
    audio = write_av(
        tmp_path / "stereo speech.mp4",
        gray_frames(2, 64),
        fps=1,
        audio=speech_like(1.2, 48000),
        sample_rate=48000,
        channels=2,
    )
    result = dub(source, audio, tmp_path / "out put.mp4", generators, quiet(audio_longer="bounce"))
    assert result.fps == pytest.approx(30) and result.frames == 36 and result.source_frames == 24
    assert result.generated_frames == 36 and result.audio_policy == "bounce"
    assert any("longer than the video" in w for w in result.warnings)
    info = probe_video(result.video)
    assert info.source_fps == pytest.approx(30) and info.has_audio
    assert abs(len(load_audio(result.video)) - 19200) <= 16000 / 30  # the streams end together
    trimmed = dub(source, audio, tmp_path / "trim.mp4", generators, quiet(audio_longer="trim"))
    assert trimmed.frames == 24


def test_missing_faces_pass_through_interpolate_or_stop(generators, tmp_path, astronaut):
    frames = (
        [face_frame(astronaut, 256) for _ in range(12)]
        + gray_frames(6)
        + [face_frame(astronaut, 256) for _ in range(12)]
    )
    source = write_av(tmp_path / "gap.mp4", frames, fps=25)
    speech = write_wav(tmp_path / "speech.wav", speech_like(30 / 25))
    passed = dub(source, speech, tmp_path / "pass.mp4", generators, quiet())
    assert passed.missing_face_ranges == [(0.48, 0.72)] and passed.passthrough_frames == 6
    assert any("frames 12-17" in w for w in passed.warnings)
    output = read_video(passed.video)
    assert np.abs(output[14].astype(int) - 128).mean() < 3  # the gray frames come through unchanged
    filled = dub(source, speech, tmp_path / "fill.mp4", generators, quiet(on_missing_face="interpolate"))
    assert filled.generated_frames == 30
    with pytest.raises(NoFaceError, match="frames 12-17 of .*gap.mp4.*on_missing_face=passthrough"):
        dub(source, speech, tmp_path / "stop.mp4", generators, quiet(on_missing_face="error"))
    assert not (tmp_path / "stop.mp4").exists()


def test_bad_inputs_leave_no_output(video, generators, tmp_path, astronaut):
    speech = write_wav(tmp_path / "speech.wav", speech_like(1.0))
    faceless = write_av(tmp_path / "wall.mp4", gray_frames(10), fps=25)
    with pytest.raises(NoFaceError, match="no face found in any of the 10 frames"):
        dub(faceless, speech, tmp_path / "a.mp4", generators, quiet())
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00 ftypisom" + bytes(range(256)) * 8)
    with pytest.raises(MediaDecodeError):
        dub(corrupt, speech, tmp_path / "b.mp4", generators, quiet())
    empty = write_wav(tmp_path / "empty.wav", np.zeros(0, np.float32))
    with pytest.raises(EmptyAudioError):
        dub(video, empty, tmp_path / "c.mp4", generators, quiet())
    with pytest.raises(TalkheadInputError, match=".mp4"):
        dub(video, speech, tmp_path / "d.avi", generators, quiet())
    with pytest.raises(TalkheadInputError, match="on_missing_face"):
        LipSyncOptions(on_missing_face="skip")
    assert not any((tmp_path / n).exists() for n in ("a.mp4", "b.mp4", "c.mp4", "d.avi"))
    assert not list(tmp_path.glob(".*partial*"))


def test_60_fps_two_faces_and_silent_audio(generators, tmp_path, astronaut):
    import cv2

    wide = [
        np.concatenate([face_frame(astronaut, 256), cv2.resize(face_frame(astronaut, 256), (256, 256))], 1)
        for _ in range(10)
    ]
    source = write_av(tmp_path / "two.mp4", wide, fps=60)
    silence = write_wav(tmp_path / "silence.wav", np.zeros(4000, np.float32))
    result = dub(source, silence, tmp_path / "out.mp4", generators, quiet())
    assert (
        result.fps == pytest.approx(60)
        and result.frames == 15
        and probe_video(result.video).source_fps == pytest.approx(60)
    )
    assert any("2 faces" in w for w in result.warnings) and any("silent" in w for w in result.warnings)


def test_the_user_chooses_which_of_two_faces_is_dubbed_and_it_stays_that_face(generators, tmp_path, astronaut):
    import cv2

    small = cv2.resize(face_frame(astronaut, 256), (200, 200))
    frames = [
        np.concatenate([face_frame(astronaut, 256, (i % 3, 0)), np.pad(small, ((28, 28), (28, 28), (0, 0)))], 1)
        for i in range(20)
    ]  # the larger face on the left
    source = write_av(tmp_path / "two.mp4", frames)
    speech = write_wav(tmp_path / "speech.wav", speech_like(0.8))
    original = read_video(source)
    changed = {}
    for face in ("largest", "rightmost", "1", "400,128", "leftmost"):
        result = dub(source, speech, tmp_path / f"{face}.mp4", generators, quiet(face=face))
        difference = np.abs(read_video(result.video).astype(int) - original.astype(int)).max(axis=(1, 2, 3))
        per_half = np.abs(read_video(result.video).astype(int) - original.astype(int)).reshape(20, 256, 2, 256, 3)
        changed[face] = per_half.max(axis=(1, 3, 4))  # (frames, halves): how much each half changed
        assert difference.min() > 0 and result.face.startswith("face ")
        assert any("2 faces" in w and "face=leftmost" in w for w in result.warnings)
    for face, side in (("largest", 0), ("leftmost", 0), ("rightmost", 1), ("1", 1), ("400,128", 1)):
        dubbed, other = changed[face][:, side], changed[face][:, 1 - side]
        assert (dubbed > 3 * np.maximum(other, 8)).all(), (face, dubbed, other)  # every frame: the chosen face only
    assert result.face.startswith("face 1 of 2 from the left")
    with pytest.raises(TalkheadInputError, match="face must be one of"):
        quiet(face="the tall one")


def test_cli_and_transformers_pipeline(video, face_generator_path, tmp_path, capsys):
    from transformers import pipeline

    import talkhead.pipelines  # noqa: F401  (registers the tasks)

    speech = write_wav(tmp_path / "speech.wav", speech_like(1.0))
    out = tmp_path / "cli out.mp4"
    assert (
        main(
            [
                "lip-sync",
                "--video",
                str(video),
                "--audio",
                str(speech),
                "-o",
                str(out),
                "--renderer",
                "generator",
                "--face-generator-model",
                str(face_generator_path),
                "--silent-lip-model",
                "none",
                "--quiet",
                "--json",
                str(tmp_path / "r.json"),
            ]
        )
        == 0
    )
    assert "25 frames (1.00 s at 25 fps), 25 with a generated mouth" in capsys.readouterr().out
    assert len(read_video(out)) == 25
    assert (
        main(
            [
                "lip-sync",
                "--video",
                str(tmp_path / "missing.mp4"),
                "--audio",
                str(speech),
                "-o",
                str(tmp_path / "x.mp4"),
            ]
        )
        == 2
    )
    assert "error:" in capsys.readouterr().err
    lip_syncer = pipeline("lip-sync", model=str(face_generator_path), silent_lip=None)
    report = lip_syncer(
        {"video": str(video), "audio": load_audio(speech)}, output=str(tmp_path / "p.mp4"), progress=False
    )
    assert report["video"] == str(tmp_path / "p.mp4") and report["frames"] == 25
    assert report["heard"] is None  # the generator renderer reads the mel alone: no phones, nothing heard
    with pytest.raises(TypeError, match="unknown option"):
        lip_syncer({"video": str(video), "audio": str(speech)}, no_such_option=1)


@pytest.fixture(scope="module")
def mouth_motion_path(tmp_path_factory):
    """A tiny random mouth-motion model (mel only, so the test does not need pocketsphinx)."""
    import torch

    from talkhead.models.mouth_motion import MouthMotionConfig, MouthMotionModel

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("mouth motion")
    MouthMotionModel(MouthMotionConfig.from_preset("tiny", use_phones=False, output_gain=30.0)).save_pretrained(path)
    return path


def test_retrieval_renderer_changes_only_the_mouth(video, mouth_motion_path, tmp_path):
    from talkhead.pipelines.loading import load_lip_sync_models

    models = load_lip_sync_models(str(mouth_motion_path))
    assert models.face_generator is None and models.silent_lip is None
    assert type(models.mouth_model).__name__ == "MouthMotionModel"
    speech = write_wav(tmp_path / "speech.wav", speech_like(1.0, seed=3))
    result = lip_sync(video, speech, tmp_path / "dubbed.mp4", models, quiet())
    assert result.frames == 25 and result.generated_frames == 25 and result.stage_seconds["pool"] > 0
    source, dubbed = read_video(video)[:25], read_video(result.video)
    difference = np.abs(dubbed.astype(int) - source.astype(int)).mean(axis=(0, 3))
    height = difference.shape[0]
    assert difference[: height // 3].mean() < 2.5  # the upper face and background are the source's (up to H.264)
    assert difference[height // 2 :].max() > 8  # the mouth moved


def test_lip_sync_refuses_other_checkpoints(generator_path, face_generator_path, mouth_motion_path):
    from talkhead.pipelines.loading import load_lip_sync_models, renderer_of_checkpoint

    with pytest.raises(TalkheadInputError, match="mouth-motion model or a stabilized-sync face generator"):
        renderer_of_checkpoint(str(generator_path))
    with pytest.raises(TalkheadInputError, match="mouth_model .* is a ms_sync.* checkpoint; it must be a mouth_motion"):
        load_lip_sync_models(str(generator_path))
    with pytest.raises(TalkheadInputError, match="face_generator .* it must be a stable_sync"):
        load_lip_sync_models(renderer="generator", face_generator=str(mouth_motion_path))
    assert renderer_of_checkpoint(str(face_generator_path)) == "generator"
    assert renderer_of_checkpoint(str(mouth_motion_path)) == "retrieval"


def test_the_renderer_is_named_and_takes_its_own_model_argument(video, face_generator_path, tmp_path):
    from talkhead.models.stable_sync import StableSyncFaceGenerator

    generator = StableSyncFaceGenerator.from_pretrained(face_generator_path).eval()
    speech = write_wav(tmp_path / "speech.wav", speech_like(1.0, seed=3))
    with pytest.raises(TalkheadInputError, match="the generator renderer needs models.face_generator"):
        lip_sync(video, speech, tmp_path / "a.mp4", LipSyncModels(), quiet(renderer="generator"))
    with pytest.raises(TalkheadInputError, match="renderer must be one of"):
        quiet(renderer="paint")
    with pytest.raises(TalkheadInputError, match="pass it as models.face_generator"):
        lip_sync(video, speech, tmp_path / "b.mp4", LipSyncModels(mouth_model=generator), quiet())
    assert not (tmp_path / "b.mp4").exists()
    named = lip_sync(
        video, speech, tmp_path / "named.mp4", LipSyncModels(face_generator=generator), quiet(renderer="generator")
    )
    assert read_video(named.video).shape[0] == named.frames


def test_full_size_frames_are_batched_within_the_memory_budget():
    from talkhead.pipelines.lip_sync.pipeline_lip_sync import (
        BATCH_BYTES,
        BATCHES_IN_FLIGHT,
        frames_per_batch,
        frames_read_ahead,
    )

    frame_4k, frame_1080 = np.zeros((2160, 3840, 3), np.uint8), np.zeros((1080, 1920, 3), np.uint8)
    assert frames_per_batch(16, np.zeros((512, 512, 3), np.uint8)) == 16  # small frames: the batch size asked for
    batch_1080 = frames_per_batch(16, frame_1080)
    assert batch_1080 == 3 and BATCHES_IN_FLIGHT * batch_1080 * frame_1080.nbytes <= BATCH_BYTES  # all in flight
    assert frames_per_batch(16, frame_4k) == 1  # 4K: one at a time
    assert frames_per_batch(16, np.zeros((8000, 8000, 3), np.uint8)) == 1  # never none
    assert frames_read_ahead(512, 512) == 8 and frames_read_ahead(3840, 2160) == 2  # decoded ahead: bounded too
