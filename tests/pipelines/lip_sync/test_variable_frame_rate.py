"""A variable-frame-rate video through lip-sync: output frames follow the source's timestamps, not its frame order."""

from __future__ import annotations

import numpy as np

from talkhead.io.video import read_video
from talkhead.io.video_probe import probe_video
from talkhead.options import LipSyncOptions
from talkhead.pipelines.lip_sync import LipSyncModels, lip_sync

from ...conftest import face_frame, speech_like, write_timed_video, write_wav
from ...processing.test_video import VARIABLE_TIMES, frame_numbers, numbered_frames


def test_lip_sync_keeps_the_timing_of_a_variable_frame_rate_video(face_generator_path, astronaut, tmp_path):
    from talkhead.models.stable_sync import StableSyncFaceGenerator

    frames = []
    for _number, corner in enumerate(numbered_frames(len(VARIABLE_TIMES))):
        frame = face_frame(astronaut, 256).copy()
        frame[:48, :64] = corner  # the source frame's number, far from the mouth that is repainted
        frames.append(frame)
    source = write_timed_video(tmp_path / "phone.mp4", frames, VARIABLE_TIMES)
    speech = write_wav(tmp_path / "speech.wav", speech_like(1.8))
    generator = StableSyncFaceGenerator.from_pretrained(face_generator_path).eval()
    result = lip_sync(
        source,
        speech,
        tmp_path / "dubbed.mp4",
        LipSyncModels(face_generator=generator),
        LipSyncOptions(renderer="generator", progress=False),
    )
    fps = probe_video(source).source_fps
    assert result.fps == fps and result.frames == round(1.8 * fps)
    shown = frame_numbers(read_video(result.video, fps=result.fps)[: result.frames, :48, :64])
    nearest = [
        int(np.argmin(np.abs(VARIABLE_TIMES - k / fps) + 1e-9 * np.arange(len(VARIABLE_TIMES))))
        for k in range(result.frames)
    ]
    assert shown.tolist() == nearest
    assert shown[round(1.4 * fps)] == 17  # 1.4 s into the output shows the frame filmed at 1.4 s
