"""The mouth-interior generator: its crops, masks, samples, losses and the teeth measure."""

import numpy as np
import pytest
import torch

from talkhead.data.clips import Clip
from talkhead.data.mouth_interior_samples import MIN_REFERENCE_DISTANCE, OPEN_MOUTH, MouthInteriorSamples
from talkhead.losses import image_gradient_loss, masked_l1_loss
from talkhead.metrics.mouth_quality import teeth_share
from talkhead.models.mouth_interior import MouthInteriorConfig, MouthInteriorGenerator
from talkhead.processing.landmarks import close_mouth, normalize_landmarks
from talkhead.processing.mouth import eye_distance, inner_lip_opening
from talkhead.processing.mouth_crops import MOUTH_BOX_SCALE, inner_mouth_mask, mouth_crop_boxes, points_in_box


def open_face(gap: float = 30.0) -> np.ndarray:
    """68 points of a frontal face about 200 px wide, its lips ``gap`` pixels apart."""
    points = np.zeros((68, 2))
    points[:17] = np.stack([np.linspace(100, 300, 17), 250 + 60 * np.sin(np.linspace(0, np.pi, 17))], 1)
    points[17:27] = np.stack([np.linspace(120, 280, 10), np.full(10, 150)], 1)
    points[27:36] = np.stack([np.full(9, 200), np.linspace(160, 230, 9)], 1)
    for start, x in ((36, 150), (42, 250)):  # eyes: six points round (x, 180)
        angles = np.linspace(np.pi, -np.pi, 6, endpoint=False)
        points[start : start + 6] = np.stack([x + 20 * np.cos(angles), 180 - 8 * np.sin(angles)], 1)
    angles = np.linspace(np.pi, -np.pi, 12, endpoint=False)
    points[48:60] = np.stack([200 + 45 * np.cos(angles), 275 - (12 + gap / 2) * np.sin(angles)], 1)
    inner = np.linspace(np.pi, -np.pi, 8, endpoint=False)
    points[60:68] = np.stack([200 + 35 * np.cos(inner), 275 - gap / 2 * np.sin(inner)], 1)
    return points


def test_mouth_box_is_centred_and_scaled_by_the_eyes():
    face = open_face()
    box = mouth_crop_boxes(face)
    np.testing.assert_allclose((box[:2] + box[2:]) / 2, face[48:68].mean(0), atol=1e-4)
    assert box[2] - box[0] == pytest.approx(MOUTH_BOX_SCALE * eye_distance(face), rel=1e-5)
    assert box[2] - box[0] == pytest.approx(box[3] - box[1])
    assert np.allclose(mouth_crop_boxes(np.stack([face, face]))[1], box)  # batched


def test_mask_covers_the_open_mouth_and_nothing_when_closed():
    face = open_face(gap=30)
    crop_points = points_in_box(face, mouth_crop_boxes(face))
    mask = inner_mouth_mask(crop_points)
    centre = np.round(crop_points[60:68].mean(0)).astype(int)
    assert mask[centre[1], centre[0]] == pytest.approx(1.0) and mask[0, 0] == 0
    assert 0 < (mask > 0.5).mean() < 0.3
    assert not inner_mouth_mask(points_in_box(close_mouth(face), mouth_crop_boxes(face)), grow=0).any()


def tiny_generator(**overrides):
    torch.manual_seed(0)
    return MouthInteriorGenerator(MouthInteriorConfig.from_preset("tiny", **overrides)).eval()


def test_only_the_masked_region_changes():
    model = tiny_generator()
    crops, references = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    masks = torch.zeros(2, 1, 64, 64)
    masks[..., 20:40, 16:48] = 1
    images = model(crops, masks, references).images
    outside = masks.expand_as(crops) == 0
    torch.testing.assert_close(images[outside], crops[outside], rtol=0, atol=0)
    assert not torch.allclose(images[~outside], crops[~outside], atol=1e-3)
    altered = crops.clone()
    altered[~outside] = 0.5  # what was inside the mask never reaches the output
    torch.testing.assert_close(model(altered, masks, references).images, images)


