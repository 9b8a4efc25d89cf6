"""Configuration of SyncNet v2 (Chung & Zisserman, "Out of time: automated lip sync in the wild",
ACCV workshops 2016; the released ``syncnet_v2.model`` of ``joonson/syncnet_python``)."""

from __future__ import annotations

from transformers import PretrainedConfig

from ..configuration_utils import PresetConfigMixin, raise_problems


def lip_feature_size(image_size: int) -> int:
    """Side of the lip tower's map before its last convolution (6 for 224-px faces).

    The last convolution's kernel is that side, so the tower ends in a 1x1 map whatever the size.
    """
    side = (image_size - 7) // 2 + 1  # 7x7 conv, stride 2
    side = (side - 3) // 2 + 1  # 3x3 max-pool, stride 2
    side = (side + 2 - 5) // 2 + 1  # 5x5 conv, stride 2, padding 1
    side = (side + 2 - 3) // 2 + 1  # 3x3 max-pool, stride 2, padding 1
    return (side - 3) // 2 + 1  # three 3x3 convs keep the size; 3x3 max-pool, stride 2


class SyncNetV2Config(PresetConfigMixin, PretrainedConfig):
    r"""Configuration of :class:`SyncNetV2Model`: a 2D CNN on 13x20 MFCC windows (200 ms) and a 3D CNN on
    5-frame colour face windows, both ending in a two-layer head with ``embed_dim`` outputs. Audio and
    video are in sync where the Euclidean distance between the two embeddings is small.

    The defaults are the released network's (``syncnet_python``'s ``SyncNetModel.S`` with
    ``num_layers_in_fc_layers=1024``), which is what ``syncnet_v2.model`` loads into.

    Args:
        audio_widths (`list[int]`, *optional*, defaults to `[64, 192, 384, 256, 256, 512]`): output channels
            of the six convolutions of the audio tower (``netcnnaud``).
        image_widths (`list[int]`, *optional*, defaults to `[96, 256, 256, 256, 256, 512]`): output channels
            of the six 3D convolutions of the lip tower (``netcnnlip``).
        hidden_dim (`int`, *optional*, defaults to 512): width of the hidden layer of both heads
            (``netfcaud``, ``netfclip``).
        embed_dim (`int`, *optional*, defaults to 1024): embedding size (``num_layers_in_fc_layers``).
        image_size (`int`, *optional*, defaults to 224): side of the square face crops. The last lip
            convolution's kernel follows from it (6 at 224); only 224 fits the released weights.
        initializer_range (`float`, *optional*, defaults to 0.02): std of the linear layers' init (the
            released weights replace it).
    """

    model_type = "syncnet_v2"
    presets = {
        "paper": {},
        "tiny": {
            "audio_widths": [4, 8, 8, 8, 8, 16],
            "image_widths": [4, 8, 8, 8, 8, 16],
            "hidden_dim": 16,
            "embed_dim": 8,
            "image_size": 64,
        },
    }

    def __init__(
        self,
        audio_widths: list[int] | tuple[int, ...] = (64, 192, 384, 256, 256, 512),
        image_widths: list[int] | tuple[int, ...] = (96, 256, 256, 256, 256, 512),
        hidden_dim: int = 512,
        embed_dim: int = 1024,
        image_size: int = 224,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        self.audio_widths = list(audio_widths)
        self.image_widths = list(image_widths)
        self.hidden_dim = hidden_dim
        self.embed_dim = embed_dim
        self.image_size = image_size
        self.initializer_range = initializer_range
        problems = []
        for name, widths in (("audio_widths", self.audio_widths), ("image_widths", self.image_widths)):
            if len(widths) != 6 or min(widths, default=0) < 1:
                problems.append(f"{name}={widths} (six positive channel counts)")
        if min(hidden_dim, embed_dim) < 1:
            problems.append(f"hidden_dim={hidden_dim}, embed_dim={embed_dim} (positive)")
        if lip_feature_size(image_size) < 1:
            problems.append(f"image_size={image_size} (at least 51 pixels for the lip tower's strides)")
        raise_problems("SyncNetV2Config", problems)
        super().__init__(**kwargs)

    @property
    def lip_kernel(self) -> int:
        """Spatial kernel of the last lip convolution (6 for 224-px faces)."""
        return lip_feature_size(self.image_size)
