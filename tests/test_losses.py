import math

import pytest
import torch
import torch.nn.functional as F

from talkhead.losses import (
    hinge_discriminator_loss,
    hinge_generator_loss,
    info_nce_loss,
    infonce_margin,
    syncnet_contrastive_loss,
)


def test_infonce_is_lower_for_aligned_than_for_shuffled_pairs():
    torch.manual_seed(0)
    audio = F.normalize(torch.randn(48, 16), dim=-1)
    landmarks = F.normalize(audio + 0.1 * torch.randn(48, 16), dim=-1)  # separable: each pair is close
    aligned = info_nce_loss(audio, landmarks)
    shuffled = info_nce_loss(audio, landmarks[torch.randperm(48)])
    assert aligned < shuffled
    assert aligned < 2 * math.log(48) < shuffled + 1.0


def test_infonce_matches_a_hand_computed_case_and_margin_touches_only_the_diagonal():
    audio = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    landmarks = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    cos = torch.tensor([[1.0, 1 / math.sqrt(2)], [0.0, 1 / math.sqrt(2)]])  # audio a vs landmarks b
    margin = 0.3
    logits = cos - margin * torch.eye(2)
    rows = -(logits.diag() - torch.logsumexp(logits, dim=1)).mean()
    cols = -(logits.diag() - torch.logsumexp(logits, dim=0)).mean()
    torch.testing.assert_close(info_nce_loss(audio, landmarks, margin), rows + cols)
    # the margin makes positives harder: the loss grows, and only through the diagonal terms
    assert info_nce_loss(audio, landmarks, margin) > info_nce_loss(audio, landmarks)


def test_hinge_losses_by_hand():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    # real: max(0, 1 - 2) = 0, max(0, 1 - 0.5) = 0.5 -> 0.25; fake: max(0, 1 - 2) = 0, max(0, 1 + 0) = 1 -> 0.5
    assert float(hinge_discriminator_loss(real, fake)) == pytest.approx(0.75)
    assert float(hinge_discriminator_loss(torch.tensor([1.5]), torch.tensor([-1.0]))) == 0.0  # both past the margin
    assert float(hinge_generator_loss(fake)) == pytest.approx(1.0)


def test_infonce_margin_schedule():
    assert infonce_margin(0) == 1e-3
    assert math.isclose(infonce_margin(2500), 1e-3 * 1.002**2)
    assert infonce_margin(10**9) == 0.4


def test_syncnet_contrastive_loss_by_hand():
    landmarks = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    audio = torch.tensor([[0.0, 1.0], [3.0, 4.0]])
    # positives: |(0,0)-(0,1)|² = 1, 0 -> mean 0.5; negatives pair each landmark with the next audio:
    # d((0,0),(3,4)) = 5 -> (10-5)² = 25; d((3,4),(0,1)) = sqrt(18) -> (10-4.243)² = 33.15
    negative = (25 + (10 - math.sqrt(18)) ** 2) / 2
    expected = 0.5 * (0.5 + negative)
    assert math.isclose(float(syncnet_contrastive_loss(landmarks, audio, 10.0)), expected, rel_tol=1e-5)
    far = torch.tensor([[0.0, 0.0], [20.0, 0.0]])
    assert float(syncnet_contrastive_loss(far, far, 10.0)) == 0.0  # aligned and far from the negatives


# ---- stabilized-sync losses (Yaman et al., stabilized sync, eq. 2-4) and the Wav2Lip lip-sync loss ----


