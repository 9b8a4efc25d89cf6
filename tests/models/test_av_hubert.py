"""AV-HuBERT re-implementation (facebookresearch/av_hubert) with tiny configs: shapes, the zero placeholder, the
fairseq key mapping (against a functional fairseq-named reference), the converter, and the lip-sync loss variants
(save/load and batch = singles: tests/models/test_modeling_common.py)."""

import sys
import types
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from talkhead.models.av_hubert import AVHubertConfig, AVHubertModel
from talkhead.models.av_hubert.convert_av_hubert import (
    convert_fairseq_state_dict,
    infer_config,
    load_fairseq_checkpoint,
    main,
    to_fairseq_state_dict,
)

T = 6


def tiny(**overrides):
    torch.manual_seed(0)
    return AVHubertModel(AVHubertConfig.from_preset("tiny", **overrides)).eval()


def inputs(batch=2, frames=T, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 1, frames, 88, 88, generator=generator), torch.randn(
        batch, frames, 104, generator=generator
    )


def test_shapes_for_each_modality_and_both_video_layouts():
    model = tiny()
    video, audio = inputs()
    with torch.no_grad():
        both = model(video=video, audio=audio).last_hidden_state
        assert both.shape == (2, T, 32)
        assert model(video=video).last_hidden_state.shape == (2, T, 32)
        assert model(audio=audio).last_hidden_state.shape == (2, T, 32)
        torch.testing.assert_close(model(video=video[:, 0], audio=audio).last_hidden_state, both)  # (B, T, H, W)
        hidden = model(video=video, output_hidden_states=True).hidden_states
    assert len(hidden) == 3  # input of layer 1 and both layers' outputs
    with pytest.raises(ValueError, match="video, audio or both"):
        model()
    with pytest.raises(ValueError, match="pad or trim"):
        model(video=video, audio=audio[:, :-1])


def test_paper_size_is_av_hubert_base():
    config = AVHubertConfig()
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads, config.intermediate_size) == (
        768,
        12,
        12,
        3072,
    )
    assert (config.conv_pos_kernel, config.conv_pos_groups, config.audio_feature_size) == (128, 16, 104)
    with torch.device("meta"):
        model = AVHubertModel(config)
    assert 100e6 < sum(p.numel() for p in model.parameters()) < 106e6  # the Base encoder is about 103 M


def test_config_validation_names_the_bad_values():
    with pytest.raises(ValueError, match=r"hidden_size=30 is not divisible by num_attention_heads=4"):
        AVHubertConfig.from_preset("tiny", hidden_size=30)
    with pytest.raises(ValueError, match=r"resnet_widths=\[8, 8\].*hidden_act='swishy'"):
        AVHubertConfig.from_preset("tiny", resnet_widths=[8, 8], hidden_act="swishy")


def test_missing_modality_is_a_zero_front_end_output():
    """audio=None equals audio whose front-end output is zero (facebookresearch/av_hubert's
    missing-modality path, the zero placeholder of Yaman et al., AV-HuBERT expert, eq. 4-6), and likewise for video."""
    model = tiny()
    video, audio = inputs()
    with torch.no_grad():
        without_audio = model(video=video).last_hidden_state
        model.audio_proj.bias.zero_()  # now audio = 0 gives a zero front-end output
        torch.testing.assert_close(model(video=video, audio=torch.zeros_like(audio)).last_hidden_state, without_audio)
        without_video = model(audio=audio).last_hidden_state
        model.video_frontend.proj.weight.zero_()
        model.video_frontend.proj.bias.zero_()  # any video now gives a zero front-end output
        torch.testing.assert_close(model(video=video, audio=audio).last_hidden_state, without_video)


def test_post_ln_layers_are_an_option():
    video, audio = inputs()
    pre, post = tiny(), tiny(layer_norm_first=False)
    post.load_state_dict(pre.state_dict())
    with torch.no_grad():
        a, b = pre(video=video, audio=audio).last_hidden_state, post(video=video, audio=audio).last_hidden_state
    assert a.shape == b.shape and (a - b).abs().max() > 1e-3


# ---- fairseq key mapping --------------------------------------------------------------------------

PRETRAINING_ONLY = {
    "mask_emb": (104,),
    "final_proj.weight": (8, 32),
    "final_proj.bias": (8,),
    "label_embs_concat": (20, 8),
}


