"""MS-Sync (Airale et al.): syncer pyramid, generator and discriminators."""

from .configuration_ms_sync import MSSyncDiscriminatorConfig, MSSyncGeneratorConfig, MSSyncSyncerConfig
from .modeling_ms_sync import MSSyncSyncerModel, MSSyncSyncerOutput
from .modeling_ms_sync_discriminator import MSSyncDiscriminatorOutput, MSSyncDiscriminators
from .modeling_ms_sync_generator import MSSyncGenerator, MSSyncGeneratorOutput

__all__ = [
    "MSSyncSyncerConfig",
    "MSSyncSyncerModel",
    "MSSyncSyncerOutput",
    "MSSyncGeneratorConfig",
    "MSSyncGenerator",
    "MSSyncGeneratorOutput",
    "MSSyncDiscriminatorConfig",
    "MSSyncDiscriminators",
    "MSSyncDiscriminatorOutput",
]
