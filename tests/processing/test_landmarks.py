import numpy as np

from talkhead.processing import landmarks as L


def test_flip_permutation_is_an_involution_with_the_right_fixed_points():
    perm = L.FLIP_PERMUTATION
    assert sorted(perm.tolist()) == list(range(68))
    np.testing.assert_array_equal(perm[perm], np.arange(68))
    # points on the vertical midline map to themselves: chin, nose bridge and tip, lip centres
    assert set(np.flatnonzero(perm == np.arange(68)).tolist()) == {8, 27, 28, 29, 30, 33, 51, 57, 62, 66}
    assert perm[36] == 45 and perm[48] == 54 and perm[0] == 16


def test_flip_twice_is_identity_and_mirrors_coordinates():
    rng = np.random.default_rng(0)
    points = rng.random((7, 68, 2)).astype(np.float32)
    flipped = L.flip_landmarks(points)
    np.testing.assert_allclose(L.flip_landmarks(flipped), points, atol=1e-6)
    np.testing.assert_allclose(flipped[:, 45, 0], 1 - points[:, 36, 0], atol=1e-6)
    np.testing.assert_allclose(flipped[:, :, 1], points[:, L.FLIP_PERMUTATION, 1])


def test_normalisation_round_trip_and_units():
    crop = np.array([100, 50, 300, 250], np.float32)
    pixels = np.array([[100, 50], [300, 250], [200, 150]], np.float32)
    unit = L.normalize_landmarks(pixels, crop)
    np.testing.assert_allclose(unit, [[0, 0], [1, 1], [0.5, 0.5]])
    np.testing.assert_allclose(L.denormalize_landmarks(unit, crop), pixels, atol=1e-4)


def test_smoothing_keeps_constants_and_ramps_and_damps_jitter():
    const = np.ones((10, 68, 2), np.float32)
    np.testing.assert_allclose(L.smooth_landmarks(const), const)
    ramp = np.arange(10, dtype=np.float32)[:, None, None] * np.ones((1, 68, 2), np.float32)
    np.testing.assert_allclose(L.smooth_landmarks(ramp)[1:-1], ramp[1:-1], atol=1e-6)
    jitter = const + np.array([0.3, -0.3] * 5, np.float32)[:, None, None]
    assert np.abs(L.smooth_landmarks(jitter) - 1)[1:-1].max() < 0.11


def test_mouth_opening_is_scale_free():
    points = np.zeros((68, 2), np.float32)
    points[48], points[54] = (0, 0), (10, 0)
    points[62], points[66] = (5, -1), (5, 1)
    assert L.mouth_opening(points) == np.float32(0.2)
    assert L.mouth_opening(3 * points) == np.float32(0.2)


def test_mouth_shape_by_hand_and_mirror_invariant():
    points = np.zeros((68, 2), np.float32)
    points[48], points[54] = (0, 0), (10, 0)
    points[62], points[66] = (5, -1), (5, 1)
    points[51], points[57] = (5, -2), (5, 3)
    points[0], points[16] = (-10, 0), (30, 0)
    np.testing.assert_allclose(L.mouth_shape(points), [0.2, 0.5, 0.25], rtol=1e-6)
    np.testing.assert_allclose(L.mouth_shape(L.flip_landmarks(points[None] / 40 + 0.5))[0], [0.2, 0.5, 0.25], rtol=1e-5)


def test_normalize_landmarks_takes_one_box_per_frame():
    points = np.random.default_rng(0).uniform(50, 150, (3, 68, 2))
    boxes = np.array([[40, 40, 160, 160], [0, 0, 200, 200], [50, 30, 150, 130]], np.float32)
    per_frame = L.normalize_landmarks(points, boxes)
    for t in range(3):
        np.testing.assert_allclose(per_frame[t], L.normalize_landmarks(points[t], boxes[t]), atol=1e-6)
    np.testing.assert_allclose(L.denormalize_landmarks(per_frame, boxes), points, atol=1e-3)


def test_similarity_transform_recovers_rotation_scale_and_shift():
    source = np.random.default_rng(1).uniform(0, 100, (20, 2))
    angle = 0.3
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    target = source @ (1.7 * rotation).T + [5, -8]
    matrix = L.similarity_transform(source, target)
    np.testing.assert_allclose(L.apply_transform(matrix, source), target, atol=1e-9)


def test_closing_a_wide_open_mouth_keeps_the_lips_beside_the_corners_on_their_side():
    points = np.zeros((68, 2), np.float32)
    points[48:68, 0] = np.linspace(-1, 1, 20)  # x does not matter to closing
    points[[48, 54, 60, 64], 1] = 0.0  # corners
    points[[49, 53], 1], points[[50, 51, 52], 1] = -4.0, -6.0  # outer upper lip
    points[[61, 62, 63], 1] = -2.0  # inner upper lip
    points[[65, 66, 67], 1] = 20.0  # inner lower lip: a mouth open 22 units
    points[[55, 59], 1], points[[56, 57, 58], 1] = 5.0, 26.0  # outer lower lip, close under the corners at the sides
    closed = L.close_mouth(points, upper_share=0.15)
    assert np.allclose(closed[[61, 62, 63], 1], closed[[67, 66, 65], 1])
    assert (closed[[55, 59], 1] > 0).all(), "the lower lip beside the corners rose above them"
    assert (closed[[49, 53], 1] < 0).all()
    assert np.allclose(closed[57, 1], 26.0 - 0.85 * 22.0)  # the middle follows the whole gap
