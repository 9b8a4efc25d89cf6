"""Stabilized-sync face models (Yaman et al., ECCV): the U-Net face generator (G_L, G_S) and its discriminator."""

from .configuration_stable_sync import FaceDiscriminatorConfig, StableSyncFaceGeneratorConfig
from .modeling_stable_sync import (
    FaceDiscriminator,
    FaceDiscriminatorOutput,
    FaceGeneratorOutput,
    StableSyncFaceGenerator,
    mask_lower_half,
)

__all__ = [
    "StableSyncFaceGeneratorConfig",
    "StableSyncFaceGenerator",
    "FaceGeneratorOutput",
    "FaceDiscriminatorConfig",
    "FaceDiscriminator",
    "FaceDiscriminatorOutput",
    "mask_lower_half",
]
