"""Mouth-sync expert: does this mouth motion belong to this speech, and at which offset?"""

from .configuration_mouth_sync import MouthSyncConfig
from .modeling_mouth_sync import MouthSyncModel, MouthSyncOutput

__all__ = ["MouthSyncConfig", "MouthSyncModel", "MouthSyncOutput"]
