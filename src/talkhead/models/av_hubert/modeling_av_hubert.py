"""AV-HuBERT as a frozen lip-sync expert (Shi et al., "Learning Audio-Visual Speech Representation by Masked
Multimodal Cluster Prediction", ICLR 2022; used by Yaman et al., "Audio-Visual Speech Representation Expert
for Enhanced Talking Face Video Generation and Evaluation", CVPRW 2024, §3.4-3.5).

A native re-implementation of the encoder path that fairseq's ``AVHubertModel.extract_finetune`` runs, so
the converted lip-reading checkpoints load without fairseq:

* video: (B, 1, T, 88, 88) normalised grayscale mouth crops -> 3D conv stem -> per-frame ResNet-18 (PReLU)
  -> global average pool -> Linear(512 -> 768);
* audio: (B, T, 104) per-frame normalised stacked log filterbanks -> Linear(104 -> 768);
* fusion: concatenate [audio, video] -> LayerNorm(1536) -> Linear(1536 -> 768);
* encoder: x + GELU(weight-normed grouped conv, kernel 128, 16 groups, "same" length), then 12 layers
  (d 768, 12 heads, FFN 3072, GELU). Output: the last layer, (B, T, 768).

A missing modality is replaced by zeros *after its front-end* (the 768-d features, not the raw input):
that is fairseq's fine-tuning path and the "zero placeholder" of Yaman et al. eq. 4-6.

Where we differ from the AV-HuBERT code and why:
* ``layer_norm_first`` defaults to True (pre-LN layers and a final LayerNorm). The model code's own configuration
  defaults to post-LN (``layer_norm_first: false``), but every released AV-HuBERT pre-training configuration
  (``conf/pretrain/base_*.yaml``, ``large_*.yaml``) sets ``layer_norm_first: true`` and fine-tuning keeps the
  pre-trained encoder, so pre-LN is what the official weights expect. Post-LN stays available as a flag.
* Inference only: no masking, no modality dropout, no padding masks (a batch holds clips of one length),
  no dropout (the expert is frozen and in eval mode).
* Weight-norm of the positional conv is written out (``weight_g`` and ``weight_v`` parameters) instead of
  torch's parametrisation, so the names match fairseq's and the converter is a plain key mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.activations import ACT2FN
from transformers.utils import ModelOutput

from ..configuration_utils import ShippedModelMixin
from .configuration_av_hubert import AVHubertConfig

# ---- video front-end -----------------------------------------------------------------------------


class BasicBlock(nn.Module):
    """ResNet basic block with PReLU activations and an optional 1x1-conv + BN shortcut."""

    def __init__(self, in_channels: int, width: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.PReLU(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu2 = nn.PReLU(width)
        self.downsample = None
        if stride != 1 or in_channels != width:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, width, 1, stride, bias=False), nn.BatchNorm2d(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(out + shortcut)


class ResNetTrunk(nn.Module):
    """Four stages of basic blocks (strides 1, 2, 2, 2) and a global average pool: (N, C, h, w) -> (N, C_out)."""

    def __init__(self, in_channels: int, widths: list[int], blocks: list[int]):
        super().__init__()
        for index, (width, count) in enumerate(zip(widths, blocks, strict=False), start=1):
            stage = [BasicBlock(in_channels, width, 1 if index == 1 else 2)]
            stage += [BasicBlock(width, width) for _ in range(count - 1)]
            setattr(self, f"layer{index}", nn.Sequential(*stage))
            in_channels = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for index in range(1, 5):
            x = getattr(self, f"layer{index}")(x)
        return x.mean(dim=(-2, -1))


class VideoFrontEnd(nn.Module):
    """(B, 1, T, H, W) mouth crops -> (B, T, hidden_size). The stem's temporal kernel 5 mixes neighbouring frames."""

    def __init__(self, config: AVHubertConfig):
        super().__init__()
        stem_width = config.resnet_widths[0]
        self.stem = nn.Sequential(
            nn.Conv3d(1, stem_width, (5, 7, 7), stride=(1, 2, 2), padding=(2, 3, 3), bias=False),
            nn.BatchNorm3d(stem_width),
            nn.PReLU(stem_width),
            nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
        )
        self.trunk = ResNetTrunk(stem_width, config.resnet_widths, config.resnet_blocks)
        self.proj = nn.Linear(config.resnet_widths[-1], config.hidden_size)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        batch = video.shape[0]
        x = self.stem(video)  # (B, C, T, H/4, W/4)
        frames = x.shape[2]
        x = self.trunk(x.transpose(1, 2).flatten(0, 1))  # (B T, C_out)
        return self.proj(x.view(batch, frames, -1))


