"""Retrieval-and-warp mouth rendering: retrieval with Viterbi smoothing, and a warp that keeps what it should."""

import numpy as np
import pytest

from talkhead.metrics.mouth_quality import box_psnr, mouth_box
from talkhead.pipelines import mouth_retrieval as retrieval
from talkhead.pipelines.mouth_paste import render_frame
from talkhead.processing.faces import FaceTracker
from talkhead.processing.mouth import mouth_shapes

from ..conftest import face_frame


def _pool(shapes: np.ndarray, frame_indices) -> retrieval.MouthPool:
    n = len(shapes)
    return retrieval.MouthPool(
        np.zeros((n, 8, 8, 3), np.uint8),
        np.zeros((n, 68, 2)),
        shapes,
        np.zeros((n, 4)),
        np.asarray(frame_indices),
        20.0,
    )


def test_retrieval_takes_the_nearest_shape_and_prefers_playing_on():
    rng = np.random.default_rng(0)
    shapes = rng.normal(0, 0.1, (12, 20, 2))
    pool = _pool(shapes, np.arange(12))
    targets = shapes[[3, 7, 1]]
    assert retrieval.retrieve(pool, targets, np.zeros((3, 4)), switch_cost=0).tolist() == [3, 7, 1]
    # targets between frames 4..6 and a near copy elsewhere: a high switch cost plays 4, 5, 6 in order
    near = shapes[[4, 5, 6]] + 0.001
    noisy_pool = _pool(np.concatenate([shapes, shapes[[5]] - 0.0005]), np.r_[np.arange(12), 40])
    assert retrieval.retrieve(noisy_pool, near, np.zeros((3, 4)), switch_cost=10).tolist() == [4, 5, 6]
    excluded = retrieval.retrieve(pool, targets, np.zeros((3, 4)), frame_indices=np.array([3, 7, 1]), exclude_within=1)
    assert (excluded != [3, 7, 1]).all()


def test_a_jump_prefers_a_mouth_that_looks_like_the_one_before():
    shapes = np.zeros((3, 20, 2))
    shapes[1, :, 1], shapes[2, :, 1] = 0.11, 0.1  # the bright mouth 2 is the nearer shape for the second frame
    pool = _pool(shapes, [0, 10, 20])  # spread frames: no jump plays on
    pool.patches[:2], pool.patches[2] = 40, 220  # mouths 0 and 1 look alike, 2 does not
    pool.landmarks[:] = np.random.default_rng(0).uniform(1, 7, (3, 68, 2))
    targets = np.stack([shapes[0], shapes[2]])
    poses = np.zeros((2, 4))
    assert pool.looks[0, 1] < 0.1 < pool.looks[0, 2]
    assert retrieval.retrieve(pool, targets, poses, look_cost=0).tolist() == [0, 2]
    assert retrieval.retrieve(pool, targets, poses, look_cost=1).tolist() == [0, 1]


def test_a_frame_that_must_be_shut_takes_a_mouth_that_shows_no_teeth():
    shapes = np.zeros((2, 20, 2))
    shapes[1, :, 1] = 0.01  # mouth 1 is a little further from the target shape
    pool = _pool(shapes, [0, 10])
    pool.patches = np.zeros((2, 40, 40, 3), np.uint8)
    pool.patches[:] = (150, 70, 70)
    pool.patches[0, 18:23, 10:30] = 235  # mouth 0 shows a band of teeth between lips that meet
    lips = np.array([[10 + 2 * i, 14] for i in range(7)] + [[10 + 2 * i, 26] for i in range(5, 0, -1)], float)
    pool.landmarks[:, 48:60] = lips
    targets, poses = np.zeros((1, 20, 2)), np.zeros((1, 4))
    assert pool.teeth[0] > 0.1 and pool.teeth[1] == 0
    assert retrieval.retrieve(pool, targets, poses).tolist() == [0]
    assert retrieval.retrieve(pool, targets, poses, shut=np.ones(1)).tolist() == [1]