def fairseq_state_dict(
    hidden=32, layers=2, ffn=64, widths=(8, 8, 16, 16), blocks=(1, 1, 1, 1), kernel=8, groups=4, seed=0
):
    """A random state dict under the real fairseq AV-HuBERT names (hubert.py, resnet.py, wav2vec2's TransformerEncoder),
    written out by hand, not derived from our mapping, so a wrong mapping fails these tests."""
    generator = torch.Generator().manual_seed(seed)
    shapes = {}

    def batch_norm(prefix, channels):
        shapes.update(
            {
                f"{prefix}.weight": (channels,),
                f"{prefix}.bias": (channels,),
                f"{prefix}.running_mean": (channels,),
                f"{prefix}.running_var": (channels,),
                f"{prefix}.num_batches_tracked": (),
            }
        )

    video = "feature_extractor_video.resnet."
    shapes[video + "frontend3D.0.weight"] = (widths[0], 1, 5, 7, 7)
    batch_norm(video + "frontend3D.1", widths[0])
    shapes[video + "frontend3D.2.weight"] = (widths[0],)  # PReLU
    in_channels = widths[0]
    for stage, (width, count) in enumerate(zip(widths, blocks, strict=False), start=1):
        for block in range(count):
            prefix = f"{video}trunk.layer{stage}.{block}."
            shapes[prefix + "conv1.weight"] = (width, in_channels, 3, 3)
            batch_norm(prefix + "bn1", width)
            shapes[prefix + "relu1.weight"] = (width,)
            shapes[prefix + "conv2.weight"] = (width, width, 3, 3)
            batch_norm(prefix + "bn2", width)
            shapes[prefix + "relu2.weight"] = (width,)
            if block == 0 and (stage > 1 or in_channels != width):
                shapes[prefix + "downsample.0.weight"] = (width, in_channels, 1, 1)
                batch_norm(prefix + "downsample.1", width)
            in_channels = width
    shapes.update(
        {
            "feature_extractor_video.proj.weight": (hidden, widths[-1]),
            "feature_extractor_video.proj.bias": (hidden,),
            "feature_extractor_audio.proj.weight": (hidden, 104),
            "feature_extractor_audio.proj.bias": (hidden,),
            "layer_norm.weight": (2 * hidden,),
            "layer_norm.bias": (2 * hidden,),
            "post_extract_proj.weight": (hidden, 2 * hidden),
            "post_extract_proj.bias": (hidden,),
            "encoder.pos_conv.0.weight_g": (1, 1, kernel),
            "encoder.pos_conv.0.weight_v": (hidden, hidden // groups, kernel),
            "encoder.pos_conv.0.bias": (hidden,),
            "encoder.layer_norm.weight": (hidden,),
            "encoder.layer_norm.bias": (hidden,),
        }
    )
    for index in range(layers):
        prefix = f"encoder.layers.{index}."
        for name in ("k_proj", "v_proj", "q_proj", "out_proj"):
            shapes.update(
                {f"{prefix}self_attn.{name}.weight": (hidden, hidden), f"{prefix}self_attn.{name}.bias": (hidden,)}
            )
        for name in ("self_attn_layer_norm", "final_layer_norm"):
            shapes.update({f"{prefix}{name}.weight": (hidden,), f"{prefix}{name}.bias": (hidden,)})
        shapes.update(
            {
                f"{prefix}fc1.weight": (ffn, hidden),
                f"{prefix}fc1.bias": (ffn,),
                f"{prefix}fc2.weight": (hidden, ffn),
                f"{prefix}fc2.bias": (hidden,),
            }
        )
    shapes.update(PRETRAINING_ONLY)
    state = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(7)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=generator) + 0.5
        else:
            state[key] = 0.3 * torch.randn(shape, generator=generator)
    return state


