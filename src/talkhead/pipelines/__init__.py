"""Pipelines: decoding, models and encoding put together for end users.

Importing this package registers two tasks with transformers' pipeline registry:

* ``pipeline("talking-head")``: a photo and speech -> a talking-head video (:mod:`.talking_head`);
* ``pipeline("lip-sync")``: a video and speech -> the video dubbed (:mod:`.lip_sync`).

Their default models are the checkpoints shipped in ``hub_configs/`` (no download).
"""

from transformers import AutoModel
from transformers.pipelines import PIPELINE_REGISTRY

from .. import models as _models  # noqa: F401  (registers the model classes with AutoModel)
from ..hub import checkpoint_path
from .lip_sync import DEFAULT_MOUTH_MOTION, LipSyncOptions, LipSyncPipeline
from .speech_to_landmarks import DEFAULT_GENERATOR, SpeechToLandmarks
from .talking_head import TalkingHeadOptions, TalkingHeadPipeline

PIPELINE_REGISTRY.register_pipeline(
    "talking-head", pipeline_class=TalkingHeadPipeline, pt_model=AutoModel,
    default={"model": (checkpoint_path(DEFAULT_GENERATOR), None)}, type="multimodal",
)
PIPELINE_REGISTRY.register_pipeline(
    "lip-sync", pipeline_class=LipSyncPipeline, pt_model=AutoModel,
    default={"model": (checkpoint_path(DEFAULT_MOUTH_MOTION), None)}, type="multimodal",
)

# the functions lip_sync.lip_sync and talking_head.talking_head are not re-exported: their names would
# hide the submodules of the same name
__all__ = ["LipSyncOptions", "LipSyncPipeline", "SpeechToLandmarks", "TalkingHeadOptions", "TalkingHeadPipeline"]