def test_a_frame_rendered_from_itself_is_unchanged_and_the_upper_face_is_kept(astronaut):
    frame = face_frame(astronaut)
    landmarks = FaceTracker().update(frame).astype(np.float64)
    pool = retrieval.build_pool([(0, frame, landmarks)], retrieval.choose_pixels_per_unit(landmarks[None]))
    assert pool.shapes.shape == (1, 20, 2) and pool.patches.dtype == np.uint8
    same = render_frame(frame, landmarks, landmarks, pool, 0)
    assert box_psnr(same, frame, mouth_box(landmarks)) > 30
    opened = landmarks.copy()
    opened[[65, 66, 67, 55, 56, 57, 58, 59], 1] += 6  # drop the lower lip by 6 px
    moved = render_frame(frame, landmarks, opened, pool, 0)
    assert box_psnr(moved, frame, mouth_box(landmarks)) < box_psnr(same, frame, mouth_box(landmarks))
    eyes_row = int(landmarks[36:48, 1].max())
    np.testing.assert_array_equal(moved[:eyes_row], frame[:eyes_row])  # nothing above the eyes changes


def test_targets_move_the_chin_with_the_lower_lip(astronaut):
    landmarks = FaceTracker().update(face_frame(astronaut)).astype(np.float64)[None]
    shapes = mouth_shapes(landmarks)
    shapes[:, [7, 8, 9, 17, 18, 19], 1] += 0.1  # lower lip down by 0.1 inter-ocular units
    target = retrieval.target_landmarks(landmarks, shapes)[0]
    drop = target[57, 1] - landmarks[0, 57, 1]
    assert drop > 1 and abs(target[8, 1] - landmarks[0, 8, 1] - drop) < 1e-6  # the chin point follows fully
    np.testing.assert_allclose(target[[0, 16]], landmarks[0, [0, 16]])  # the jaw's ends stay


def test_paste_mask_fades_out_at_the_patch_border():
    """A jaw that reaches past the cut patch must not leave a hard edge where the patch ends (a seam on the neck)."""
    from talkhead.pipelines.mouth_paste import lower_face_mask

    rng = np.random.default_rng(0)
    landmarks = rng.uniform(10, 90, (68, 2))
    landmarks[4:13, 1] = 140  # the jaw far below a 100 x 100 patch
    mask = lower_face_mask(landmarks, (100, 100))
    assert mask[-1].max() == 0 and mask[:, 0].max() == 0 and mask[:, -1].max() == 0
    assert mask[85:95].max() > 0.3  # the fade is a ramp, not a cut: the mask still reaches near the border


def test_silence_targets_the_videos_own_shut_mouth_not_its_mean():
    """10 s of silence closes dubbed lips: the model's rest is a pause in speech and the mean shape of a talking
    video is half open, so their sum would leave the lips apart; silent frames take the video's closed shape (its
    least open tenth)."""
    from talkhead.models.mouth_motion import MouthMotionModel
    from talkhead.pipelines.lip_sync.retrieval_renderer import predicted_shapes
    from talkhead.processing.mouth import closed_shape, shape_inner_lip_opening

    rng = np.random.default_rng(0)
    base = np.stack([np.linspace(-0.4, 0.4, 20), np.zeros(20)], 1)
    openings = rng.uniform(0.0, 0.3, 200)
    shapes = np.repeat(base[None], 200, 0)
    shapes[:, 12:20, 1] = 0.0
    shapes[:, [17, 18, 19], 1] += openings[:, None]  # lower inner lip (65-67) drops by the opening
    closed = closed_shape(shapes)
    assert shape_inner_lip_opening(closed[None])[0] < np.percentile(shape_inner_lip_opening(shapes), 10) + 1e-9
    from talkhead.hub import load_pretrained
    from talkhead.processing.phones import phones_available

    if not phones_available():
        pytest.skip("pocketsphinx is not installed")
    model = load_pretrained(MouthMotionModel, "mouth-motion").eval()
    wave = np.concatenate([np.zeros(16000, np.float32), 0.3 * rng.standard_normal(16000).astype(np.float32)])
    targets = predicted_shapes(model, wave, 50, 25.0, shapes.mean(0), "xx", closed)
    np.testing.assert_allclose(targets[:20], np.repeat(closed[None], 20, 0), atol=1e-9)  # silent second: shut
    assert not np.allclose(targets[30:], closed)  # sound: the model's shapes
