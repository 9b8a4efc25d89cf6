import numpy as np
import pytest

from talkhead.processing import face_crops as C
from talkhead.processing import faces as F
from talkhead.processing.landmarks import FLIP_PERMUTATION, MOUTH, flip_landmarks, landmark_bounds

from ..conftest import face_frame


@pytest.fixture(scope="module")
def astronaut_landmarks(astronaut):
    box, count = F.largest_face(astronaut)
    return box, count, F.default_landmark_predictor()(astronaut, box)


def test_detector_finds_the_astronaut(astronaut_landmarks):
    box, count, _ = astronaut_landmarks
    assert count == 1
    # her face is at roughly x 175-270, y 80-180 in the 512 px photo
    assert 150 < box[0] < 200 and 240 < box[2] < 300 and 60 < box[1] < 110 and 150 < box[3] < 210


def test_landmarks_sit_inside_the_face(astronaut_landmarks):
    box, _, landmarks = astronaut_landmarks
    assert landmarks.shape == (68, 2) and landmarks.dtype == np.float32
    mouth_center = landmarks[MOUTH].mean(axis=0)
    assert box[0] < mouth_center[0] < box[2] and (box[1] + box[3]) / 2 < mouth_center[1] < box[3] + 20
    eyes_y = landmarks[36:48, 1].mean()
    assert eyes_y < mouth_center[1] - 20


def test_landmarks_of_the_mirrored_photo_match_the_flip_permutation(astronaut, astronaut_landmarks):
    _, _, landmarks = astronaut_landmarks
    mirrored = np.ascontiguousarray(astronaut[:, ::-1])
    box, _ = F.largest_face(mirrored)
    mirrored_landmarks = F.default_landmark_predictor()(mirrored, box)
    expected = flip_landmarks(landmarks, width=astronaut.shape[1] - 1)
    error = np.linalg.norm(mirrored_landmarks - expected, axis=1)
    assert np.median(error) < 3.0  # pixels, on a 100 px face
    wrong = np.linalg.norm(
        mirrored_landmarks - flip_landmarks(landmarks, astronaut.shape[1] - 1)[FLIP_PERMUTATION], axis=1
    )
    assert np.median(wrong) > 10  # without the index swap the points land on the wrong side


def test_tracker_follows_a_moving_face_and_reports_missing_frames(astronaut):
    shifts = [(2 * i, i) for i in range(12)]
    frames = [face_frame(astronaut, 256, s) for s in shifts]
    frames[6] = np.zeros_like(frames[6])  # the face disappears for one frame
    tracker = F.FaceTracker(redetect_every=4)
    track = tracker.track(frames)
    assert track.found.tolist() == [True] * 6 + [False] + [True] * 5
    centers = track.landmarks[:, :, 0].mean(axis=1)
    scale = 256 / 320
    motion = np.diff(centers[:6])
    assert np.all(motion < 0) and np.allclose(motion, -2 * scale, atol=1.0)  # the crop window moves right
    assert track.detections < len(frames)  # tracking, not detecting every frame


def test_fill_short_gaps_interpolates_up_to_two_frames_only():
    values = np.arange(12, dtype=np.float32)[:, None, None] * np.ones((1, 68, 2), np.float32)
    found = np.array([1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0], bool)
    filled, valid = F.fill_short_gaps(np.where(found[:, None, None], values, np.nan), found, max_gap=2)
    assert valid.tolist() == [1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0]
    np.testing.assert_allclose(filled[2:4, 0, 0], [2, 3])
    assert np.isnan(filled[5:8]).all() and np.isnan(filled[10:]).all()
    assert F.valid_segments(valid, min_length=2) == [(0, 5), (8, 10)]
    assert F.valid_segments(valid, min_length=3) == [(0, 5)]


def test_smooth_boxes_keeps_a_still_box_and_damps_jitter():
    still = np.tile([10, 20, 50, 60], (9, 1)).astype(np.float32)
    np.testing.assert_allclose(C.smooth_boxes(still), still)
    jitter = still + np.array([1, -1] * 4 + [1])[:, None]
    assert np.abs(C.smooth_boxes(jitter) - still)[2:-2].max() <= 0.21


