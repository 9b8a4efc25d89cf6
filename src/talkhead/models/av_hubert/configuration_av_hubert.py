"""Configuration of the AV-HuBERT encoder used as a lip-sync expert (Shi et al. 2022; Yaman et al., AV-HuBERT
expert, §3.4-3.5)."""

from __future__ import annotations

from transformers import PretrainedConfig
from transformers.activations import ACT2FN

from ..configuration_utils import PresetConfigMixin, raise_problems


class AVHubertConfig(PresetConfigMixin, PretrainedConfig):
    r"""Configuration of :class:`AVHubertModel`: the AV-HuBERT audio-visual encoder without its pre-training
    heads or its lip-reading decoder.

    Video front-end: a 3D conv stem (5x7x7) and a per-frame ResNet-18 with PReLU, pooled to one vector per
    frame and projected to ``hidden_size``. Audio front-end: one linear layer on 104-d stacked log filterbanks.
    The two are concatenated, layer-normalised and projected, then a convolutional positional embedding and
    ``num_hidden_layers`` transformer layers. The defaults are AV-HuBERT Base (Shi et al. 2022),
    fine-tuned for lip reading as the expert of Yaman et al. (AV-HuBERT expert, §3.4).

    Args:
        hidden_size (`int`, *optional*, defaults to 768): width of the front-end outputs and the transformer.
        num_hidden_layers (`int`, *optional*, defaults to 12): transformer layers.
        num_attention_heads (`int`, *optional*, defaults to 12): attention heads per layer.
        intermediate_size (`int`, *optional*, defaults to 3072): feed-forward width.
        hidden_act (`str`, *optional*, defaults to `"gelu"`): feed-forward activation.
        layer_norm_first (`bool`, *optional*, defaults to `True`): pre-LN layers with a final LayerNorm
            (upstream ``layer_norm_first: true`` in every released Base and Large configuration) or post-LN
            layers after a LayerNorm (the default of the AV-HuBERT model code's configuration). Shapes cannot
            tell them apart; the converter reads it from the checkpoint's own configuration when it can.
        layer_norm_eps (`float`, *optional*, defaults to 1e-5): epsilon of every LayerNorm.
        audio_feature_size (`int`, *optional*, defaults to 104): audio input width, 4 stacked 26-band log
            filterbank frames (AV-HuBERT code, ``hubert_dataset.py``).
        resnet_widths (`list[int]`, *optional*, defaults to `[64, 128, 256, 512]`): widths of the four ResNet
            stages; the 3D stem has ``resnet_widths[0]`` channels and the video projection takes
            ``resnet_widths[-1]``.
        resnet_blocks (`list[int]`, *optional*, defaults to `[2, 2, 2, 2]`): basic blocks per stage (ResNet-18).
        conv_pos_kernel (`int`, *optional*, defaults to 128): kernel of the convolutional positional embedding.
        conv_pos_groups (`int`, *optional*, defaults to 16): its groups.
        image_size (`int`, *optional*, defaults to 88): side of the grayscale mouth crops, the centre
            crop of the 96x96 mouth ROI (AV-HuBERT code, ``hubert_dataset.py``); the network itself accepts any
            size the stem can pool.
        initializer_range (`float`, *optional*, defaults to 0.02): std of linear layers' init.
    """

    model_type = "av_hubert"
    presets = {
        "paper": {},  # AV-HuBERT Base
        "large": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096},
        "tiny": {
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "intermediate_size": 64,
            "resnet_widths": [8, 8, 16, 16],
            "resnet_blocks": [1, 1, 1, 1],
            "conv_pos_kernel": 8,
            "conv_pos_groups": 4,
        },
    }

    def __init__(
        self,
        hidden_size: int = 768,
        num_hidden_layers: int = 12,
        num_attention_heads: int = 12,
        intermediate_size: int = 3072,
        hidden_act: str = "gelu",
        layer_norm_first: bool = True,
        layer_norm_eps: float = 1e-5,
        audio_feature_size: int = 104,
        resnet_widths: list[int] | tuple[int, ...] = (64, 128, 256, 512),
        resnet_blocks: list[int] | tuple[int, ...] = (2, 2, 2, 2),
        conv_pos_kernel: int = 128,
        conv_pos_groups: int = 16,
        image_size: int = 88,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.layer_norm_first = bool(layer_norm_first)
        self.layer_norm_eps = layer_norm_eps
        self.audio_feature_size = audio_feature_size
        self.resnet_widths = list(resnet_widths)
        self.resnet_blocks = list(resnet_blocks)
        self.conv_pos_kernel = conv_pos_kernel
        self.conv_pos_groups = conv_pos_groups
        self.image_size = image_size
        self.initializer_range = initializer_range
        raise_problems("AVHubertConfig", self._problems())
        super().__init__(**kwargs)

    def _problems(self) -> list[str]:
        problems = []
        positive = {
            "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "intermediate_size": self.intermediate_size,
            "audio_feature_size": self.audio_feature_size,
            "conv_pos_kernel": self.conv_pos_kernel,
            "conv_pos_groups": self.conv_pos_groups,
            "image_size": self.image_size,
        }
        problems += [
            f"{name}={value} (positive integer)"
            for name, value in positive.items()
            if not isinstance(value, int) or value <= 0
        ]
        if not problems:
            if self.hidden_size % self.num_attention_heads:
                problems.append(
                    f"hidden_size={self.hidden_size} is not divisible by num_attention_heads={self.num_attention_heads}"
                )
            if self.hidden_size % self.conv_pos_groups:
                problems.append(
                    f"hidden_size={self.hidden_size} is not divisible by conv_pos_groups={self.conv_pos_groups}"
                )
        if len(self.resnet_widths) != 4 or any(not isinstance(w, int) or w <= 0 for w in self.resnet_widths):
            problems.append(f"resnet_widths={self.resnet_widths} (four positive widths)")
        if len(self.resnet_blocks) != 4 or any(not isinstance(b, int) or b <= 0 for b in self.resnet_blocks):
            problems.append(f"resnet_blocks={self.resnet_blocks} (four positive block counts)")
        if self.hidden_act not in ACT2FN:
            problems.append(f"hidden_act={self.hidden_act!r} (one of transformers' activations, e.g. 'gelu')")
        if self.layer_norm_eps <= 0:
            problems.append(f"layer_norm_eps={self.layer_norm_eps} (positive)")
        return problems
