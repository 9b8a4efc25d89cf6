"""The mouth-interior generator: teeth, tongue and throat inside the lips of a talking photo."""

from .configuration_mouth_interior import MouthInteriorConfig
from .modeling_mouth_interior import (
    MouthInteriorGenerator,
    MouthInteriorOutput,
    MouthPatchDiscriminator,
    crop_to_tensor,
)

__all__ = [
    "MouthInteriorConfig",
    "MouthInteriorGenerator",
    "MouthInteriorOutput",
    "MouthPatchDiscriminator",
    "crop_to_tensor",
]
