"""Names that moved or were renamed in issue #26 keep working and say where they went."""

from __future__ import annotations

import importlib
import sys

import pytest

import talkhead.metrics.baselines
import talkhead.processing.tracked_clip


@pytest.mark.parametrize("old, new, names", [
    ("talkhead.evaluation.tracked_clip", talkhead.processing.tracked_clip,
     ("track_clip", "TrackedClip", "FrameBuffer")),
    ("talkhead.evaluation.baselines", talkhead.metrics.baselines,
     ("fit_phone_table", "phone_table_opening", "loudness_opening")),
])
def test_moved_modules_still_import_with_a_warning(old, new, names, monkeypatch):
    monkeypatch.delitem(sys.modules, old, raising=False)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new.__name__}"):
        module = importlib.import_module(old)
    assert all(getattr(module, name) is getattr(new, name) for name in names)


def test_talking_head_takes_its_old_argument_names_with_a_warning():
    from talkhead.errors import TalkheadInputError
    from talkhead.pipelines.talking_head import talking_head

    with pytest.raises(TalkheadInputError, match="needs head_model"):
        talking_head("photo.png", "speech.wav", None)
    with pytest.warns(DeprecationWarning, match="use head_model= and face_generator="), \
            pytest.raises(FileNotFoundError, match="photo.png"):
        talking_head("photo.png", "speech.wav", None, motion_model=object())  # the warning comes before the input check
