"""SyncNet v2 (Chung & Zisserman 2016, ``joonson/syncnet_python``): the network behind LSE-C / LSE-D."""

from .configuration_syncnet_v2 import SyncNetV2Config
from .modeling_syncnet_v2 import SyncNetV2Model, SyncNetV2Output

__all__ = ["SyncNetV2Config", "SyncNetV2Model", "SyncNetV2Output"]