# ---- transformer encoder -------------------------------------------------------------------------


class PositionalConvEmbedding(nn.Module):
    """GELU(grouped conv over time) with weight normalisation over the kernel axis, output length = input length.

    weight = weight_g * weight_v / ||weight_v||, the norm taken over the channel axes for each kernel tap
    (fairseq's ``weight_norm(conv, dim=2)``). An even kernel gives one extra step, dropped at the end.
    """

    def __init__(self, config: AVHubertConfig):
        super().__init__()
        channels, kernel, groups = config.hidden_size, config.conv_pos_kernel, config.conv_pos_groups
        self.kernel, self.groups = kernel, groups
        self.weight_v = nn.Parameter(torch.empty(channels, channels // groups, kernel))
        self.weight_g = nn.Parameter(torch.ones(1, 1, kernel))
        self.bias = nn.Parameter(torch.zeros(channels))

    def weight(self) -> torch.Tensor:
        norm = self.weight_v.pow(2).sum(dim=(0, 1), keepdim=True).clamp_min(1e-24).sqrt()
        return self.weight_g * self.weight_v / norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        y = F.conv1d(x.transpose(1, 2), self.weight(), self.bias, padding=self.kernel // 2, groups=self.groups)
        if self.kernel % 2 == 0:
            y = y[..., :-1]
        return F.gelu(y).transpose(1, 2)


class AVHubertAttention(nn.Module):
    """Multi-head self-attention with separate q, k, v and output projections (fairseq's names)."""

    def __init__(self, config: AVHubertConfig):
        super().__init__()
        d = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:  # (B, T, D) -> (B, H, T, D / H)
            return t.view(batch, length, self.num_heads, -1).transpose(1, 2)

        out = F.scaled_dot_product_attention(heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x)))
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, width))


class AVHubertEncoderLayer(nn.Module):
    """Self-attention and feed-forward sublayers with residuals; LayerNorm before (pre-LN) or after (post-LN) each."""

    def __init__(self, config: AVHubertConfig):
        super().__init__()
        d, eps = config.hidden_size, config.layer_norm_eps
        self.layer_norm_first = config.layer_norm_first
        self.self_attn = AVHubertAttention(config)
        self.self_attn_layer_norm = nn.LayerNorm(d, eps=eps)
        self.fc1 = nn.Linear(d, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, d)
        self.final_layer_norm = nn.LayerNorm(d, eps=eps)
        self.activation = ACT2FN[config.hidden_act]

    def feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.activation(self.fc1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.layer_norm_first:
            x = x + self.self_attn(self.self_attn_layer_norm(x))
            return x + self.feed_forward(self.final_layer_norm(x))
        x = self.self_attn_layer_norm(x + self.self_attn(x))
        return self.final_layer_norm(x + self.feed_forward(x))


class AVHubertEncoder(nn.Module):
    def __init__(self, config: AVHubertConfig):
        super().__init__()
        self.layer_norm_first = config.layer_norm_first
        self.pos_conv = PositionalConvEmbedding(config)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.layers = nn.ModuleList(AVHubertEncoderLayer(config) for _ in range(config.num_hidden_layers))

    def forward(self, x: torch.Tensor, output_hidden_states: bool = False) -> tuple[torch.Tensor, tuple | None]:
        x = x + self.pos_conv(x)
        if not self.layer_norm_first:
            x = self.layer_norm(x)
        hidden_states = [x]
        for layer in self.layers:
            x = layer(x)
            hidden_states.append(x)
        if self.layer_norm_first:
            x = self.layer_norm(x)
            hidden_states[-1] = x
        return x, tuple(hidden_states) if output_hidden_states else None


# ---- the model -----------------------------------------------------------------------------------


@dataclass
class AVHubertOutput(ModelOutput):
    """Args:
    last_hidden_state: (B, T, hidden_size) output of the last transformer layer (after the final
        LayerNorm when ``layer_norm_first``): the "TE" features of Yaman et al.
    hidden_states: with ``output_hidden_states``, the transformer input and each layer's output
        (num_hidden_layers + 1 tensors, the last equal to ``last_hidden_state``).
    """

    last_hidden_state: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None


class AVHubertPreTrainedModel(ShippedModelMixin, PreTrainedModel):
    config_class = AVHubertConfig
    base_model_prefix = "av_hubert"
    main_input_name = "video"

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=std)
            nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.Conv2d, nn.Conv3d)):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, PositionalConvEmbedding):
            # fairseq's init: normal with std sqrt(4 / (kernel * channels)), then g = ||v|| so weight = v
            channels = module.weight_v.shape[0]
            nn.init.normal_(module.weight_v, std=(4.0 / (module.kernel * channels)) ** 0.5)
            with torch.no_grad():
                module.weight_g.copy_(module.weight_v.pow(2).sum(dim=(0, 1), keepdim=True).sqrt())
            nn.init.zeros_(module.bias)


