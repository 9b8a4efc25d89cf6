"""AVSyncNet and the SyncNet expert with tiny configs; the ImageNet ResNet-50 loader on a synthetic state dict."""

import pytest
import torch

from talkhead.models.avsyncnet import AVSyncNet, AVSyncNetConfig, load_imagenet_resnet50, lower_half_stack
from talkhead.models.syncnet_expert import SyncNetExpert, SyncNetExpertConfig

MODELS = [(AVSyncNet, AVSyncNetConfig), (SyncNetExpert, SyncNetExpertConfig)]


def inputs(batch=3):
    torch.manual_seed(0)
    return torch.rand(batch, 5, 3, 96, 96), torch.randn(batch, 1, 80, 16)


@pytest.mark.parametrize("model_class, config_class", MODELS)
def test_scores_are_cosines_of_non_negative_embeddings(model_class, config_class):
    """Save/load, batch = singles and gradients: tests/models/test_modeling_common.py."""
    model = model_class(config_class.from_preset("tiny")).eval()
    faces, mel = inputs()
    with torch.no_grad():
        out = model(faces, mel)
    assert (out.face_embeddings >= 0).all() and (out.audio_embeddings >= 0).all()  # ReLU'd: no negative cosine
    torch.testing.assert_close(
        out.scores, torch.nn.functional.cosine_similarity(out.face_embeddings, out.audio_embeddings)
    )


def test_lower_half_is_resized_then_cut():
    faces = torch.zeros(2, 5, 3, 96, 96)
    faces[..., 48:, :] = 1.0
    stacked = lower_half_stack(faces, 224)
    # (the exact value depends on the thread count: bilinear sums differ in the last bit)
    assert stacked.shape == (2, 15, 112, 224) and float(stacked[:, :, 2:].min()) == pytest.approx(1.0, abs=1e-6)


def test_paper_configuration_sizes():
    config = AVSyncNetConfig()
    assert config.audio_frequency_bins == 10 and config.embed_dim == 512
    with pytest.raises(ValueError, match="image_block"):
        AVSyncNetConfig(image_block="dense")


def test_imagenet_resnet50_loader_replicates_conv1_over_frames():
    model = AVSyncNet(AVSyncNetConfig())
    # a torchvision-shaped ResNet-50 state dict: the tower's own keys with layerN names and a 3-channel conv1
    state = {}
    for key, value in model.image_tower.state_dict().items():
        if key.startswith("fc."):
            continue
        if key.startswith("layers."):
            _, stage, rest = key.split(".", 2)
            key = f"layer{int(stage) + 1}.{rest}"
        state[key] = torch.randn_like(value.float()) if value.is_floating_point() else value
    state["conv1.weight"] = torch.randn(64, 3, 7, 7)
    state["fc.weight"] = torch.randn(1000, 2048)
    missing = load_imagenet_resnet50(model, state)
    assert missing == ["fc.bias", "fc.weight"]
    torch.testing.assert_close(model.image_tower.conv1.weight[:, 3:6], state["conv1.weight"] / 5)
    torch.testing.assert_close(model.image_tower.layers[2][1].conv2.weight, state["layer3.1.conv2.weight"])
    with pytest.raises(ValueError, match="paper configuration"):
        load_imagenet_resnet50(AVSyncNet(AVSyncNetConfig.from_preset("tiny")), state)
