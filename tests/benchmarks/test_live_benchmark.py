"""``talkhead benchmark live``'s timing of a stream and its report, on a tiny avatar (the real clips are slow tests)."""

import numpy as np
import pytest

from talkhead.benchmarks.live import live_report, live_table, long_run, stream_speech
from talkhead.metrics.articulation import ClipArticulation, MeanComparison
from talkhead.metrics.lip_contacts import BilabialClosure, LabiodentalContact, SegmentCount
from talkhead.pipelines.live import LipSyncAvatar
from talkhead.processing.phones import phones_available
from tests.conftest import speech_like, talking_video

pytestmark = pytest.mark.skipif(not phones_available(), reason="pocketsphinx is not installed")


@pytest.fixture(scope="module")
def avatar(tmp_path_factory, astronaut):
    video = talking_video(tmp_path_factory.mktemp("bench") / "talk.mp4", astronaut, num_frames=50)
    return LipSyncAvatar.from_video(video, loop_seconds=(1.0, 1.5))


def test_a_stream_is_timed_frame_by_frame(avatar):
    pairs = []
    run = stream_speech(avatar.stream(), speech_like(1.0), realtime=False, on_frame=lambda f, a: pairs.append(a))
    assert run["frames"] == len(pairs) == 25 + 1
    assert len(run["latencies"]) == len(run["holds"]) == 25 - avatar.stream().latency_frames - 1
    assert all(latency > 0 for latency in run["latencies"]) and run["first_frame_seconds"] > 0
    assert run["cpu_seconds"] > 0 and run["wall_seconds"] > 0


def test_a_long_run_samples_memory_and_counts_late_frames(avatar, monkeypatch):
    monkeypatch.setattr("talkhead.benchmarks.live.MEMORY_EVERY_SECONDS", 0.0)
    report = long_run(avatar, [speech_like(0.5)], seconds=2.0)  # real time: two seconds
    assert report["frames"] == 50 + 1 and len(report["memory_mb"]) >= 10
    assert 0 <= report["late_share"] <= 1 and report["memory_spread_after_first_minute"] >= 0


def _clip(hits: int) -> ClipArticulation:
    comparison = MeanComparison(real=1.0, generated=1.0, frames=4)
    return ClipArticulation(
        BilabialClosure(SegmentCount(4, 4), SegmentCount(hits, 4), 0.01),
        LabiodentalContact(SegmentCount(1, 2), SegmentCount(1, 2), None),
        comparison,
        comparison,
    )


def test_the_report_gives_streamed_over_offline():
    per_clip = {
        name: {
            "latency_p50_seconds": 0.2,
            "latency_p95_seconds": 0.25,
            "first_frame_seconds": 0.23,
            "load_seconds": 0.5,
            "cpu_cores": 0.3,
            "prepare_seconds": 1.0,
            "video_seconds": 4.0,
        }
        for name in ("a", "b")
    }
    follow = {"streamed": {"a": 0.4, "b": 0.5}, "offline": {"a": 0.5, "b": 0.5}}
    report = live_report("ds", "test", True, per_clip, [_clip(2), _clip(2)], [_clip(4), _clip(4)], follow, None)
    assert report["medians"]["prepare_over_duration"] == 0.25
    assert report["ratios"]["lip_follow"] == pytest.approx(0.9, abs=1e-3)
    assert report["ratios"]["bilabial_closure"] == pytest.approx(0.5)
    table = live_table(report)
    assert "| latency p50 / p95 (s) | 0.2 / 0.25 |" in table and "= 0.5 |" in table
    assert np.isfinite(report["lip_follow"]["streamed"])
