"""Image-side sync experts: AVSyncNet (Yaman et al., ECCV) and the Wav2Lip SyncNet expert."""

from .configuration_avsyncnet import AVSyncNetConfig, SyncNetExpertConfig
from .modeling_avsyncnet import AVSyncNet, SyncNetExpert, SyncOutput, load_imagenet_resnet50, lower_half_stack

__all__ = [
    "AVSyncNetConfig",
    "AVSyncNet",
    "SyncNetExpertConfig",
    "SyncNetExpert",
    "SyncOutput",
    "load_imagenet_resnet50",
    "lower_half_stack",
]
