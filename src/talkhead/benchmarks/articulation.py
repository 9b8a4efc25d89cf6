"""Articulation in the benchmarks: real clips prepared as the ceiling, generated clips scored against them.

:func:`prepare_real_clip` tracks a real clip (frames kept, for the mouth flicker), decodes its phones with the word
aligner and measures its **filmed audio-video offset** with the mouth-sync expert
(:func:`talkhead.data.mouth_sync.mouth_sync_video`). Some real clips were filmed with the mouth several frames ahead of
their own audio; a generated mouth made from that audio is in step with it, so scored against the real mouth as
filmed it reads as late. Every clip is therefore scored twice (:func:`score_clip`): ``as_filmed`` (offset 0) and
``offset_undone`` (the real clip's frames moved by its measured offset). An offset at the edge of the expert's search,
or a clip too short to search, is not undone (``offset_reliable`` is false) and both scores are the same.

The measures themselves are :mod:`talkhead.metrics.articulation`'s; what they cannot see is said in RESULTS.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from .. import defaults
from ..errors import TalkheadInputError
from ..metrics.articulation import (
    ClipArticulation,
    aggregate_articulation,
    articulation,
    mouth_flicker_ratio,
    shut_teeth,
)
from ..metrics.lip_follow import lip_follow
from ..processing.phones import PhoneSegment, decode_phones
from ..processing.tracked_clip import TrackedClip

OFFSET_SEARCH = 15  # frames each way the mouth-sync expert searches
VIEWS = ("as_filmed", "offset_undone")


@dataclass
class RealClip:
    """A real clip as the ceiling: tracked at 25 fps with its frames, its speech, phones and filmed offset."""

    clip_id: str
    tracked: TrackedClip
    wave: np.ndarray
    segments: list[PhoneSegment]
    offset: int  # frames, positive when the video leads its audio (the articulation measures' sign)
    offset_confidence: float
    offset_reliable: bool

    @property
    def undone_offset(self) -> int:
        """The offset the ``offset_undone`` view applies (0 when the measured one is not reliable)."""
        return self.offset if self.offset_reliable else 0


def filmed_offset(tracked: TrackedClip, wave: np.ndarray, expert) -> tuple[int, float, bool]:
    """(offset, confidence, reliable) of a real clip against its own speech, in the articulation measures' sign
    (positive: the mouth shows a sound before the audio has it). The expert's own sign is the opposite (positive:
    the mouth moves after its sound). Unreliable: at the edge of the search, or the clip is too short to search."""
    from ..data.mouth_sync import mouth_sync_video

    try:
        found = mouth_sync_video(tracked, wave, expert, max_lag=OFFSET_SEARCH)
    except TalkheadInputError:
        return 0, float("nan"), False
    offset = -int(found["offset"])
    return offset, float(found["confidence"]), abs(offset) < OFFSET_SEARCH


def prepare_real_clip(clip_id: str, tracked: TrackedClip, wave: np.ndarray, expert) -> RealClip:
    """A real clip ``tracked`` with its frames kept (:func:`~talkhead.processing.tracked_clip.track_clip` with
    ``keep_frames``) and its 16 kHz ``wave`` (cut to the tracked frames): the phones of the speech from the word
    aligner and the filmed offset from the mouth-sync ``expert``."""
    from ..processing.audio import SAMPLES_PER_FRAME

    if tracked.frames is None:
        raise ValueError("prepare_real_clip needs the clip's frames: track it with keep_frames=True")
    wave = np.asarray(wave, np.float32)[: tracked.num_frames * SAMPLES_PER_FRAME]
    segments = decode_phones(wave, "words", "en")
    offset, confidence, reliable = filmed_offset(tracked, wave, expert)
    return RealClip(clip_id, tracked, wave, segments, offset, confidence, reliable)


def shifted_pair(real: np.ndarray, generated: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame values of a real clip and a generated one over the frames they share once the real clip's
    ``offset`` (positive: its video leads its audio, so its frame ``i`` shows audio frame ``i + offset``) is
    undone: real frame ``i`` is paired with generated frame ``i + offset``."""
    if offset >= 0:
        return real[: max(len(real) - offset, 0)], generated[offset:]
    return real[-offset:], generated[: max(len(generated) + offset, 0)]


