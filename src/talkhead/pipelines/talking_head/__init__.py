"""``pipeline("talking-head")``: a photo and speech -> a talking-head video.

:mod:`.pipeline_talking_head` holds the pipeline and :func:`talking_head`, which puts the steps together: the inputs
read and checked (:mod:`.photo_inputs`), MS-Sync's landmark motion (:mod:`.speech_to_landmarks`), that motion
rescaled and the mouth set by the mouth-motion model (:mod:`.photo_motion`), the photo warped frame by frame
(:mod:`.photo_frames`) with its eyes blinking (:mod:`.blinks`), and the opened mouth filled (:mod:`.mouth_interior`).
"""

from .pipeline_talking_head import TalkingHeadPipeline, TalkingHeadResult, talking_head
from .speech_to_landmarks import SpeechToLandmarks

__all__ = ["SpeechToLandmarks", "TalkingHeadPipeline", "TalkingHeadResult", "talking_head"]
