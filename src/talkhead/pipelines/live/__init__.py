"""Live lip-sync: a video prepared once as an avatar, then driven by speech as it arrives."""

from .avatar import LipSyncAvatar
from .sinks import FrameSink
from .stream import AvatarStream

__all__ = ["AvatarStream", "FrameSink", "LipSyncAvatar"]
