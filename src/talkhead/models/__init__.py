"""Models: one folder per model family, transformers-style configuration and modeling files.

Importing this package registers every configuration and model with transformers' Auto classes,
so ``AutoModel.from_pretrained("hub_configs/<name>")`` works after ``import talkhead.models``, and
makes ``AutoConfig`` / ``AutoModel.from_pretrained`` take the shipped models' ids and short names
(``talkhead/mouth-motion``, ``mouth-motion``) offline, as talkhead's own classes do.
"""

from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel

from .av_hubert import AVHubertConfig, AVHubertModel
from .avsyncnet import AVSyncNet, AVSyncNetConfig
from .configuration_utils import resolve_shipped_in_auto_class
from .mouth_interior import MouthInteriorConfig, MouthInteriorGenerator
from .mouth_motion import MouthMotionConfig, MouthMotionModel
from .mouth_sync import MouthSyncConfig, MouthSyncModel
from .ms_sync import (
    MSSyncDiscriminatorConfig,
    MSSyncDiscriminators,
    MSSyncGenerator,
    MSSyncGeneratorConfig,
    MSSyncSyncerConfig,
    MSSyncSyncerModel,
)
from .stable_sync import (
    FaceDiscriminator,
    FaceDiscriminatorConfig,
    StableSyncFaceGenerator,
    StableSyncFaceGeneratorConfig,
)
from .syncnet_expert import SyncNetExpert, SyncNetExpertConfig
from .syncnet_v2 import SyncNetV2Config, SyncNetV2Model

_REGISTRY: list[tuple[type[PretrainedConfig], type[PreTrainedModel]]] = [
    (MSSyncSyncerConfig, MSSyncSyncerModel),
    (MSSyncGeneratorConfig, MSSyncGenerator),
    (MSSyncDiscriminatorConfig, MSSyncDiscriminators),
    (AVSyncNetConfig, AVSyncNet),
    (SyncNetExpertConfig, SyncNetExpert),
    (StableSyncFaceGeneratorConfig, StableSyncFaceGenerator),
    (FaceDiscriminatorConfig, FaceDiscriminator),
    (SyncNetV2Config, SyncNetV2Model),
    (AVHubertConfig, AVHubertModel),
    (MouthMotionConfig, MouthMotionModel),
    (MouthSyncConfig, MouthSyncModel),
    (MouthInteriorConfig, MouthInteriorGenerator),
]

for _config, _model in _REGISTRY:
    AutoConfig.register(_config.model_type, _config, exist_ok=True)
    AutoModel.register(_config, _model, exist_ok=True)
resolve_shipped_in_auto_class(AutoConfig)
resolve_shipped_in_auto_class(AutoModel)

__all__ = [
    "MSSyncSyncerConfig",
    "MSSyncSyncerModel",
    "MSSyncGeneratorConfig",
    "MSSyncGenerator",
    "MSSyncDiscriminatorConfig",
    "MSSyncDiscriminators",
    "AVSyncNetConfig",
    "AVSyncNet",
    "SyncNetExpertConfig",
    "SyncNetExpert",
    "StableSyncFaceGeneratorConfig",
    "StableSyncFaceGenerator",
    "FaceDiscriminatorConfig",
    "FaceDiscriminator",
    "SyncNetV2Config",
    "SyncNetV2Model",
    "AVHubertConfig",
    "AVHubertModel",
    "MouthMotionConfig",
    "MouthMotionModel",
    "MouthSyncConfig",
    "MouthSyncModel",
    "MouthInteriorConfig",
    "MouthInteriorGenerator",
]
