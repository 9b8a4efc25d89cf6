"""Which of several faces to follow (processing.face_choice) and the tracker staying on it."""

import numpy as np
import pytest

from talkhead.errors import TalkheadInputError
from talkhead.processing.face_choice import FaceChoice

# three faces, left to right: middle-sized, largest, smallest (a detector lists them largest first)
BOXES = np.array([[300, 40, 420, 160], [10, 20, 110, 120], [500, 50, 560, 110]], np.float64)


@pytest.mark.parametrize(
    "text, chosen",
    [
        ("largest", 0),
        ("leftmost", 1),
        ("rightmost", 2),
        ("0", 1),
        ("1", 0),
        ("2", 2),
        ("530,80", 2),
        (" 50 , 70 ", 1),
        ("250,100", 0),
    ],
)
def test_each_rule_picks_its_face(text, chosen):
    assert FaceChoice.parse(text)(BOXES) == chosen


def test_points_are_in_the_videos_pixels_and_descriptions_too():
    choice = FaceChoice.parse("1060,160").at_scale(0.5)  # boxes found on frames at half size
    assert choice(BOXES) == 2
    assert choice.describe(BOXES, 2) == "face 3 of 3 from the left (x 1000-1120)"


@pytest.mark.parametrize("text", ["middle", "-1", "1.5", "10,", "x,y", ""])
def test_what_is_not_a_rule_is_an_error_naming_the_rules(text):
    with pytest.raises(TalkheadInputError, match="largest, leftmost, rightmost, an index from the left"):
        FaceChoice.parse(text)


def test_an_index_beyond_the_faces_says_how_many_there_are():
    with pytest.raises(TalkheadInputError, match="face 3 was asked for, but .* holds 3 face"):
        FaceChoice.parse("3")(BOXES)


class ScriptedDetector:
    """Returns the boxes scripted for each call to detect; no detect_near, so every detection is a full one."""

    def __init__(self, frames):
        self.frames, self.calls = frames, 0

    def detect(self, image):
        boxes = self.frames[min(int(image[0, 0, 0]), len(self.frames) - 1)]
        self.calls += 1
        return np.asarray(boxes, np.float32)


def square_landmarks(box):
    x0, y0, x1, y1 = box
    t = np.linspace(0, 1, 68)
    return np.stack([x0 + (x1 - x0) * t, y0 + (y1 - y0) * (0.5 + 0.5 * np.sin(7 * t))], 1).astype(np.float32)


def test_the_tracker_returns_to_the_chosen_face_after_losing_it():
    from talkhead.processing.faces import FaceTracker

    chosen, other, newcomer = [300, 50, 400, 150], [500, 40, 620, 160], [10, 60, 70, 120]
    script = [[other, chosen], [], [other, chosen, newcomer]]  # two, none (a cut), then a third further left
    tracker = FaceTracker(
        ScriptedDetector(script),
        lambda image, box: square_landmarks(box),
        redetect_every=1,
        choose=FaceChoice.parse("leftmost"),
    )
    frames = [np.full((200, 700, 3), index, np.uint8) for index in range(3)]
    tracked = [tracker.update(frame) for frame in frames]
    assert tracked[1] is None
    # the same face before and after the gap, though the newcomer is now the leftmost
    assert 300 <= tracked[0][:, 0].min() < 400 and 300 <= tracked[2][:, 0].min() < 400
    assert tracker.started[1] == 1 and len(tracker.started[0]) == 2
