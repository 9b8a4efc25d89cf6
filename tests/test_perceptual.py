"""The VGG-19 perceptual loss with a user-supplied torchvision-format weight file (random weights here)."""

import pytest
import torch

from talkhead.backbones.vgg import VGG19Features, load_vgg19
from talkhead.errors import TalkheadInputError
from talkhead.losses import perceptual_loss


@pytest.fixture(scope="module")
def weight_file(tmp_path_factory):
    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in VGG19Features().features.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # the rest of a torchvision file is ignored
    path = tmp_path_factory.mktemp("vgg") / "vgg19.pth"
    torch.save(state, path)
    return path, state


def test_loader_takes_torchvision_keys_and_loss_behaves(weight_file):
    path, state = weight_file
    vgg = load_vgg19(path)
    torch.testing.assert_close(vgg.features[28].weight, state["features.28.weight"])
    images = torch.rand(2, 3, 96, 96)
    maps = vgg(images)
    assert [m.shape[1] for m in maps] == [64, 128, 256, 512, 512] and maps[-1].shape[-1] == 6
    assert float(perceptual_loss(vgg, images, images)) == 0.0
    noisy = (images + 0.1 * torch.randn_like(images)).clamp(0, 1).requires_grad_()
    loss = perceptual_loss(vgg, noisy, images)
    loss.backward()
    assert loss > 0 and noisy.grad.abs().sum() > 0 and all(p.grad is None for p in vgg.parameters())


def test_missing_or_wrong_files_are_clear_errors(tmp_path):
    with pytest.raises(TalkheadInputError, match="VGG-19 weights not found"):
        load_vgg19(tmp_path / "absent.pth")
    wrong = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(1)}, wrong)
    with pytest.raises(TalkheadInputError, match="not a torchvision VGG-19"):
        load_vgg19(wrong)
