"""Configurations of the stabilized-sync face models (Yaman et al., stabilized sync, §3.1-3.3)."""

from __future__ import annotations

from transformers import PretrainedConfig

from ..avsyncnet.configuration_avsyncnet import AVSyncNetConfig
from ..configuration_utils import PresetConfigMixin, raise_problems


class StableSyncFaceGeneratorConfig(PresetConfigMixin, PretrainedConfig):
    r"""Configuration of :class:`StableSyncFaceGenerator` (G_L and G_S are two checkpoints of it).

    A U-Net on 96x96 faces: identity and pose encoders (stem + five FE blocks + a 3x3 valid conv),
    1x1 fusion, the frozen AVSyncNet audio tower, and a decoder of six FD blocks whose skips
    concatenate both encoders' maps (Yaman et al., stabilized sync, §3.3; layer sizes our choice,
    as the paper gives none). The paper's widths are scaled by ``width_multiplier``.

    Args:
        width_multiplier (`float`, *optional*, defaults to 1.0): scales every channel count.
        face_size (`int`, *optional*, defaults to 96): input and output side (must be 96: five stride-2
            blocks and a valid 3x3 conv take it to 1x1).
        audio_encoder (`dict`, *optional*): the :class:`AVSyncNetConfig` of the audio tower (paper preset by
            default); :meth:`StableSyncFaceGenerator.load_audio_encoder` copies the trained tower in.
        initializer_range (`float`, *optional*, defaults to 0.02): unused by convolutions; kept for the shared init.
    """

    model_type = "stable_sync_face_generator"
    presets = {
        "paper": {},
        "small": {"width_multiplier": 0.25, "audio_encoder": AVSyncNetConfig.presets["small"]},
        "tiny": {"width_multiplier": 0.0625, "audio_encoder": AVSyncNetConfig.presets["tiny"]},
    }
    encoder_widths = (32, 64, 128, 256, 512, 512)  # e0 (stem) .. e5; e6 keeps e5's width

    def __init__(
        self,
        width_multiplier: float = 1.0,
        face_size: int = 96,
        audio_encoder: dict | None = None,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        self.width_multiplier = width_multiplier
        self.face_size = face_size
        self.audio_encoder = AVSyncNetConfig(**(audio_encoder or {})).to_diff_dict()
        self.audio_encoder.pop("transformers_version", None)
        self.initializer_range = initializer_range
        problems = []
        if width_multiplier <= 0:
            problems.append(f"width_multiplier={width_multiplier} (positive)")
        if face_size != 96:
            problems.append(f"face_size={face_size} (the U-Net is laid out for 96x96 faces)")
        raise_problems("StableSyncFaceGeneratorConfig", problems)
        super().__init__(**kwargs)

    def width(self, channels: int) -> int:
        return max(4, int(round(channels * self.width_multiplier)))

    @property
    def audio_config(self) -> AVSyncNetConfig:
        return AVSyncNetConfig(**self.audio_encoder)


class FaceDiscriminatorConfig(PresetConfigMixin, PretrainedConfig):
    r"""Configuration of :class:`FaceDiscriminator`: per-frame real/fake logits on 96x96 faces from seven
    spectral-normalised strided convolutions, widths 64 to 512 (Yaman et al., stabilized sync,
    §3.3; Yaman et al., AV-HuBERT expert, §3.6; widths our choice, as the papers give none), scaled by
    ``width_multiplier``.

    Args:
        width_multiplier (`float`, *optional*, defaults to 1.0): scales every channel count.
        initializer_range (`float`, *optional*, defaults to 0.02): unused by convolutions.
    """

    model_type = "stable_sync_face_discriminator"
    presets = {"paper": {}, "small": {"width_multiplier": 0.25}, "tiny": {"width_multiplier": 0.0625}}

    def __init__(self, width_multiplier: float = 1.0, initializer_range: float = 0.02, **kwargs):
        self.width_multiplier = width_multiplier
        self.initializer_range = initializer_range
        raise_problems(
            "FaceDiscriminatorConfig",
            [f"width_multiplier={width_multiplier} (positive)"] if width_multiplier <= 0 else [],
        )
        super().__init__(**kwargs)

    def width(self, channels: int) -> int:
        return max(4, int(round(channels * self.width_multiplier)))
