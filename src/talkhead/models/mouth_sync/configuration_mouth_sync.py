"""Configuration of the mouth-sync expert: mouth-shape windows against phone + mel windows."""

from __future__ import annotations

from transformers import PretrainedConfig

from ...processing.phones import NUM_PHONES
from ..configuration_utils import PresetConfigMixin, raise_problems
from ..mouth_motion.configuration_mouth_motion import MEL_BANDS


class MouthSyncConfig(PresetConfigMixin, PretrainedConfig):
    r"""Configuration of :class:`MouthSyncModel`.

    Two towers of dilated residual 1D convolutions, one over a window of mouth shapes (points 48-67 in
    the head-fixed face frame of :mod:`talkhead.processing.mouth`, minus the clip's mean shape), one over
    the same frames' audio features (the mouth-motion model's: phone soft one-hots and per-frame mel),
    each flattened over time into an L2-normalised embedding, so the order of events in the window counts.

    Args:
        use_phones (`bool`, *optional*, defaults to `True`): read the pocketsphinx phone features.
        use_mel (`bool`, *optional*, defaults to `True`): read the per-frame mel.
        window (`int`, *optional*, defaults to 25): video frames per window (25 = 1 s at 25 fps). SyncNet's
            5 frames (0.2 s) carry too little: with real landmarks and the mouth-motion model's predictions,
            5-frame windows pick the right one of 8 offsets 2 frames apart only 33 % of the time (RESULTS.md).
        hidden_size (`int`, *optional*, defaults to 64): channels of both towers.
        dilations (`list[int]`, *optional*, defaults to `[1, 2, 4, 1]`): one residual block per entry.
        kernel_size (`int`, *optional*, defaults to 5): temporal kernel of every convolution.
        embed_dim (`int`, *optional*, defaults to 128): embedding size.
        dropout (`float`, *optional*, defaults to 0.2): dropout inside the blocks.
        input_dropout (`float`, *optional*, defaults to 0.0): dropout on both towers' inputs.
        mouth_points (`int`, *optional*, defaults to 20): mouth points per frame.
        mel_normalization (`str`, *optional*, defaults to `"mean"`): as in :class:`MouthMotionConfig`.
        cosine_temperature (`float`, *optional*, defaults to 0.1): cosine temperature of the training objective.
        initializer_range (`float`, *optional*, defaults to 0.02): std of the initial weights.
    """

    model_type = "mouth_sync"
    presets = {
        "small": {},
        "tiny": {"window": 9, "hidden_size": 8, "dilations": [1, 2], "kernel_size": 3, "embed_dim": 8},
    }

    def __init__(
        self,
        use_phones: bool = True,
        use_mel: bool = True,
        window: int = 25,
        hidden_size: int = 64,
        dilations: list[int] | None = None,
        kernel_size: int = 5,
        embed_dim: int = 128,
        dropout: float = 0.2,
        input_dropout: float = 0.0,
        mouth_points: int = 20,
        mel_normalization: str = "mean",
        cosine_temperature: float = 0.1,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        self.use_phones = use_phones
        self.use_mel = use_mel
        self.window = window
        self.hidden_size = hidden_size
        self.dilations = list(dilations) if dilations is not None else [1, 2, 4, 1]
        self.kernel_size = kernel_size
        self.embed_dim = embed_dim
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.mouth_points = mouth_points
        self.mel_normalization = mel_normalization
        self.cosine_temperature = cosine_temperature
        self.initializer_range = initializer_range
        problems = []
        if not (use_phones or use_mel):
            problems.append("use_phones and use_mel are both False (the audio tower needs an input)")
        if window < 1:
            problems.append(f"window={window} (at least 1 frame)")
        if kernel_size % 2 == 0:
            problems.append(f"kernel_size={kernel_size} (odd, so the output is centred on the frame)")
        if mel_normalization not in ("mean", "mean_std"):
            problems.append(f"mel_normalization={mel_normalization!r} (mean or mean_std)")
        raise_problems("MouthSyncConfig", problems)
        super().__init__(**kwargs)

    @property
    def input_size(self) -> int:
        """Audio feature channels (the same features as the mouth-motion model's)."""
        return NUM_PHONES * self.use_phones + MEL_BANDS * self.use_mel
