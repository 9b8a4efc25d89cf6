"""SyncNet v2: the released layer names and shapes, the checkpoint converter on synthetic checkpoints, tiny-config
checks."""

import pytest
import torch
from torch import nn
from transformers import AutoConfig

from talkhead.models.syncnet_v2 import SyncNetV2Config, SyncNetV2Model
from talkhead.models.syncnet_v2.convert_syncnet_v2 import load_original_checkpoint
from talkhead.models.syncnet_v2.convert_syncnet_v2 import main as convert_main

# syncnet_python's SyncNetModel.S (num_layers_in_fc_layers=1024), written out: weighted layers by their
# state-dict names and weight shapes (each also has a bias of the output size), then the batch norms
# with their channels (weight, bias, running_mean, running_var each).
ORIGINAL_WEIGHTS = {
    "netcnnaud.0": (64, 1, 3, 3),
    "netcnnaud.4": (192, 64, 3, 3),
    "netcnnaud.8": (384, 192, 3, 3),
    "netcnnaud.11": (256, 384, 3, 3),
    "netcnnaud.14": (256, 256, 3, 3),
    "netcnnaud.18": (512, 256, 5, 4),
    "netfcaud.0": (512, 512),
    "netfcaud.3": (1024, 512),
    "netfclip.0": (512, 512),
    "netfclip.3": (1024, 512),
    "netcnnlip.0": (96, 3, 5, 7, 7),
    "netcnnlip.4": (256, 96, 1, 5, 5),
    "netcnnlip.8": (256, 256, 1, 3, 3),
    "netcnnlip.11": (256, 256, 1, 3, 3),
    "netcnnlip.14": (256, 256, 1, 3, 3),
    "netcnnlip.18": (512, 256, 1, 6, 6),
}
ORIGINAL_NORMS = {
    "netcnnaud.1": 64,
    "netcnnaud.5": 192,
    "netcnnaud.9": 384,
    "netcnnaud.12": 256,
    "netcnnaud.15": 256,
    "netcnnaud.19": 512,
    "netfcaud.1": 512,
    "netfclip.1": 512,
    "netcnnlip.1": 96,
    "netcnnlip.5": 256,
    "netcnnlip.9": 256,
    "netcnnlip.12": 256,
    "netcnnlip.15": 256,
    "netcnnlip.19": 512,
}


def original_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A random checkpoint with the released names and shapes (no num_batches_tracked: the file predates it)."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in ORIGINAL_WEIGHTS.items():
        state[f"{name}.weight"] = torch.randn(shape, generator=generator) * 0.05
        state[f"{name}.bias"] = torch.randn(shape[0], generator=generator) * 0.05
    for name, channels in ORIGINAL_NORMS.items():
        state[f"{name}.weight"] = 1 + 0.1 * torch.randn(channels, generator=generator)
        state[f"{name}.bias"] = 0.1 * torch.randn(channels, generator=generator)
        state[f"{name}.running_mean"] = torch.randn(channels, generator=generator)
        state[f"{name}.running_var"] = 1 + torch.rand(channels, generator=generator)
    return state


class OriginalS(nn.Module):
    """Stands in for a pickled ``SyncNetModel.S``: a module whose state dict has the released names."""

    def __init__(self, model: SyncNetV2Model):
        super().__init__()
        self.netcnnaud, self.netfcaud = model.netcnnaud, model.netfcaud
        self.netfclip, self.netcnnlip = model.netfclip, model.netcnnlip


def test_paper_model_has_the_released_names_and_shapes():
    model = SyncNetV2Model(SyncNetV2Config())
    expected = original_state_dict()
    own = {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert own == {k: tuple(v.shape) for k, v in expected.items()}
    assert SyncNetV2Config().lip_kernel == 6


def test_real_size_forward_batch_one():
    model = SyncNetV2Model(SyncNetV2Config()).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 5, 224, 224) * 255, torch.randn(1, 13, 20))
    assert out.video_embeddings.shape == out.audio_embeddings.shape == (1, 1024)
    torch.testing.assert_close(
        out.distances, (out.video_embeddings - out.audio_embeddings).norm(dim=-1), atol=1e-4, rtol=1e-5
    )


def test_converter_copies_a_state_dict_by_name_and_saves_pretrained(tmp_path, capsys):
    state = original_state_dict()
    path = tmp_path / "syncnet_v2.model"
    torch.save(state, path)
    model = load_original_checkpoint(path)
    assert not model.training
    for key, value in state.items():
        torch.testing.assert_close(model.state_dict()[key], value, atol=0, rtol=0)
    convert_main([str(path), str(tmp_path / "converted")])
    assert "saved to" in capsys.readouterr().out
    loaded = SyncNetV2Model.from_pretrained(tmp_path / "converted").eval()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value, atol=0, rtol=0)


def test_converter_pickled_module_needs_consent_and_wrapped_state_dicts_load(tmp_path):
    donor = SyncNetV2Model(SyncNetV2Config())
    donor.load_state_dict(original_state_dict(1), strict=False)
    pickled = tmp_path / "syncnet_module.model"
    torch.save(OriginalS(donor), pickled)
    with pytest.raises(ValueError, match="allow_pickle=True"):
        load_original_checkpoint(pickled)
    model = load_original_checkpoint(pickled, allow_pickle=True)
    torch.testing.assert_close(model.netcnnlip[18].weight, donor.netcnnlip[18].weight)
    wrapped = tmp_path / "wrapped.model"  # a SyncNetInstance-style state dict under "state_dict"
    torch.save({"state_dict": {f"__S__.{k}": v for k, v in original_state_dict(2).items()}}, wrapped)
    torch.testing.assert_close(
        load_original_checkpoint(wrapped).netfcaud[3].bias, original_state_dict(2)["netfcaud.3.bias"]
    )


def test_converter_names_missing_and_misshapen_entries(tmp_path):
    state = original_state_dict()
    del state["netfclip.3.bias"]
    state["netcnnaud.18.weight"] = torch.zeros(512, 256, 4, 4)
    path = tmp_path / "bad.model"
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"missing \['netfclip.3.bias'\].*netcnnaud.18.weight \(512, 256, 4, 4\)"):
        load_original_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="download_model.sh"):
        load_original_checkpoint(tmp_path / "absent.model")
    with pytest.raises(SystemExit):
        convert_main([str(path), str(tmp_path / "out")])


def test_windows_of_the_wrong_size_name_the_expected_shape():
    """(Batching, gradients and save/load of the tiny model: tests/models/test_modeling_common.py.)"""
    model = SyncNetV2Model(SyncNetV2Config.from_preset("tiny"))
    with pytest.raises(ValueError, match=r"\(B, 3, 5, 64, 64\)"):
        model.embed_video(torch.zeros(1, 3, 5, 224, 224))


def test_config_validation_and_auto_config(tmp_path):
    with pytest.raises(ValueError, match="image_size=40"):
        SyncNetV2Config(image_size=40)
    with pytest.raises(ValueError, match="audio_widths"):
        SyncNetV2Config(audio_widths=[8, 8])
    SyncNetV2Config().save_pretrained(tmp_path)  # the config.json convert_syncnet_v2 writes for the released weights
    config = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(config, SyncNetV2Config)
    assert config.to_diff_dict() == SyncNetV2Config().to_diff_dict()