class AVHubertModel(AVHubertPreTrainedModel):
    """AV-HuBERT encoder: mouth crops and/or stacked log filterbanks -> (B, T, hidden_size) features."""

    # only on a model from convert_av_hubert.load_fairseq_checkpoint: the fairseq weights it had no place for
    unused_fairseq_keys: list[str]

    def __init__(self, config: AVHubertConfig):
        super().__init__(config)
        d = config.hidden_size
        self.video_frontend = VideoFrontEnd(config)
        self.audio_proj = nn.Linear(config.audio_feature_size, d)
        self.fusion_norm = nn.LayerNorm(2 * d, eps=config.layer_norm_eps)
        self.fusion_proj = nn.Linear(2 * d, d)
        self.encoder = AVHubertEncoder(config)
        self.post_init()

    def forward(
        self,
        video: torch.Tensor | None = None,
        audio: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ):
        """Encode one or both modalities; a missing one is a zero placeholder after its front-end.

        Args:
            video: (B, 1, T, H, W) grayscale mouth crops normalised as in
                :func:`talkhead.processing.mouth_crops.normalize_rois` (H = W = 88), the layout of
                fairseq's 3D conv. A 4-D (B, T, H, W) tensor is read as the same thing without the channel axis.
            audio: (B, T, audio_feature_size) stacked, per-frame normalised log filterbanks
                (:func:`talkhead.models.av_hubert.feature_extraction_av_hubert.stacked_logfbank`), one row per
                video frame.
            output_hidden_states: also return every layer's output.

        ``audio=None`` is exactly an audio front-end output of zeros (so it equals feeding audio that the
        projection maps to zero, not ``audio=zeros``: the projection has a bias). Likewise for ``video=None``.
        """
        if video is None and audio is None:
            raise ValueError("AVHubertModel needs video, audio or both")
        video_features = audio_features = None
        if video is not None:
            if video.dim() == 4:
                video = video.unsqueeze(1)
            if video.dim() != 5 or video.shape[1] != 1:
                raise ValueError(
                    f"video must be (B, 1, T, H, W) or (B, T, H, W) grayscale crops, got {tuple(video.shape)}"
                )
            video_features = self.video_frontend(video)
        if audio is not None:
            if audio.dim() != 3 or audio.shape[-1] != self.config.audio_feature_size:
                raise ValueError(f"audio must be (B, T, {self.config.audio_feature_size}), got {tuple(audio.shape)}")
            audio_features = self.audio_proj(audio)
        if video_features is None:
            assert audio_features is not None  # video or audio was given: checked on entry
            video_features = torch.zeros_like(audio_features)
        if audio_features is None:
            audio_features = torch.zeros_like(video_features)
        if video_features.shape[:2] != audio_features.shape[:2]:
            raise ValueError(
                f"video has {tuple(video_features.shape[:2])} (batch, frames) but audio has "
                f"{tuple(audio_features.shape[:2])}; pad or trim the audio to the video length"
            )
        x = self.fusion_proj(self.fusion_norm(torch.cat([audio_features, video_features], dim=-1)))
        x, hidden_states = self.encoder(x, bool(output_hidden_states))
        output = AVHubertOutput(last_hidden_state=x, hidden_states=hidden_states)
        return output if return_dict is not False else output.to_tuple()