def test_clip_crop_box_is_square_and_holds_every_face_box():
    boxes = np.array([[10, 20, 50, 70], [30, 25, 80, 75], [np.nan] * 4])
    crop = C.clip_crop_box(boxes, enlarge=0.25)
    assert crop[2] - crop[0] == pytest.approx(crop[3] - crop[1])
    assert crop[0] <= 10 and crop[1] <= 20 and crop[2] >= 80 and crop[3] >= 75
    assert crop[2] - crop[0] == pytest.approx(70 * 1.5)


def test_face_crop_puts_eyes_in_the_top_half_and_mouth_in_the_bottom_half(astronaut_landmarks):
    _, _, landmarks = astronaut_landmarks
    box = C.face_crop_boxes(landmarks)
    assert box[2] - box[0] == pytest.approx(box[3] - box[1])
    inside = (landmarks - box[:2]) / (box[2] - box[0])
    assert inside.min() > 0 and inside.max() < 1
    assert inside[36:48, 1].max() < 0.5 < inside[MOUTH, 1].min()
    assert np.all(landmark_bounds(landmarks)[:2] >= box[:2])


def test_crop_and_paste_back_round_trip(astronaut, astronaut_landmarks):
    _, _, landmarks = astronaut_landmarks
    box = C.face_crop_boxes(landmarks)
    face = C.crop_face(astronaut, box, 96)
    assert face.shape == (96, 96, 3) and face.dtype == np.uint8
    painted = C.paste_face(astronaut, np.full_like(face, 255), box)
    changed = np.any(painted != astronaut, axis=2)
    ys, xs = np.nonzero(changed)
    assert box[0] - 2 <= xs.min() and xs.max() <= box[2] + 2 and box[1] - 2 <= ys.min() and ys.max() <= box[3] + 2
    center = tuple(((box[:2] + box[2:]) / 2).astype(int))
    assert painted[center[1], center[0]].tolist() == [255, 255, 255]
    # pasting the unmodified crop back changes the photo only by resampling error
    restored = C.paste_face(astronaut, face, box)
    assert np.abs(restored.astype(int) - astronaut.astype(int)).mean() < 1.0


def test_feather_mask_is_one_inside_and_zero_at_the_border():
    mask = C.feather_mask(96)
    assert mask[48, 48] == 1 and mask[0].max() == 0 and mask[:, 0].max() == 0
    lower = C.feather_mask(96, lower_only=True)
    assert lower[20].max() == 0 and lower[75, 48] == 1


def test_crop_outside_the_frame_replicates_the_edge():
    frame = np.zeros((50, 50, 3), np.uint8)
    frame[:, -1] = 200
    crop = C.crop_face(frame, np.array([30, 0, 80, 50], np.float32), 50)
    assert crop[:, -1].min() == 200


def test_fill_short_gaps_can_hold_the_nearest_face_at_either_end():
    values = np.arange(8, dtype=np.float32)[:, None]
    found = np.array([0, 1, 1, 0, 1, 1, 0, 0], bool)
    kept, valid = F.fill_short_gaps(values, found)
    # Ends stay missing by default: interpolation needs a face on both sides (LouisBearing/UnconditionalHeadMotion,
    # `interpolate`).
    assert valid.tolist() == [0, 1, 1, 1, 1, 1, 0, 0]
    held, valid = F.fill_short_gaps(values, found, hold_ends=True)
    assert valid.all() and held[:, 0].tolist() == [1, 1, 2, 3, 4, 5, 5, 5]
    _, valid = F.fill_short_gaps(values, np.array([0, 0, 0, 1, 1, 1, 1, 1], bool), hold_ends=True)
    assert not valid[:3].any()  # three frames is longer than max_gap: still missing


def test_frame_clip_is_the_dataset_convention(astronaut_landmarks):
    from talkhead.processing.landmarks import normalize_landmarks

    pixels = np.stack([astronaut_landmarks[2] + [3 * t, 0] for t in range(8)]).astype(
        np.float32
    )  # the head drifts right
    framing = C.frame_clip(pixels)
    boxes = C.smooth_boxes(C.face_crop_boxes(pixels))
    np.testing.assert_array_equal(framing.face_boxes, boxes)
    np.testing.assert_array_equal(framing.clip_box, C.clip_crop_box(boxes, C.CLIP_ENLARGE))
    np.testing.assert_array_equal(framing.landmarks, normalize_landmarks(pixels, framing.clip_box))
    assert framing.clip_box.dtype == np.float32 and ((framing.landmarks > 0) & (framing.landmarks < 1)).all()