def reference_forward(sd, video, audio, heads=4, kernel=8, groups=4, layers=2):
    """fairseq's extract_finetune (pre-LN encoder), written with functional ops on the fairseq-named dict."""

    def bn(x, prefix):
        return F.batch_norm(
            x,
            sd[prefix + ".running_mean"],
            sd[prefix + ".running_var"],
            sd[prefix + ".weight"],
            sd[prefix + ".bias"],
            False,
            0.0,
            1e-5,
        )

    def ln(x, prefix):
        return F.layer_norm(x, x.shape[-1:], sd[prefix + ".weight"], sd[prefix + ".bias"], 1e-5)

    def linear(x, prefix):
        return F.linear(x, sd[prefix + ".weight"], sd[prefix + ".bias"])

    v = "feature_extractor_video.resnet."
    x = F.conv3d(video, sd[v + "frontend3D.0.weight"], stride=(1, 2, 2), padding=(2, 3, 3))
    x = F.max_pool3d(F.prelu(bn(x, v + "frontend3D.1"), sd[v + "frontend3D.2.weight"]), (1, 3, 3), (1, 2, 2), (0, 1, 1))
    batch, frames = x.shape[0], x.shape[2]
    x = x.transpose(1, 2).flatten(0, 1)
    for stage in range(1, 5):
        block = 0
        while f"{v}trunk.layer{stage}.{block}.conv1.weight" in sd:
            p = f"{v}trunk.layer{stage}.{block}."
            stride = 2 if stage > 1 and block == 0 else 1
            out = F.prelu(
                bn(F.conv2d(x, sd[p + "conv1.weight"], stride=stride, padding=1), p + "bn1"), sd[p + "relu1.weight"]
            )
            out = bn(F.conv2d(out, sd[p + "conv2.weight"], padding=1), p + "bn2")
            if p + "downsample.0.weight" in sd:
                x = bn(F.conv2d(x, sd[p + "downsample.0.weight"], stride=stride), p + "downsample.1")
            x = F.prelu(out + x, sd[p + "relu2.weight"])
            block += 1
    video_features = linear(x.mean(dim=(-2, -1)).view(batch, frames, -1), "feature_extractor_video.proj")
    audio_features = linear(audio, "feature_extractor_audio.proj")
    x = linear(ln(torch.cat([audio_features, video_features], -1), "layer_norm"), "post_extract_proj")
    weight = torch._weight_norm(sd["encoder.pos_conv.0.weight_v"], sd["encoder.pos_conv.0.weight_g"], 2)
    conv = F.conv1d(x.transpose(1, 2), weight, sd["encoder.pos_conv.0.bias"], padding=kernel // 2, groups=groups)[
        ..., :-1
    ]
    x = x + F.gelu(conv).transpose(1, 2)
    for index in range(layers):
        p = f"encoder.layers.{index}."
        h = ln(x, p + "self_attn_layer_norm")
        q, k, w = (linear(h, p + f"self_attn.{n}_proj").unflatten(-1, (heads, -1)).transpose(1, 2) for n in "qkv")
        attention = torch.softmax(q * q.shape[-1] ** -0.5 @ k.transpose(-1, -2), dim=-1) @ w
        x = x + linear(attention.transpose(1, 2).flatten(2), p + "self_attn.out_proj")
        x = x + linear(F.gelu(linear(ln(x, p + "final_layer_norm"), p + "fc1")), p + "fc2")
    return ln(x, "encoder.layer_norm")


@pytest.mark.parametrize("prefix", ["", "encoder.w2v_model."])
def test_fairseq_names_map_onto_the_model_and_compute_what_fairseq_computes(prefix):
    fairseq = fairseq_state_dict()
    wrapped = {prefix + k: v for k, v in fairseq.items()}
    if prefix:  # a fine-tuned seq2seq checkpoint also holds the decoder
        wrapped["decoder.layers.0.fc1.weight"] = torch.zeros(3, 3)
    ours, unused = convert_fairseq_state_dict(wrapped)
    expected_unused = {prefix + k for k in PRETRAINING_ONLY} | ({"decoder.layers.0.fc1.weight"} if prefix else set())
    assert set(unused) == expected_unused
    model = AVHubertModel(infer_config(ours, {"encoder_attention_heads": 4})).eval()
    model.load_state_dict(ours, strict=True)
    video, audio = inputs()
    with torch.no_grad():
        torch.testing.assert_close(
            model(video=video, audio=audio).last_hidden_state,
            reference_forward(fairseq, video, audio),
            atol=1e-4,
            rtol=1e-4,
        )


def test_mapping_round_trips_and_reads_torch_parametrized_weight_norm():
    model = tiny()
    ours = model.state_dict()
    fairseq = to_fairseq_state_dict(ours, prefix="encoder.w2v_model.")
    assert "encoder.w2v_model.feature_extractor_video.resnet.trunk.layer1.0.conv1.weight" in fairseq
    assert (
        "encoder.w2v_model.encoder.pos_conv.0.weight_g" in fairseq and "encoder.w2v_model.layer_norm.weight" in fairseq
    )
    back, unused = convert_fairseq_state_dict(fairseq)
    assert not unused and back.keys() == ours.keys()
    assert all(torch.equal(back[k], ours[k]) for k in ours)
    newer = {
        k.replace("pos_conv.0.weight_g", "pos_conv.0.parametrizations.weight.original0").replace(
            "pos_conv.0.weight_v", "pos_conv.0.parametrizations.weight.original1"
        ): v
        for k, v in fairseq.items()
    }
    assert convert_fairseq_state_dict(newer)[0].keys() == ours.keys()


