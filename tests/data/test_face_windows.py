"""Face windows for the image-side models: alignment of faces and mel, labels, non-overlapping references."""

import numpy as np
import pytest
import torch

from talkhead.data.face_windows import (
    FaceWindowDataset,
    OffsetWindowDataset,
    SyncWindowDataset,
    augment_faces,
)
from talkhead.processing.audio import mel_start, mel_tensor
from talkhead.processing.face_crops import faces_to_tensor


def make_clip(frames=40, faces=True):
    from talkhead.data.clips import Clip

    # frame t's faces hold the value t; mel row m holds m, so alignment is readable
    crops = np.repeat(np.arange(frames, dtype=np.uint8)[:, None, None, None], 96, 1).repeat(96, 2).repeat(3, 3)
    mel = np.repeat(np.arange(int(3.2 * frames) + 1, dtype=np.float32)[:, None], 80, 1)
    return Clip(
        "c",
        "s",
        25,
        np.zeros((frames, 68, 2), np.float32),
        np.zeros(4, np.float32),
        np.ones(frames, bool),
        np.zeros(640 * frames, np.float32),
        np.zeros((4 * frames, 26), np.float32),
        mel,
        np.zeros((frames, 4), np.float32),
        crops if faces else None,
    )


def test_sync_windows_have_aligned_or_far_audio():
    dataset = SyncWindowDataset([make_clip()], samples_per_epoch=64)
    labels = []
    for index in range(64):
        item = dataset[index]
        start = int(round(float(item["faces"][0, 0, 0, 0]) * 255))
        audio_start = int(item["mel"][0, 0, 0])
        assert item["faces"].shape == (5, 3, 96, 96) and item["mel"].shape == (1, 80, 16)
        if item["label"] == 1:
            assert audio_start == mel_start(start)
        else:
            frame = next(t for t in range(40) if mel_start(t) == audio_start)
            assert abs(frame - start) >= 5
        labels.append(float(item["label"]))
    assert 0.2 < np.mean(labels) < 0.8


def test_generator_windows_reference_does_not_overlap_and_frame_mels_are_centred():
    item = FaceWindowDataset([make_clip()], samples_per_epoch=8)[3]
    start = int(round(float(item["target"][0, 0, 0, 0]) * 255))
    reference = int(round(float(item["reference"][0, 0, 0, 0]) * 255))
    assert abs(reference - start) >= 5
    assert item["frame_mels"].shape == (5, 1, 80, 16)
    assert int(item["frame_mels"][2, 0, 0, 0]) == mel_start(start)  # frame start + 2's window starts at frame start
    torch.testing.assert_close(item["mel"], mel_tensor(make_clip().mel, start))


def test_faces_are_required():
    with pytest.raises(ValueError, match="--faces"):
        SyncWindowDataset([make_clip(faces=False)])
    assert faces_to_tensor(np.full((2, 96, 96, 3), 255, np.uint8)).max() == 1.0


def test_offset_windows_are_stride_apart_with_their_own_audio():
    dataset = OffsetWindowDataset([make_clip()], windows=4, stride=3, samples_per_epoch=16)
    for index in range(16):
        item = dataset[index]
        assert item["faces"].shape == (4, 5, 3, 96, 96) and item["mels"].shape == (4, 1, 80, 16)
        assert item["mouth"].shape == (4, 5, 3)
        starts = [int(round(float(item["faces"][m, 0, 0, 0, 0]) * 255)) for m in range(4)]
        assert np.diff(starts).tolist() == [3, 3, 3] and starts[-1] + 5 <= 40
        assert [int(item["mels"][m, 0, 0, 0]) for m in range(4)] == [mel_start(s) for s in starts]
    with pytest.raises(ValueError, match="frames"):
        OffsetWindowDataset([make_clip(frames=12)], windows=4, stride=3)


def test_augmentation_jitters_a_window_as_one_and_stays_in_range():
    rng = np.random.default_rng(0)
    faces = torch.rand(5, 3, 96, 96)
    faces[1] = faces[0]
    jittered = augment_faces(faces, rng)
    assert jittered.shape == faces.shape and 0 <= jittered.min() and jittered.max() <= 1
    torch.testing.assert_close(jittered[0], jittered[1])  # equal frames stay equal: one jitter for the window
    assert not torch.equal(jittered, faces)


def test_stored_samples_hold_uint8_faces_and_batch_to_the_same_floats():
    from talkhead.data.face_windows import collate_stored, face_window_sample, offset_sample, stored_faces

    clip = make_clip(40)
    samples = [face_window_sample(clip, np.random.default_rng(n)) for n in range(3)]
    stored = [stored_faces(sample) for sample in samples]
    assert stored[0]["target"].dtype == torch.uint8 and stored[0]["reference"].dtype == torch.uint8
    assert stored[0]["frame_mels"].dtype == torch.float32  # only the faces are stored small
    batch, expected = collate_stored(stored), torch.utils.data.default_collate(samples)
    assert batch.keys() == expected.keys()
    for key in expected:
        assert torch.equal(batch[key], expected[key]), key
    augmented = offset_sample(clip, np.random.default_rng(0), windows=3, stride=2, augment=True)
    restored = collate_stored([stored_faces(augmented)])["faces"][0]
    assert (restored - augmented["faces"]).abs().max() <= 0.5 / 255 + 1e-6  # the 1/255 grid, no more
