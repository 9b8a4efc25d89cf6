"""Pipelines: decoding, models and encoding put together for end users.

Importing this package registers two tasks with transformers' pipeline registry:

* ``pipeline("talking-head")``: a photo and speech -> a talking-head video (:mod:`.talking_head`);
* ``pipeline("lip-sync")``: a video and speech -> the video dubbed (:mod:`.lip_sync`).

Their default models are ``talkhead/ms-sync-short`` and ``talkhead/mouth-motion``, registered as the folder
:func:`talkhead.hub.checkpoint_path` finds for them (the Hugging Face cache, else the copy shipped in the
package), so ``pipeline("lip-sync")`` never downloads. ``import talkhead`` alone is enough: the tasks are
registered when ``transformers.pipelines`` is imported (:mod:`talkhead.registration`).

Each task is a folder, its pipeline in ``pipeline_<task>.py`` and the steps only it uses beside it. What both tasks
share sits here: the base class, default model ids and speech reading (:mod:`.pipeline_utils`), loading the models by
name (:mod:`.loading`), the render threads (:mod:`.concurrency`), the per-stage timings (:mod:`.stages`), the face
generator renderer (:mod:`.generator_renderer`: lip-sync's ``generator`` renderer, the talking head's repaint), the
mouth retrieval functions (:mod:`.mouth_retrieval`: lip-sync's default renderer; the talking head places its mouth
with them) and the thin-plate-spline image warps both render with (:mod:`.warp`).
"""

from transformers import AutoModel
from transformers.pipelines import PIPELINE_REGISTRY

from .. import models as _models  # noqa: F401  (registers the model classes with AutoModel)
from ..hub import checkpoint_path
from ..options import LipSyncOptions, TalkingHeadOptions
from .lip_sync import LipSyncPipeline
from .pipeline_utils import DEFAULT_MOUTH_MOTION
from .talking_head import TalkingHeadPipeline
from .talking_head.speech_to_landmarks import DEFAULT_GENERATOR, SpeechToLandmarks


def register_tasks() -> None:
    """Register (again) both tasks with transformers' pipeline registry; called once by this package's import."""
    PIPELINE_REGISTRY.register_pipeline(
        "talking-head",
        pipeline_class=TalkingHeadPipeline,
        pt_model=AutoModel,
        default={"model": (checkpoint_path(DEFAULT_GENERATOR), None)},
        type="multimodal",
    )
    PIPELINE_REGISTRY.register_pipeline(
        "lip-sync",
        pipeline_class=LipSyncPipeline,
        pt_model=AutoModel,
        default={"model": (checkpoint_path(DEFAULT_MOUTH_MOTION), None)},
        type="multimodal",
    )


register_tasks()

# the functions lip_sync.lip_sync and talking_head.talking_head are not re-exported: their names would
# hide the subpackages of the same name
__all__ = ["LipSyncOptions", "LipSyncPipeline", "SpeechToLandmarks", "TalkingHeadOptions", "TalkingHeadPipeline"]
