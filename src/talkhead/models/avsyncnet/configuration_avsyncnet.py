"""Configuration of AVSyncNet (Yaman et al., stabilized sync, §3.4)."""

from __future__ import annotations

from transformers import PretrainedConfig

from ..configuration_utils import PresetConfigMixin, raise_problems


class AVSyncNetConfig(PresetConfigMixin, PretrainedConfig):
    r"""Configuration of :class:`AVSyncNet`: a ResNet image tower on the lower halves of 5 faces and a
    ResNetSE audio tower on a 16-frame log-mel window, scored by the cosine of ReLU'd embeddings.

    The defaults are the paper's (Yaman et al., stabilized sync, §3.4): ResNet-50 on 15x112x224 (96-px faces
    upsampled to 224, our choice to reach that input size), ResNetSE-34 with widths [32, 64, 128, 256],
    self-attentive pooling, 512-d embeddings.

    Args:
        num_frames (`int`, *optional*, defaults to 5): faces per window (stacked on channels).
        face_size (`int`, *optional*, defaults to 224): faces are resized to this square before the lower
            half is taken; 224 in the paper, 96 (no resizing) in the small configuration.
        image_block (`str`, *optional*, defaults to `"bottleneck"`): ResNet block, `"bottleneck"` or `"basic"`.
        image_layers (`list[int]`, *optional*, defaults to `[3, 4, 6, 3]`): blocks per image stage.
        image_widths (`list[int]`, *optional*, defaults to `[64, 128, 256, 512]`): stage widths (before the
            bottleneck expansion of 4).
        image_stem_width (`int`, *optional*, defaults to 64): channels of the 7x7 stem.
        n_mels (`int`, *optional*, defaults to 80): mel bands of the audio window.
        mel_frames (`int`, *optional*, defaults to 16): mel frames per window (200 ms).
        audio_layers (`list[int]`, *optional*, defaults to `[3, 4, 6, 3]`): SE basic blocks per audio stage.
        audio_widths (`list[int]`, *optional*, defaults to `[32, 64, 128, 256]`): audio stage widths.
        se_reduction (`int`, *optional*, defaults to 8): squeeze-and-excitation reduction.
        attention_dim (`int`, *optional*, defaults to 128): hidden size of the self-attentive pooling.
        embed_dim (`int`, *optional*, defaults to 512): embedding size of both towers.
        initializer_range (`float`, *optional*, defaults to 0.02): std of linear layers' init.
    """

    model_type = "avsyncnet"
    presets = {
        "paper": {},
        # what we train on this CPU: 96-px lower halves (no upsampling), basic blocks, narrow towers
        "small": {
            "face_size": 96,
            "image_block": "basic",
            "image_layers": [1, 1, 1, 1],
            "image_widths": [32, 64, 128, 256],
            "image_stem_width": 32,
            "audio_layers": [1, 1, 1, 1],
            "audio_widths": [16, 32, 64, 128],
            "attention_dim": 64,
            "embed_dim": 256,
        },
        "tiny": {
            "face_size": 32,
            "image_block": "basic",
            "image_layers": [1, 1],
            "image_widths": [8, 16],
            "image_stem_width": 8,
            "audio_layers": [1, 1],
            "audio_widths": [4, 8],
            "se_reduction": 2,
            "attention_dim": 8,
            "embed_dim": 16,
        },
    }

    def __init__(
        self,
        num_frames: int = 5,
        face_size: int = 224,
        image_block: str = "bottleneck",
        image_layers: list[int] | tuple[int, ...] = (3, 4, 6, 3),
        image_widths: list[int] | tuple[int, ...] = (64, 128, 256, 512),
        image_stem_width: int = 64,
        n_mels: int = 80,
        mel_frames: int = 16,
        audio_layers: list[int] | tuple[int, ...] = (3, 4, 6, 3),
        audio_widths: list[int] | tuple[int, ...] = (32, 64, 128, 256),
        se_reduction: int = 8,
        attention_dim: int = 128,
        embed_dim: int = 512,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        self.num_frames = num_frames
        self.face_size = face_size
        self.image_block = image_block
        self.image_layers = list(image_layers)
        self.image_widths = list(image_widths)
        self.image_stem_width = image_stem_width
        self.n_mels = n_mels
        self.mel_frames = mel_frames
        self.audio_layers = list(audio_layers)
        self.audio_widths = list(audio_widths)
        self.se_reduction = se_reduction
        self.attention_dim = attention_dim
        self.embed_dim = embed_dim
        self.initializer_range = initializer_range
        problems = []
        if image_block not in ("bottleneck", "basic"):
            problems.append(f"image_block={image_block!r} (bottleneck or basic)")
        if len(self.image_layers) != len(self.image_widths) or len(self.audio_layers) != len(self.audio_widths):
            problems.append("each tower needs as many layer counts as widths")
        if face_size % 2 or face_size < 16:
            problems.append(f"face_size={face_size} (an even size of at least 16)")
        if n_mels % 2 ** (len(self.audio_widths) - 1):
            problems.append(
                f"n_mels={n_mels} must divide by 2^{len(self.audio_widths) - 1} (the audio tower's strides)"
            )
        raise_problems("AVSyncNetConfig", problems)
        super().__init__(**kwargs)

    @property
    def audio_frequency_bins(self) -> int:
        """Mel bins left after the audio tower's stride-2 stages (80 / 8 = 10 for the paper)."""
        return self.n_mels // 2 ** (len(self.audio_widths) - 1)