def test_converter_infers_the_config_from_shapes_and_the_checkpoint_settings(tmp_path):
    fairseq = fairseq_state_dict(
        hidden=48, layers=3, ffn=96, widths=(8, 16, 16, 24), blocks=(2, 1, 1, 2), kernel=6, groups=3
    )
    config = infer_config(convert_fairseq_state_dict(fairseq)[0])
    assert (config.hidden_size, config.num_hidden_layers, config.intermediate_size) == (48, 3, 96)
    assert (config.resnet_widths, config.resnet_blocks) == ([8, 16, 16, 24], [2, 1, 1, 2])
    assert (config.conv_pos_kernel, config.conv_pos_groups, config.audio_feature_size) == (6, 3, 104)
    assert config.num_attention_heads == 1 and config.layer_norm_first  # without settings: hidden / 64, pre-LN

    # a fine-tuned checkpoint whose configuration is an object of a package that is not installed (omegaconf here)
    fake = types.ModuleType("fake_omegaconf")

    class DictConfig:
        def __init__(self, content):
            self._content = content

    DictConfig.__module__, DictConfig.__qualname__ = "fake_omegaconf", "DictConfig"
    fake.DictConfig = DictConfig
    sys.modules["fake_omegaconf"] = fake
    settings = DictConfig(
        {
            "model": DictConfig(
                {
                    "w2v_args": DictConfig(
                        {"model": DictConfig({"encoder_attention_heads": 4, "layer_norm_first": False})}
                    )
                }
            )
        }
    )
    path = tmp_path / "checkpoint.pt"
    try:
        torch.save({"model": {"encoder.w2v_model." + k: v for k, v in fairseq.items()}, "cfg": settings}, path)
    finally:
        del sys.modules["fake_omegaconf"]
    model = load_fairseq_checkpoint(path)
    assert model.config.num_attention_heads == 4 and model.config.layer_norm_first is False
    assert not model.training

    main([str(path), str(tmp_path / "converted")])  # python -m talkhead.models.av_hubert.convert_av_hubert IN OUT
    loaded = AVHubertModel.from_pretrained(tmp_path / "converted").eval()
    video, audio = inputs(frames=4)
    with torch.no_grad():
        torch.testing.assert_close(
            loaded(video=video, audio=audio).last_hidden_state, model(video=video, audio=audio).last_hidden_state
        )


def test_converter_rejects_what_is_not_av_hubert(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"model": {"decoder.embed_tokens.weight": torch.zeros(2, 2)}}, path)
    with pytest.raises(ValueError, match="not an AV-HuBERT state dict"):
        load_fairseq_checkpoint(path)
    with pytest.raises(SystemExit, match="error:"):
        main([str(path), str(tmp_path / "out")])


