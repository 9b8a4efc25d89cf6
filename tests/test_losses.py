import math

import torch
import torch.nn.functional as F

from talkhead.losses import info_nce_loss, infonce_margin, syncnet_contrastive_loss


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
