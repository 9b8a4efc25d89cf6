"""talkhead.evaluation.verdict: the one answer of `talkhead evaluate video` and of the Space."""

import pytest

from talkhead.evaluation.inputs import KEYWORDS
from talkhead.evaluation.verdict import Verdict, cannot_tell, judge_offset, min_confidence, report_verdict


def test_within_one_frame_is_in_sync_and_further_says_which_side_leads():
    assert judge_offset(0, 0.849, 15, 101) == Verdict("in_sync", 0, 0.849)
    assert judge_offset(-1, 0.849, 15, 101).line() == "in sync (offset -1 frame); mouth_sync expert, confidence 0.849"
    behind = judge_offset(3, 0.5, 15, 101)
    assert behind.kind == "offset" and behind.reason is None
    assert behind.line() == "offset by 3 frames (video behind the audio); mouth_sync expert, confidence 0.500"
    assert judge_offset(-4, 0.5, 15, 101).line().startswith("offset by 4 frames (video ahead of the audio); ")


def test_an_offset_at_the_edge_of_the_search_cannot_tell():
    verdict = judge_offset(-15, 0.9, 15, 226)
    assert verdict.kind == "cannot_tell" and (verdict.offset, verdict.confidence) == (-15, 0.9)
    assert verdict.reason == "offset -15 is at the edge of the ±15-frame search: the true offset may lie beyond it"
    assert judge_offset(14, 0.9, 15, 226).kind == "offset"


def test_the_confidence_a_verdict_needs_falls_with_the_clip_length():
    # unrelated speech reached 0.65 on 2.4 s clips (36 windows) and 0.33 on 8-10 s ones (176-226 windows)
    assert min_confidence(36) == pytest.approx(0.75) and min_confidence(226) == pytest.approx(0.2993, abs=1e-4)
    assert judge_offset(0, 0.65, 15, 36).kind == "cannot_tell" and judge_offset(0, 0.65, 15, 226).kind == "in_sync"
    low = judge_offset(-15, 0.015, 15, 226)  # the face expert's answer on the README's dub, had it been judged
    assert low.reason.startswith("confidence 0.015 is below 0.299, which speech that did not make this mouth")
    assert "; offset -15 is at the edge" in low.reason
    assert low.line().startswith("cannot tell: confidence 0.015") and low.line().endswith("; mouth_sync expert")


def test_the_verdict_of_a_report_without_the_expert_or_where_it_could_not_run():
    missing = report_verdict({"expert_sync": {"status": "computed", "values": {"offset": 0}}}, KEYWORDS)
    assert missing.kind == "cannot_tell" and missing.reason.startswith("metrics= left out mouth_sync, the one shipped")
    assert report_verdict({}, {**KEYWORDS, "metrics": "--metrics"}).reason.startswith("--metrics left out mouth_sync")
    short = {"status": "unavailable", "reason": "clip.mp4 gives 50 frames with audio; ... needs at least 56 (2.2 s)"}
    assert report_verdict({"mouth_sync": short}, KEYWORDS) == cannot_tell(short["reason"])
    computed = {"status": "computed", "values": {"offset": 2, "confidence": 0.7, "frames": 80}, "max_lag": 15}
    assert report_verdict({"mouth_sync": {**computed, "windows": 56}}, KEYWORDS).kind == "offset"
    assert report_verdict({"mouth_sync": {**computed, "windows": 36}}, KEYWORDS).kind == "cannot_tell"
    assert cannot_tell("no speech").to_dict() == {
        "kind": "cannot_tell",
        "offset": None,
        "confidence": None,
        "expert": "mouth_sync",
        "reason": "no speech",
    }
