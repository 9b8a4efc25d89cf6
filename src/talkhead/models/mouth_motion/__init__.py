"""Mouth motion from speech (issue #14): phones and mel per video frame -> mouth shapes."""

from .configuration_mouth_motion import MouthMotionConfig
from .modeling_mouth_motion import MouthMotionModel, MouthMotionOutput, mouth_audio_features

__all__ = ["MouthMotionConfig", "MouthMotionModel", "MouthMotionOutput", "mouth_audio_features"]