def score_clip(
    real: RealClip,
    generated: TrackedClip,
    real_opening: np.ndarray,
    generated_opening: np.ndarray,
    drawn_on: RealClip | None = None,
) -> dict:
    """Both views of one generated clip against ``real``, the clip whose speech it says: the articulation measures
    and the lip-follow of the openings. The mouth flicker is against ``drawn_on``, the real video the output was
    drawn on (default ``real``; a dub of one video with another's speech flickers against the video dubbed)."""
    drawn = drawn_on or real  # the flicker does not depend on the offset: once per clip
    flicker = mouth_flicker_ratio(
        drawn.tracked.frames, drawn.tracked.track_landmarks, generated.frames, generated.track_landmarks
    )
    scores = {}
    for view, offset in zip(VIEWS, (0, real.undone_offset), strict=True):
        a, b = shifted_pair(real_opening, generated_opening, offset)
        measures = articulation(real.tracked.track_landmarks, generated.track_landmarks, real.segments, offset=offset)
        teeth = shut_teeth(
            real.tracked.frames,
            real.tracked.track_landmarks,
            generated.frames,
            generated.track_landmarks,
            real.segments,
            offset=offset,
        )
        scores[view] = {
            "articulation": replace(measures, mouth_flicker=flicker, shut_teeth=teeth),
            "lip_follow": lip_follow(b, a),
        }
    return scores


def real_clip_report(real: RealClip) -> dict:
    """What a report says of a real clip: its offset and the phones that were scored."""
    return {
        "offset": real.offset,
        "offset_confidence": real.offset_confidence,
        "offset_reliable": real.offset_reliable,
        "phones": len(real.segments),
        "frames": real.tracked.num_frames,
    }


def clip_articulation_report(scores: ClipArticulation) -> dict:
    """One clip's measures as plain numbers (rates and ratios with their counts)."""
    report = asdict(scores)
    for name in ("bilabial_closure", "labiodental_contact"):
        for side in ("real", "generated"):
            count = getattr(getattr(scores, name), side)
            report[name][side]["rate"] = count.rate
    for name in ("rounding", "open_vowel_opening", "mouth_flicker", "shut_teeth"):
        comparison = getattr(scores, name)
        if comparison is not None:
            report[name]["ratio"] = comparison.ratio
    return report


def summarise_rows(per_row: dict[str, dict[str, dict]]) -> dict:
    """Per row and view: the pooled articulation (:func:`~talkhead.metrics.articulation.aggregate_articulation`)
    and the mean lip-follow over clips."""
    summary: dict[str, dict] = {}
    for row, clips in per_row.items():
        summary[row] = {}
        for view in VIEWS:
            follows = np.array([c[view]["lip_follow"] for c in clips.values()], np.float64)
            follows = follows[np.isfinite(follows)]
            summary[row][view] = {
                **aggregate_articulation(c[view]["articulation"] for c in clips.values()),
                "lip_follow": float(follows.mean()) if follows.size else float("nan"),
            }
    return summary


def per_clip_report(per_row: dict[str, dict[str, dict]]) -> dict:
    """The per-clip scores of :func:`score_clip` as plain numbers."""
    return {
        row: {
            clip: {
                view: {
                    "articulation": clip_articulation_report(scores[view]["articulation"]),
                    "lip_follow": scores[view]["lip_follow"],
                }
                for view in VIEWS
            }
            for clip, scores in clips.items()
        }
        for row, clips in per_row.items()
    }


def articulation_report(prepared: dict[str, RealClip], scored: dict[str, dict[str, dict]]) -> dict:
    """A benchmark report's articulation fields: the real clips (offsets, phones), the rows summarised and per clip."""
    return {
        "real_clips": {clip_id: real_clip_report(clip) for clip_id, clip in prepared.items()},
        "articulation": summarise_rows(scored),
        "articulation_per_clip": per_clip_report(scored),
    }


def _rate(pooled: dict) -> str:
    """``generated (hits/segments; real rate)``: each row's segments are those of the speech its output says."""
    generated, real, total = pooled["generated_hits"], pooled["real_hits"], pooled["segments"]
    return f"{generated / total:.2f} ({generated}/{total}; real {real / total:.2f})" if total else "-"


def articulation_table(summary: dict, view: str = "offset_undone") -> str:
    """Markdown: one line per row for one view (closure and contact rates with the real clips' own, the ceiling;
    ratios as medians over clips)."""
    lines = [
        "| row | bilabial closure | labiodental contact | rounding (gen / real) | open-vowel opening (gen / real) "
        "| mouth flicker (gen / real) | teeth at p/b/m (gen; real) | lip-follow |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row, views in summary.items():
        pooled = views[view]
        lines.append(
            f"| {row} | {_rate(pooled['bilabial_closure'])} | {_rate(pooled['labiodental_contact'])} | "
            f"{pooled['rounding']['median_ratio']:.2f} | {pooled['open_vowel_opening']['median_ratio']:.2f} | "
            f"{pooled['mouth_flicker']['median_ratio']:.2f} | {pooled['shut_teeth']['generated']:.3f}; "
            f"{pooled['shut_teeth']['real']:.3f} | {pooled['lip_follow']:.3f} |"
        )
    return "\n".join(lines)


def load_offset_expert():
    """The mouth-sync expert that measures the real clips' filmed offsets."""
    from ..hub import load_pretrained
    from ..models.mouth_sync import MouthSyncModel

    return load_pretrained(MouthSyncModel, defaults.MOUTH_SYNC).eval()
