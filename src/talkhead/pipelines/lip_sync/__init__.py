"""``pipeline("lip-sync")``: a video and new speech -> the video dubbed.

:mod:`.pipeline_lip_sync` holds the pipeline and :func:`lip_sync` (its models in one :class:`LipSyncModels`), which
puts the passes together: the inputs read and checked (:mod:`.dub_inputs`), the tracking pass (:mod:`.face_plan`),
the order the source frames are played in (:mod:`.playback`), and the renderer: the video's own mouths retrieved and
warped (:mod:`.retrieval_renderer`, the default) or the paper's face generator
(:mod:`talkhead.pipelines.generator_renderer`, shared with the talking head's repaint).
"""

from .pipeline_lip_sync import LipSyncModels, LipSyncPipeline, LipSyncResult, lip_sync

__all__ = ["LipSyncModels", "LipSyncPipeline", "LipSyncResult", "lip_sync"]
