"""The stabilized-sync face U-Net and discriminator with tiny configs: shapes, masks, the frozen audio tower."""

import torch

from talkhead.models.avsyncnet import AVSyncNet, AVSyncNetConfig
from talkhead.models.stable_sync import (
    FaceDiscriminator,
    FaceDiscriminatorConfig,
    StableSyncFaceGenerator,
    StableSyncFaceGeneratorConfig,
    mask_lower_half,
)


def batch(n=4):
    torch.manual_seed(0)
    faces = torch.rand(n, 3, 96, 96)
    return faces, mask_lower_half(faces), torch.randn(n, 1, 80, 16)


def test_pose_mask_zeroes_the_lower_half_only():
    faces = torch.rand(2, 3, 96, 96)
    masked = mask_lower_half(faces)
    assert masked[..., 48:, :].abs().sum() == 0
    torch.testing.assert_close(masked[..., :48, :], faces[..., :48, :])


def test_generator_shapes_and_audio_tower_in_eval_mode():
    """Gradients, the frozen tower and its batch-norm statistics: tests/models/test_modeling_common.py."""
    generator = StableSyncFaceGenerator(StableSyncFaceGeneratorConfig.from_preset("tiny")).train()
    identity, pose, mel = batch()
    out = generator(identity, pose, mel)
    assert out.images.shape == (4, 3, 96, 96) and 0 <= out.images.min() and out.images.max() <= 1
    assert not generator.audio_encoder.training and generator.identity_encoder.training  # the tower stays in eval


def test_audio_tower_comes_from_avsyncnet_and_changes_the_output():
    config = StableSyncFaceGeneratorConfig.from_preset("tiny")
    generator = StableSyncFaceGenerator(config).eval()
    syncnet = AVSyncNet(AVSyncNetConfig(**config.audio_encoder)).eval()
    generator.load_audio_encoder(syncnet)
    identity, pose, mel = batch(2)
    with torch.no_grad():
        out = generator(identity, pose, mel)
        other = generator(identity, pose, torch.randn(2, 1, 80, 16))
        torch.testing.assert_close(out.audio_embeddings, syncnet.audio_tower(mel, relu=False))
    assert (out.images - other.images).abs().max() > 0  # the audio reaches the pixels


def test_discriminator_gives_one_logit_per_face():
    discriminator = FaceDiscriminator(FaceDiscriminatorConfig.from_preset("tiny"))
    logits = discriminator(torch.rand(5, 3, 96, 96)).logits
    assert logits.shape == (5,) and torch.isfinite(logits).all()


def test_paper_size_generator_and_width_multiplier():
    paper = sum(p.numel() for p in StableSyncFaceGenerator(StableSyncFaceGeneratorConfig()).parameters())
    small = sum(
        p.numel() for p in StableSyncFaceGenerator(StableSyncFaceGeneratorConfig.from_preset("small")).parameters()
    )
    assert paper > 50_000_000 and small < paper / 10
