"""Mouth motion from speech: phones and mel per video frame -> mouth shapes."""

from .configuration_mouth_motion import MouthMotionConfig
from .feature_extraction_mouth_motion import MouthMotionFeatureExtractor, mouth_audio_features
from .modeling_mouth_motion import MouthMotionModel, MouthMotionOutput

__all__ = [
    "MouthMotionConfig",
    "MouthMotionFeatureExtractor",
    "MouthMotionModel",
    "MouthMotionOutput",
    "mouth_audio_features",
]
