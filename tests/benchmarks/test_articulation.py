import numpy as np

from talkhead.benchmarks.articulation import RealClip, articulation_table, score_clip, shifted_pair, summarise_rows
from talkhead.processing.phones import PhoneSegment
from talkhead.processing.tracked_clip import TrackedClip
from tests.metrics.test_articulation import OPEN, SHUT, _face


def test_shifted_pair_pairs_a_leading_real_frame_with_the_later_generated_one():
    real, generated = np.arange(10), np.arange(10) + 100
    a, b = shifted_pair(real, generated, 3)  # real frame i shows what the audio says at frame i + 3
    assert list(a[:2]) == [0, 1] and list(b[:2]) == [103, 104] and len(a) == len(b) == 7
    a, b = shifted_pair(real, generated, -2)
    assert list(a[:2]) == [2, 3] and list(b[:2]) == [100, 101] and len(a) == len(b) == 8
    a, b = shifted_pair(real, generated, 0)
    assert len(a) == len(b) == 10


def _clip(openings: list[float]) -> TrackedClip:
    landmarks = np.stack([_face(opening) for opening in openings])
    frames = np.zeros((len(openings), 300, 400, 3), np.uint8)
    return TrackedClip("clip.mp4", landmarks, np.ones(len(openings), bool), 25.0, frames=frames)


def test_undoing_the_offset_scores_a_generated_mouth_made_in_step_with_the_audio():
    # the speech has a P at frames 10-11 and a pause from frame 20; the real mouth, filmed 3 frames ahead of its
    # audio, shuts at 7-8 and from 17
    segments = [PhoneSegment("AA", 0.0, 0.4), PhoneSegment("P", 0.4, 0.48), PhoneSegment("AA", 0.48, 0.8)]
    real_openings = [OPEN] * 17 + [SHUT] * 8
    real_openings[7:9] = [SHUT, SHUT]
    generated_openings = [OPEN] * 20 + [SHUT] * 5
    generated_openings[10:12] = [SHUT, SHUT]
    real, generated = _clip(real_openings), _clip(generated_openings)
    clip = RealClip("a", real, np.zeros(16000, np.float32), segments, 3, 0.6, True)
    scores = score_clip(clip, generated, real.mouth_opening(), generated.mouth_opening())
    filmed = scores["as_filmed"]["articulation"].bilabial_closure
    undone = scores["offset_undone"]["articulation"].bilabial_closure
    assert (filmed.real.hits, filmed.generated.hits) == (0, 1)  # as filmed, the real mouth looks late
    assert (undone.real.hits, undone.generated.hits) == (1, 1)
    table = articulation_table(summarise_rows({"own": {"a": scores}}))
    assert "| own | 1.00 (1/1; real 1.00) |" in table
