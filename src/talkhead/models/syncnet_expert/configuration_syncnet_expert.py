"""Configuration of the Wav2Lip-style SyncNet expert (Wav2Lip, models/syncnet.py)."""

from __future__ import annotations

from transformers import PretrainedConfig

from ..configuration_utils import PresetConfigMixin, raise_problems


class SyncNetExpertConfig(PresetConfigMixin, PretrainedConfig):
    r"""Configuration of :class:`SyncNetExpert`, the Wav2Lip SyncNet (Wav2Lip, models/syncnet.py): conv-BN-ReLU
    towers with residual blocks on 15x48x96 lower halves of 5 faces and a 1x80x16 mel window; cosine of ReLU'd,
    L2-normalised 512-d embeddings. Used as our evaluation expert and for the plain lip-sync loss.

    Args:
        width_multiplier (`float`, *optional*, defaults to 1.0): scales every channel count (1.0: Wav2Lip's).
        num_frames (`int`, *optional*, defaults to 5): faces per window.
        initializer_range (`float`, *optional*, defaults to 0.02): unused by convolutions (PyTorch defaults);
            kept for the shared init helper.
    """

    model_type = "syncnet_expert"
    presets = {"paper": {}, "small": {"width_multiplier": 0.25}, "tiny": {"width_multiplier": 0.125}}

    def __init__(self, width_multiplier: float = 1.0, num_frames: int = 5, initializer_range: float = 0.02, **kwargs):
        self.width_multiplier = width_multiplier
        self.num_frames = num_frames
        self.initializer_range = initializer_range
        raise_problems(
            "SyncNetExpertConfig", [f"width_multiplier={width_multiplier} (positive)"] if width_multiplier <= 0 else []
        )
        super().__init__(**kwargs)

    def width(self, channels: int) -> int:
        return max(4, int(round(channels * self.width_multiplier)))
