"""Which video frames show a phone: the frames of phone segments, and the segments a per-frame test passes on.

**Frames of a segment** (:func:`segment_frames`): the frames whose centre time, ``(i + 0.5) / fps``, falls inside
``[start, end)``. ``offset`` (integer frames) undoes a clip's own audio-video lag: positive when the video leads its
audio, i.e. the mouth shows at frame ``i`` what the audio says at frame ``i + offset``; the segment's frames then move
``offset`` frames earlier.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import TalkheadInputError
from ..processing.audio import VIDEO_FPS
from ..processing.phones import PhoneSegment

# a consonant's frames are widened by this many each side: it absorbs an aligner boundary a frame off, and lips that
# shut just before the segment begins (they must be shut for a stop's silence to start)
WIDEN_FRAMES = 1


def _first_frame_centred_at_or_after(position: float) -> int:
    """The first frame whose centre ``i + 0.5`` is at or after ``position`` (in frames); rounding to a millionth of a
    frame keeps 0.1 s x 25 fps = 2.5000000000000004 on frame 2's centre."""
    return int(np.ceil(round(position - 0.5, 6)))


def _check_offset(offset: int) -> int:
    if isinstance(offset, bool) or int(offset) != offset:
        raise TalkheadInputError(
            f"offset must be a whole number of frames (positive: video leads audio), got {offset!r}"
        )
    return int(offset)


def segment_frames(segment: PhoneSegment, fps: float = VIDEO_FPS, offset: int = 0) -> range:
    """The frames of a clip that show ``segment``: those whose centre time ``(i + 0.5) / fps`` falls inside
    ``[start, end)``, moved ``offset`` frames earlier (positive ``offset``: the clip's video leads its audio; see the
    module docstring). Empty for a segment between two frame centres; may reach outside the clip (callers clip)."""
    offset = _check_offset(offset)
    first = _first_frame_centred_at_or_after(segment.start * fps)
    stop = _first_frame_centred_at_or_after(segment.end * fps)
    return range(first - offset, max(stop, first) - offset)


def phone_frame_ranges(
    segments: Iterable[PhoneSegment],
    phones: Iterable[str],
    num_frames: int,
    fps: float = VIDEO_FPS,
    offset: int = 0,
    min_seconds: float = 0.0,
) -> list[range]:
    """:func:`segment_frames` of the segments of ``phones`` lasting at least ``min_seconds``, in order, keeping those
    that show on at least one frame and lie wholly inside a clip of ``num_frames`` frames."""
    return [ranges[0] for ranges in shared_ranges(segments, phones, [(num_frames, offset)], fps, min_seconds)]


def shared_ranges(
    segments: Iterable[PhoneSegment],
    phones: Iterable[str],
    clips: Sequence[tuple[int, int]],
    fps: float,
    min_seconds: float,
) -> list[tuple[range, ...]]:
    """Per segment of ``phones`` lasting at least ``min_seconds``: its frames in each of ``clips`` ((num_frames,
    offset) each), for the segments that show on a frame and lie wholly inside every clip."""
    wanted = set(phones)
    shared = []
    for segment in segments:
        if segment.phone not in wanted or segment.end - segment.start < min_seconds - 1e-9:
            continue
        ranges = tuple(segment_frames(segment, fps, offset) for _, offset in clips)
        if all(len(r) and r.start >= 0 and r.stop <= length for r, (length, _) in zip(ranges, clips, strict=True)):
            shared.append(ranges)
    return shared


def segments_passing(
    passes: np.ndarray, seen: np.ndarray, ranges: Sequence[range], widen: int = WIDEN_FRAMES
) -> tuple[np.ndarray, np.ndarray]:
    """Per range, widened by ``widen`` frames each side: (whether a frame ``passes``, whether a frame was ``seen``)."""
    hits, scoreable = np.zeros(len(ranges), bool), np.zeros(len(ranges), bool)
    for index, frames in enumerate(ranges):
        window = slice(max(frames.start - widen, 0), frames.stop + widen)
        hits[index], scoreable[index] = passes[window].any(), seen[window].any()
    return hits, scoreable
