"""A photo that talks like a person: an open photo closes, the eyes blink, the mouth interior is
generated inside the lips and nowhere else."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from talkhead.models.mouth_interior import MouthInteriorConfig, MouthInteriorGenerator
from talkhead.models.mouth_motion import MouthMotionConfig, MouthMotionModel
from talkhead.options import TalkingHeadOptions
from talkhead.pipelines.loading import TalkingHeadModels
from talkhead.pipelines.talking_head import talking_head
from talkhead.pipelines.talking_head.blinks import FIRST_BLINK_AFTER, count_blinks, eye_aspect_ratio
from talkhead.pipelines.talking_head.photo_frames import OPEN_PHOTO_GAP
from talkhead.pipelines.talking_head.photo_motion import (
    RENDERED_OPENING_SHARE,
    close_photo_mouth,
    speak_with_mouth_model,
)
from talkhead.pipelines.talking_head.speech_to_landmarks import SpeechToLandmarks, face_landmarks
from talkhead.processing.landmarks import mouth_opening
from talkhead.processing.mouth import inner_lip_opening, mouth_shapes

from ...conftest import speech_like


@pytest.fixture(scope="module")
def head(generator_path):
    return SpeechToLandmarks(str(generator_path))


@pytest.fixture(scope="module")
def mouth():
    torch.manual_seed(0)
    return MouthMotionModel(MouthMotionConfig.from_preset("tiny", use_phones=False, output_gain=8.0)).eval()


def frames_of(photo, wave, head, mouth, interior=None, **options):
    frames = []
    models = TalkingHeadModels(head, mouth, mouth_interior=interior)
    result = talking_head(photo, wave, None, models, TalkingHeadOptions(progress=False, **options), frames.append)
    return result, frames


def test_the_astronaut_is_an_open_photo_and_closes(astronaut):
    points, _ = face_landmarks(astronaut)
    assert mouth_opening(points) > OPEN_PHOTO_GAP  # she smiles with her teeth showing
    closed_image, closed = close_photo_mouth(astronaut, points)
    assert inner_lip_opening(closed) < 0.01 < inner_lip_opening(points)
    assert closed[8, 1] < points[8, 1]  # the chin rose with the lower lip
    changed = np.abs(closed_image.astype(int) - astronaut.astype(int)).sum(-1) > 0
    rows, columns = np.nonzero(changed)
    low, high = points.min(0), points.max(0)
    margin = 0.4 * (high - low)
    assert low[0] - margin[0] <= columns.min() and columns.max() <= high[0] + margin[0]  # only the face moved
    assert rows.max() <= high[1] + margin[1]
    found, _ = face_landmarks(closed_image)  # dlib sees the lips meet in the closed photo
    assert inner_lip_opening(found) < 0.5 * inner_lip_opening(points)


LOWER_LIP = [7, 8, 9, 17, 18, 19]  # of the 20 mouth points: outer 55-57 and inner 65-67


class LowerLipDown:
    """A mouth-motion model stand-in whose photo motion lowers the lower lip by ``drop`` face-frame units."""

    config = MouthMotionConfig.from_preset("tiny", use_phones=False)

    def __init__(self, drop: float):
        self.drop = drop

    def predict_photo(self, wave, num_frames, fps, rest, phones, language):
        displacements = np.zeros((num_frames, 20, 2))
        displacements[:, LOWER_LIP, 1] = self.drop
        return displacements


def test_photo_motion_is_scaled_up_by_what_rendering_loses(astronaut):
    points, _ = face_landmarks(astronaut)
    closed = close_photo_mouth(astronaut, points)[1]
    frames = np.repeat(closed[None], 3, 0)
    wave = np.zeros(3 * 640, np.float32)
    for lip_scale in (1.0, 0.5):
        moved = speak_with_mouth_model(frames, closed, LowerLipDown(0.03), wave, lip_scale, visemes=False)
        drop = mouth_shapes(moved)[:, LOWER_LIP, 1] - mouth_shapes(closed[None])[:, LOWER_LIP, 1]
        np.testing.assert_allclose(drop, 0.03 * lip_scale / RENDERED_OPENING_SHARE, atol=1e-6)


def test_open_photo_rests_closed_unless_asked(astronaut, head, mouth):
    wave = speech_like(1.0)
    neutral, _ = frames_of(astronaut, wave, head, mouth, lip_scale=0.0, blinks=False, output_size=256)
    kept, _ = frames_of(
        astronaut, wave, head, mouth, lip_scale=0.0, blinks=False, output_size=256, keep_open_mouth=True
    )
    assert np.all(inner_lip_opening(neutral.landmarks) < 0.01)
    assert np.all(inner_lip_opening(kept.landmarks) > 0.05)


def test_blinks_close_the_eyes_and_can_be_turned_off(astronaut, head, mouth):
    from talkhead.processing.faces import FaceTracker

    wave = speech_like(6.0)
    _, blinking = frames_of(astronaut, wave, head, mouth, output_size=384, lip_scale=0.0)
    _, still = frames_of(astronaut, wave, head, mouth, output_size=384, lip_scale=0.0, blinks=False)
    tracker = FaceTracker()
    eyes = eye_aspect_ratio(np.stack([tracker.update(f) for f in blinking]))
    tracker = FaceTracker()
    still_eyes = eye_aspect_ratio(np.stack([tracker.update(f) for f in still]))
    assert count_blinks(eyes) >= 1 and count_blinks(still_eyes) == 0
    first = int(FIRST_BLINK_AFTER * 25)
    np.testing.assert_array_equal(blinking[:first], still[:first])  # the first frames are the photo's eyes
    assert eyes.min() < 0.6 * np.median(still_eyes)


@pytest.mark.parametrize("photo_kind", ["closed", "open"])
def test_the_interior_changes_only_the_inside_of_the_mouth(astronaut, head, mouth, photo_kind):
    """A closed photo's opened mouth is the generator's; an open photo's, its own teeth warped to the frame's."""
    torch.manual_seed(0)
    generator = MouthInteriorGenerator(MouthInteriorConfig.from_preset("tiny")).eval()
    photo = astronaut if photo_kind == "open" else close_photo_mouth(astronaut, face_landmarks(astronaut)[0])[0]
    wave = speech_like(1.5)
    result, filled = frames_of(photo, wave, head, mouth, generator, output_size=320, blinks=False)
    _, painted = frames_of(photo, wave, head, mouth, output_size=320, blinks=False, mouth_interior=False)
    changed_frames = 0
    for frame_a, frame_b, points in zip(filled, painted, result.landmarks, strict=True):
        differ = np.abs(frame_a.astype(int) - frame_b.astype(int)).sum(-1) > 0
        if not differ.any():
            continue
        changed_frames += 1
        rows, columns = np.nonzero(differ)
        low, high = points[60:68].min(0) - 5, points[60:68].max(0) + 5  # the grown, feathered polygon
        assert low[0] <= columns.min() and columns.max() <= high[0] and low[1] <= rows.min() and rows.max() <= high[1]
    open_frames = int(np.sum(inner_lip_opening(result.landmarks) > 0.02))
    assert open_frames > 0 and changed_frames >= open_frames // 2  # an opened mouth is filled


def test_piecewise_affine_warp_is_the_identity_and_collapses_triangles():
    from talkhead.pipelines.warp import piecewise_affine_warp

    image = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    square = np.array([[0, 0], [63, 0], [0, 63], [63, 63], [32, 20], [32, 44]], float)
    np.testing.assert_array_equal(piecewise_affine_warp(image, square, square), image)
    closed = square.copy()
    closed[5] = closed[4]  # the lower point meets the upper one: what lay between them vanishes
    warped = piecewise_affine_warp(image, square, closed)
    assert warped.shape == image.shape and not np.array_equal(warped, image)
    np.testing.assert_array_equal(warped[:, 0], image[:, 0])  # the border stays
    np.testing.assert_array_equal(warped[0], image[0])


def test_blink_schedule_rate_duration_and_seed():
    from talkhead.pipelines.talking_head.blinks import blink_schedule

    closure = blink_schedule(25 * 300, 25.0, seed=4)
    shut = closure > 0
    edges = np.diff(np.r_[0, shut.astype(int), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    assert 10 <= len(starts) / 5 <= 30  # per minute
    assert np.all((ends - starts) <= 0.3 * 25 + 1) and np.all((ends - starts) >= 2)
    assert all(closure[a:b].max() == 1 for a, b in zip(starts, ends, strict=True))  # the lids meet in every blink
    assert not closure[: int(FIRST_BLINK_AFTER * 25)].any()
    np.testing.assert_array_equal(blink_schedule(25 * 300, 25.0, seed=4), closure)
    assert not np.array_equal(blink_schedule(25 * 300, 25.0, seed=5), closure)


def test_count_blinks_ignores_long_closures():
    openness = np.full(200, 0.3)
    openness[20:24] = 0.05  # a blink
    openness[100:140] = 0.05  # eyes down for 1.6 s
    openness[150] = np.nan
    assert count_blinks(openness) == 1


def test_the_region_warp_is_the_whole_warp_there(astronaut):
    from talkhead.pipelines.warp import border_anchors, thin_plate_map, thin_plate_region

    points, _ = face_landmarks(astronaut)
    moved = points.copy()
    moved[48:68, 1] += np.linspace(0, 6, 20)  # the mouth opens
    anchors = border_anchors(astronaut.shape[1], astronaut.shape[0])
    target, source = np.concatenate([moved, anchors]), np.concatenate([points, anchors])
    box = (
        int(points[48:68, 0].min()) // 4 * 4,
        int(points[48:68, 1].min()) // 4 * 4,
        int(points[48:68, 0].max()) + 6,
        int(points[48:68, 1].max()) + 9,
    )
    mapping = thin_plate_map(target, source, astronaut.shape[1], astronaut.shape[0], detail=np.array(box, float))
    whole = cv2.remap(astronaut, mapping, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    patch = thin_plate_region(astronaut, target, source, box)
    np.testing.assert_array_equal(patch, whole[box[1] : box[3], box[0] : box[2]])


def test_render_threads_do_not_change_the_frames(astronaut, head, mouth, monkeypatch):
    from talkhead.pipelines import concurrency

    wave = speech_like(1.5)
    _, threaded = frames_of(astronaut, wave, head, mouth, output_size=256)
    monkeypatch.setattr(concurrency, "RENDER_THREADS", 1)
    _, serial = frames_of(astronaut, wave, head, mouth, output_size=256)
    assert len(threaded) == len(serial) > 30
    for a, b in zip(threaded, serial, strict=True):
        np.testing.assert_array_equal(a, b)


def test_predict_photo_anchors_on_the_closed_mouth_and_scales_to_a_typical_speaker():
    from talkhead.processing.mouth import keep_lips_apart, shape_inner_lip_opening, shape_lip_gap

    torch.manual_seed(1)
    model = MouthMotionModel(MouthMotionConfig.from_preset("tiny", use_phones=False, output_gain=4.0)).eval()
    rest = np.zeros((20, 2))
    rest[:, 0] = np.linspace(-0.5, 0.5, 20)  # a flat, shut mouth
    wave = speech_like(3.0)
    unscaled = model.predict_photo(wave, 75, 25, rest)
    gaps = shape_lip_gap(rest + unscaled)
    lowest = np.sort(gaps)[: max(1, len(gaps) // 10)]
    assert abs(lowest.mean()) < 0.25 * np.std(gaps)  # the most closed tenth of the frames meets the shut photo
    model.config.speech_opening_std = 2.0 * float(np.std(shape_inner_lip_opening(keep_lips_apart(rest + unscaled))))
    scaled = model.predict_photo(wave, 75, 25, rest)
    np.testing.assert_allclose(scaled, 2.0 * unscaled, rtol=1e-6, atol=1e-9)
    silent = model.predict_photo(np.zeros(3 * 16000, np.float32), 75, 25, rest)
    assert np.abs(silent).max() < 1e-6  # silence: the photo's own shut mouth


def test_a_closed_photo_keeps_no_dark_notches_beside_its_corners(astronaut):
    original = cv2.resize(astronaut, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    points = face_landmarks(astronaut)[0] * 2
    photo = original.copy()
    for inner, outer, top, bottom in ((60, 48, 61, 67), (64, 54, 63, 65)):
        # dlib's inner corner well inside the mouth, the dark of the open mouth reaching out to the outer corner
        points[inner] = points[outer] + 0.5 * ((points[top] + points[bottom]) / 2 - points[outer])
        wedge = [
            points[outer] + 0.1 * (points[inner] - points[outer]),
            points[inner] + 0.4 * (points[top] - points[inner]),
            points[inner] + 0.4 * (points[bottom] - points[inner]),
        ]
        cv2.fillConvexPoly(photo, np.round(np.array(wedge) * 16).astype(np.int32), (0, 0, 0), cv2.LINE_8, shift=4)
    painted = (photo != original).any(-1).sum()
    with_wedges, _ = close_photo_mouth(photo, points)
    without, _ = close_photo_mouth(original, points)
    left_dark = (with_wedges.astype(int).sum(-1) < 150) & (without.astype(int).sum(-1) >= 150)
    # at most a thin line where the lips meet (8 of 165 pixels; 44 when the triangles crossed the inner lips)
    assert left_dark.sum() < 0.15 * painted, f"{left_dark.sum()} of {painted} painted pixels left dark"
