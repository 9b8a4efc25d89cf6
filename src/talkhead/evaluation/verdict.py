"""The one answer of ``talkhead evaluate video`` and of the Space: in sync, offset by N frames, or cannot tell and why.

Only the mouth-sync expert gives it. Of the shipped experts it alone finds offsets on speakers it never saw
(benchmarks/RESULTS.md, "Sync experts that can tell": test offset accuracy 0.655 where the face-crop experts,
``expert_sync`` among them, stay at 0.15-0.25 against a chance of 0.125), so the other experts' offsets are
reported as numbers and never judged.

The sign is the expert's (:mod:`talkhead.data.mouth_sync`): offset > 0 means the mouth moves after its sound, the
video behind the audio.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

VERDICT_EXPERT = "mouth_sync"  # the metric of talkhead evaluate video whose offset is judged
VERDICT_KINDS = ("in_sync", "offset", "cannot_tell")
# The expert is within ±1 frame of the phone table's independent offset on 11 of 12 held-out clips
# (RESULTS.md, "Sync experts that can tell"): ±1 frame (40 ms) is as fine as it resolves, so that counts as in sync.
IN_SYNC_FRAMES = 1
# The confidence that speech which did not make the mouth reaches by chance falls as 1 / sqrt(windows searched):
# confidence x sqrt(windows) stayed under 4.34 on all 102 pairs of held-out clips with another clip's speech (2.4 to
# 10 s), and 34 of the 38 pairs with a clip's own speech that reach 4.5 are within a frame of an independent estimate,
# the other 4 one clip whose estimate sits at the edge of its own search (RESULTS.md, "When the mouth-sync expert can
# tell"). Measured on the shipped expert: another checkpoint would need its own.
MIN_SCALED_CONFIDENCE = 4.5


@dataclass(frozen=True)
class Verdict:
    """``kind`` is one of :data:`VERDICT_KINDS`; ``offset`` and ``confidence`` are the expert's (``None`` when it
    could not run); ``reason`` says why it cannot tell (``None`` otherwise)."""

    kind: str
    offset: int | None = None
    confidence: float | None = None
    expert: str = VERDICT_EXPERT
    reason: str | None = None

    def line(self) -> str:
        """The verdict in one line, e.g. ``offset by 3 frames (video behind the audio); mouth_sync expert, ...``."""
        if self.kind == "cannot_tell":
            return f"cannot tell: {self.reason}; {self.expert} expert"
        if self.kind == "in_sync":
            said = f"in sync (offset {self.offset:+d} {_frames(self.offset)})"
        else:
            side = "behind" if self.offset > 0 else "ahead of"
            said = f"offset by {abs(self.offset)} {_frames(self.offset)} (video {side} the audio)"
        return f"{said}; {self.expert} expert, confidence {self.confidence:.3f}"

    def to_dict(self) -> dict:
        return asdict(self)


def _frames(count: int) -> str:
    return "frame" if abs(count) == 1 else "frames"


def min_confidence(windows: int) -> float:
    """The confidence an offset needs over ``windows`` searched windows (see :data:`MIN_SCALED_CONFIDENCE`)."""
    return MIN_SCALED_CONFIDENCE / math.sqrt(max(windows, 1))


def judge_offset(offset: int, confidence: float, max_lag: int, windows: int, expert: str = VERDICT_EXPERT) -> Verdict:
    """The verdict on an expert's best ``offset`` and its ``confidence``, found over ``windows`` windows searching
    ±``max_lag`` frames: cannot tell when the confidence is low or the offset is at the edge of the search."""
    doubts = []
    needed = min_confidence(windows)
    if confidence < needed:
        doubts.append(
            f"confidence {confidence:.3f} is below {needed:.3f}, which speech that did not make this mouth can reach "
            "on a clip this long"
        )
    if abs(offset) >= max_lag:
        doubts.append(
            f"offset {offset:+d} is at the edge of the ±{max_lag}-frame search: the true offset may lie beyond it"
        )
    if doubts:
        return Verdict("cannot_tell", offset, confidence, expert, "; ".join(doubts))
    return Verdict("in_sync" if abs(offset) <= IN_SYNC_FRAMES else "offset", offset, confidence, expert)


def cannot_tell(reason: str, expert: str = VERDICT_EXPERT) -> Verdict:
    """The verdict when the expert could not run (a clip too short, too few frames with a face, no speech)."""
    return Verdict("cannot_tell", expert=expert, reason=reason)


def report_verdict(metrics: Mapping[str, dict], names: Mapping[str, str]) -> Verdict:
    """The verdict of a report's ``metrics`` (:func:`talkhead.evaluation.evaluate.evaluate_video`); ``names`` say
    how to name the metric selection (the CLI's ``--metrics``)."""
    entry = metrics.get(VERDICT_EXPERT)
    if entry is None:
        return cannot_tell(
            f"{names['metrics']} left out {VERDICT_EXPERT}, the one shipped expert that tells offsets on faces it "
            "never saw; add it for a verdict"
        )
    if entry["status"] != "computed":
        return cannot_tell(entry["reason"])
    values = entry["values"]
    return judge_offset(values["offset"], values["confidence"], entry["max_lag"], entry["windows"])