def test_reference_is_required_and_config_is_checked():
    with pytest.raises(ValueError, match="references="):
        tiny_generator()(torch.rand(1, 3, 64, 64), torch.zeros(1, 1, 64, 64))
    assert tiny_generator(use_reference=False)(torch.rand(1, 3, 64, 64), torch.zeros(1, 1, 64, 64)).images.shape == (
        1,
        3,
        64,
        64,
    )
    with pytest.raises(ValueError, match="mouth_size=60"):
        MouthInteriorConfig(mouth_size=60)
    with pytest.raises(ValueError, match="widths"):
        MouthInteriorConfig(widths=[8, 8])


def test_losses_see_the_mask_and_the_edges():
    images = torch.rand(2, 3, 32, 32)
    masks = torch.zeros(2, 1, 32, 32)
    masks[..., 8:24, 8:24] = 1
    assert masked_l1_loss(images, images, masks) == 0
    changed_outside = images.clone()
    changed_outside[..., :4, :4] = 0
    assert masked_l1_loss(changed_outside, images, masks) == 0  # outside the mask does not count
    flat = images.clone()
    flat[..., 8:24, 8:24] = images[..., 8:24, 8:24].mean()  # same mean, no edges: a smear
    assert image_gradient_loss(flat, images, masks) > image_gradient_loss(images, images, masks) + 0.1


def test_teeth_share():
    face = open_face(gap=30)
    image = np.full((400, 400, 3), (150, 60, 60), np.uint8)  # red: lips and tongue
    assert teeth_share(image, face) == 0
    image[:, :] = (235, 232, 225)  # white, grey
    assert teeth_share(image, face) == 1
    assert np.isnan(teeth_share(image, close_mouth(face)))


def samples_clip(frames: int = 120) -> Clip:
    """A clip whose mouth opens every other 10 frames."""
    gaps = np.where((np.arange(frames) // 10) % 2 == 0, 0.0, 30.0)
    pixels = np.stack([open_face(g) for g in gaps]).astype(np.float32)
    clip_box = np.array([0, 0, 400, 400], np.float32)
    return Clip(
        clip_id="c",
        source="s",
        fps=25,
        landmarks=normalize_landmarks(pixels, clip_box),
        clip_box=clip_box,
        face_found=np.ones(frames, bool),
        audio=np.zeros(640 * frames, np.float32),
        logfbank=np.zeros((4 * frames, 26), np.float32),
        mel=np.zeros((10, 80), np.float32),
        face_boxes=np.zeros((frames, 4), np.float32),
        mouths=np.random.default_rng(0).integers(0, 255, (frames, 64, 64, 3), dtype=np.uint8),
        mouth_boxes=mouth_crop_boxes(pixels).astype(np.float32),
    )


def test_samples_are_mostly_open_targets_far_from_their_references():
    clip = samples_clip()
    samples = MouthInteriorSamples([clip], 200, seed=3, open_share=1.0, augment=False)
    opening = inner_lip_opening(open_face(30.0)[None])[0]
    assert opening > OPEN_MOUTH
    for index in range(50):
        _, target, reference, _ = samples.draw(index)
        assert abs(target - reference) >= MIN_REFERENCE_DISTANCE
        assert (target // 10) % 2 == 1  # an open frame
    first = samples[7]
    assert first["crops"].shape == first["references"].shape == (3, 64, 64) and first["masks"].shape == (1, 64, 64)
    assert first["masks"].max() == 1  # an open mouth has something to fill
    torch.testing.assert_close(samples[7]["crops"], first["crops"])  # the same draw every time
    samples.epoch = 1
    assert not torch.equal(samples[7]["crops"], first["crops"])  # a new pass draws anew


def test_samples_need_mouth_crops():
    clip = samples_clip()
    clip.mouths = None
    with pytest.raises(ValueError, match="--mouths"):
        MouthInteriorSamples([clip], 10)


def test_a_reference_encoded_once_gives_the_same_images():
    model = tiny_generator()
    crops, masks, reference = torch.rand(3, 3, 64, 64), torch.zeros(3, 1, 64, 64), torch.rand(1, 3, 64, 64)
    masks[..., 20:40, 16:48] = 1
    direct = model(crops, masks, reference.expand(3, -1, -1, -1)).images
    cached = model(crops, masks, reference_maps=model.encode_reference(reference)).images
    torch.testing.assert_close(cached, direct)