def test_stabilized_sync_loss_is_zero_at_ground_truth_finite_when_reference_matches_and_grows():
    from talkhead.losses import stabilized_sync_loss

    y, d = torch.tensor([0.8, 0.6]), torch.tensor([0.3, 0.2])
    assert float(stabilized_sync_loss(y.clone(), y, d)) < 1e-5
    same = stabilized_sync_loss(torch.tensor([0.5, 0.1]), y, y.clone())  # |y - d| = 0: the clamp keeps it finite
    assert torch.isfinite(same)
    values = [float(stabilized_sync_loss(y - gap, y, d)) for gap in (0.01, 0.05, 0.1, 0.2)]
    assert values == sorted(values) and values[0] > 0
    x = torch.tensor([0.7, 0.5], requires_grad=True)
    stabilized_sync_loss(x, y, d).backward()
    assert (x.grad < 0).all()  # x below y: raising x lowers the loss
    # the same gap costs more when the reference scores close to the ground truth
    near = stabilized_sync_loss(torch.tensor([0.7]), torch.tensor([0.8]), torch.tensor([0.75]))
    far = stabilized_sync_loss(torch.tensor([0.7]), torch.tensor([0.8]), torch.tensor([0.1]))
    assert near > far


def test_adaptive_triplet_loss_is_at_least_epsilon_and_hand_computed():
    from talkhead.losses import adaptive_triplet_loss

    g, t, r = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]), torch.tensor([[-1.0, 0.0]])
    # D(g,t) = sqrt2, D(g,r) = 2, D(t,r) = sqrt2: sqrt2 - 2 / sqrt2 + 1 = 1
    torch.testing.assert_close(adaptive_triplet_loss(g, t, r), torch.tensor(1.0))
    assert float(adaptive_triplet_loss(t, t, -t, alpha=0.5)) == pytest.approx(1e-6)  # clamped at ε
    features = torch.randn(6, 3, 4, 4)
    assert float(adaptive_triplet_loss(features, torch.randn_like(features), torch.randn_like(features))) >= 1e-6


def test_lipsync_and_bce_and_nonsaturating_gan_losses():
    from talkhead.losses import (
        lipsync_loss,
        nonsaturating_discriminator_loss,
        nonsaturating_generator_loss,
        sync_bce_loss,
    )

    assert float(lipsync_loss(torch.ones(3))) == pytest.approx(0.0, abs=1e-6)
    assert float(lipsync_loss(torch.zeros(3))) == pytest.approx(-math.log(1e-7), rel=1e-4)
    torch.testing.assert_close(
        sync_bce_loss(torch.tensor([0.9, 0.2]), torch.tensor([1, 0])),
        torch.tensor(-(math.log(0.9) + math.log(0.8)) / 2),
    )
    logits = torch.tensor([0.0])
    torch.testing.assert_close(nonsaturating_discriminator_loss(logits, logits), torch.tensor(2 * math.log(2)))
    torch.testing.assert_close(nonsaturating_generator_loss(logits), torch.tensor(math.log(2)))


def test_offset_classification_loss_prefers_each_window_own_audio():
    from talkhead.losses import offset_classification_loss

    torch.manual_seed(0)
    faces = torch.randn(3, 6, 16)
    loss, cosines = offset_classification_loss(faces, faces + 0.01 * torch.randn(3, 6, 16))
    assert cosines.shape == (3, 6, 6)
    assert (cosines.argmax(dim=2) == torch.arange(6)).all()
    shuffled, _ = offset_classification_loss(faces, faces.roll(1, dims=1))
    assert loss < 0.1 < shuffled
    uniform, _ = offset_classification_loss(torch.ones(2, 4, 8), torch.ones(2, 4, 8))
    torch.testing.assert_close(uniform, torch.tensor(math.log(4)))


def test_patch_weighted_hinge_counts_only_the_generated_patches():
    from talkhead.losses import hinge_discriminator_loss, hinge_generator_loss, patch_weights

    masks = torch.zeros(1, 1, 8, 8)
    masks[..., 2:3, 5:7] = 1  # generated pixels in one patch of a 2x2 score map
    scores = torch.tensor([[[[9.0, -0.5], [9.0, 9.0]]]])
    weights = patch_weights(masks, scores)
    assert weights.tolist() == [[[[0.0, 1.0], [0.0, 0.0]]]]
    assert hinge_generator_loss(scores, weights).item() == pytest.approx(0.5)  # the one patch, not the mean 6.6
    assert hinge_discriminator_loss(scores, scores, weights).item() == pytest.approx(1.5 + 0.5)