class _Payload:
    """What a crafted checkpoint holds: unpickling it runs ``os.system``."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        import os

        return os.system, (self.command,)


def test_a_crafted_checkpoint_runs_nothing_unless_pickles_are_allowed(tmp_path):
    marker = tmp_path / "payload-ran"
    path = tmp_path / "crafted.bin"
    fairseq = fairseq_state_dict(
        hidden=48, layers=1, ffn=96, widths=(8, 16, 16, 24), blocks=(1, 1, 1, 1), kernel=6, groups=3
    )
    torch.save(
        {"model": {"encoder.w2v_model." + k: v for k, v in fairseq.items()}, "cfg": _Payload(f"touch {marker}")}, path
    )
    model = load_fairseq_checkpoint(path)  # the weights load; the payload is an inert stand-in
    assert not marker.exists() and model.config.num_hidden_layers == 1
    torch.save({"payload": _Payload(f"touch {marker}")}, path)
    with pytest.raises(SystemExit, match="not a fairseq checkpoint"):
        main([str(path), str(tmp_path / "out")])
    assert not marker.exists() and not (tmp_path / "out").exists()
    with pytest.warns(UserWarning, match="can run any code"), pytest.raises(ValueError, match="not a fairseq"):
        load_fairseq_checkpoint(path, allow_pickle=True)  # asked for: it runs, and it was warned about
    assert marker.exists()


def test_a_model_folder_with_a_pickled_bin_is_refused_in_one_line(tmp_path):
    from talkhead.cli import main as talkhead

    ROOT = Path(__file__).resolve().parents[2]
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text((ROOT / "hub_configs" / "mouth-motion" / "config.json").read_text())
    torch.save({"x": _Payload(f"touch {tmp_path / 'payload-ran'}")}, folder / "pytorch_model.bin")
    speech = ROOT / "examples" / "assets" / "speech.wav"
    from talkhead.errors import TalkheadInputError
    from talkhead.hub import load_pretrained
    from talkhead.models.mouth_motion import MouthMotionModel

    with pytest.raises(TalkheadInputError) as refused:
        load_pretrained(MouthMotionModel, folder)
    assert "refusing checkpoint" in str(refused.value) and "safetensors" in str(refused.value)
    from skimage import data, io

    io.imsave(tmp_path / "face.png", data.astronaut(), check_contrast=False)
    assert (
        talkhead(
            [
                "talking-head",
                "--image",
                str(tmp_path / "face.png"),
                "--audio",
                str(speech),
                "--mouth-model",
                str(folder),
                "-o",
                str(tmp_path / "out.mp4"),
                "--quiet",
            ]
        )
        == 2
    )
    assert not (tmp_path / "payload-ran").exists() and not (tmp_path / "out.mp4").exists()


# ---- the lip-sync loss ------------------------------------------------------------------------------


def test_loss_variants_reach_the_generated_frames_and_vanish_at_the_target():
    from talkhead.losses import av_hubert_sync_loss

    model = tiny().requires_grad_(False)
    target, audio = inputs()
    generated = (target + 0.5 * torch.randn_like(target)).requires_grad_(True)
    for variant in ("unsupervised", "visual_visual", "multimodal"):
        generated.grad = None
        loss = av_hubert_sync_loss(model, generated, audio=audio, target=target, variant=variant, interval=slice(1, 4))
        assert torch.isfinite(loss) and loss > 1e-4, variant  # (-log of a clamped cosine: never negative)
        loss.backward()
        assert generated.grad is not None and generated.grad.abs().sum() > 0, variant
    at_target = av_hubert_sync_loss(
        model, target, audio=audio, target=target, variant="visual_visual", interval=slice(1, 4)
    )
    assert float(at_target) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="needs target"):
        av_hubert_sync_loss(model, generated, audio=audio, variant="visual_visual")
    with pytest.raises(ValueError, match="variant="):
        av_hubert_sync_loss(model, generated, audio=audio, variant="contrastive")


def test_loss_is_zero_when_the_cosines_are_one():
    from talkhead.losses import av_hubert_cosine_loss, av_hubert_sync_loss

    features = torch.randn(3, 5, 16)
    assert float(av_hubert_cosine_loss(features, 2.5 * features)) == pytest.approx(0.0, abs=1e-6)  # -log 1
    opposite = float(av_hubert_cosine_loss(features, -features))  # cosine -1 is clamped at 1e-6
    assert opposite == pytest.approx(-torch.log(torch.tensor(1e-6)).item(), rel=1e-5)
    half = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])  # per-frame cosines 1 and 0 against [1, 0]: mean 0.5
    assert float(av_hubert_cosine_loss(half, torch.tensor([[[1.0, 0.0], [1.0, 0.0]]]))) == pytest.approx(
        -torch.log(torch.tensor(0.5)).item()
    )
    model = tiny().requires_grad_(False)
    video, audio = inputs()
    for variant in ("visual_visual", "multimodal"):
        assert float(av_hubert_sync_loss(model, video, audio=audio, target=video.clone(), variant=variant)) < 1e-5


def test_fallback_mouth_crop_takes_the_fixed_box_and_normalises():
    from talkhead.losses import face_mouth_rois

    faces = torch.full((2, 5, 3, 96, 96), 0.5)
    faces[..., 70, 47] = 1.0  # inside the box (rows 48-95, columns 16-79)
    faces[..., 10, 5] = 0.0  # outside it
    rois = face_mouth_rois(faces)
    assert rois.shape == (2, 5, 88, 88)
    background = (0.5 - 0.421) / 0.165
    assert rois.min() >= background - 1e-5 and rois.max() > background + 0.5
    row, column = divmod(int(rois[0, 0].argmax()), 88)
    # the box is stretched x2 vertically and x1.5 horizontally, then the 88 centre crop drops 4 pixels
    assert abs(row - ((70 - 48 + 0.5) * 2 - 0.5 - 4)) <= 1 and abs(column - ((47 - 16 + 0.5) * 1.5 - 0.5 - 4)) <= 1
