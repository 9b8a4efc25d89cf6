"""The Wav2Lip SyncNet expert: the image-side evaluation expert (``syncnet-eval``)."""

from .configuration_syncnet_expert import SyncNetExpertConfig
from .modeling_syncnet_expert import SyncNetExpert

__all__ = ["SyncNetExpertConfig", "SyncNetExpert"]
