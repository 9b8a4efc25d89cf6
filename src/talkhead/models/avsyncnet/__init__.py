"""AVSyncNet (Yaman et al., ECCV): the image-side sync expert of the stabilized sync loss."""

from .configuration_avsyncnet import AVSyncNetConfig
from .modeling_avsyncnet import AVSyncNet, SyncOutput, load_imagenet_resnet50, lower_half_stack

__all__ = [
    "AVSyncNetConfig",
    "AVSyncNet",
    "SyncOutput",
    "load_imagenet_resnet50",
    "lower_half_stack",
]
