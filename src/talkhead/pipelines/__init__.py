"""Pipelines: decoding, models and encoding put together for end users.

Importing this package registers two tasks with transformers' pipeline registry:

* ``pipeline("talking-head")``: a photo and speech -> a talking-head video (:mod:`.talking_head`);
* ``pipeline("lip-sync")``: a video and speech -> the video dubbed (:mod:`.lip_sync`).

Their default models are ``talkhead/ms-sync-short`` and ``talkhead/mouth-motion``, registered as the folder
:func:`talkhead.hub.checkpoint_path` finds for them (the Hugging Face cache, else the copy shipped in the
package), so ``pipeline("lip-sync")`` never downloads. ``import talkhead`` alone is enough: the tasks are
registered when ``transformers.pipelines`` is imported (:mod:`talkhead.registration`).

transformers warns "No model was supplied, defaulted to ..." whenever a task's default is used, because a Hub
default can change under a production deployment. talkhead's defaults are the checkpoints of the installed package
version, so :class:`ShippedDefaultNoticeFilter` drops that warning for them, and only for them.

Each task is a folder, its pipeline in ``pipeline_<task>.py`` and the steps only it uses beside it. What both tasks
share sits here: the base class, default model ids and speech reading (:mod:`.pipeline_utils`), loading the models by
name (:mod:`.loading`), the render threads (:mod:`.concurrency`), the per-stage timings (:mod:`.stages`), the face
generator renderer (:mod:`.generator_renderer`: lip-sync's ``generator`` renderer, the talking head's repaint), the
mouth retrieval functions (:mod:`.mouth_retrieval`: lip-sync's default renderer; the talking head places its mouth
with them) and the thin-plate-spline image warps both render with (:mod:`.warp`).
"""

import logging

from transformers import AutoModel
from transformers.pipelines import PIPELINE_REGISTRY

from .. import models as _models  # noqa: F401  (registers the model classes with AutoModel)
from ..hub import checkpoint_path
from ..options import LipSyncOptions, TalkingHeadOptions
from .lip_sync import LipSyncPipeline
from .pipeline_utils import DEFAULT_MOUTH_MOTION
from .talking_head import TalkingHeadPipeline
from .talking_head.speech_to_landmarks import DEFAULT_GENERATOR, SpeechToLandmarks

# task -> (its pipeline class, the name of its default model)
TASKS = {
    "talking-head": (TalkingHeadPipeline, DEFAULT_GENERATOR),
    "lip-sync": (LipSyncPipeline, DEFAULT_MOUTH_MOTION),
}
# what transformers.pipeline logs, on its module's logger, when it loads a task's default model
TRANSFORMERS_PIPELINE_LOGGER = "transformers.pipelines"
DEFAULT_MODEL_NOTICE = "No model was supplied, defaulted to "


class ShippedDefaultNoticeFilter(logging.Filter):
    """Drops transformers' "No model was supplied, defaulted to FOLDER ..." for talkhead's default folders; every
    other record, the same notice for another task's default included, passes."""

    def __init__(self, default_folders: set[str]):
        super().__init__()
        self.default_folders = default_folders

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(message.startswith(f"{DEFAULT_MODEL_NOTICE}{folder} ") for folder in self.default_folders)


def register_tasks() -> None:
    """Register (again) both tasks with transformers' pipeline registry; called once by this package's import."""
    default_folders = set()
    for task, (pipeline_class, default_model) in TASKS.items():
        folder = checkpoint_path(default_model)
        PIPELINE_REGISTRY.register_pipeline(
            task,
            pipeline_class=pipeline_class,
            pt_model=AutoModel,
            default={"model": (folder, None)},
            type="multimodal",
        )
        default_folders.add(folder)
    quiet_shipped_default_notice(default_folders)


def quiet_shipped_default_notice(default_folders: set[str]) -> None:
    """Install :class:`ShippedDefaultNoticeFilter` for ``default_folders`` on transformers' pipeline logger, in place of
    the one an earlier registration installed."""
    transformers_logger = logging.getLogger(TRANSFORMERS_PIPELINE_LOGGER)
    for installed in list(transformers_logger.filters):
        if type(installed).__name__ == ShippedDefaultNoticeFilter.__name__:  # also one of a reloaded module
            transformers_logger.removeFilter(installed)
    transformers_logger.addFilter(ShippedDefaultNoticeFilter(default_folders))


register_tasks()

# the functions lip_sync.lip_sync and talking_head.talking_head are not re-exported: their names would
# hide the subpackages of the same name
__all__ = ["LipSyncOptions", "LipSyncPipeline", "SpeechToLandmarks", "TalkingHeadOptions", "TalkingHeadPipeline"]
