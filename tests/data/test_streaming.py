"""Streamed training data (issue #28): each pass reads the files in its own order, processes split the files between
them, the window buffer mixes clips, and a stream's place survives a checkpoint."""

import pytest

from talkhead.data.clips import load_dataset_dict
from talkhead.data.shards import export_shards
from talkhead.data.streaming import MOTION_COLUMNS, SplitStream, StreamedWindows

from ..conftest import contract_dataset


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("streams")
    dataset = contract_dataset(root / "ds", num_clips=12, frames=40, sources=3)
    return export_shards(load_dataset_dict(dataset), root / "shards", 4)


def ids(rows) -> list[str]:
    return [str(row["clip_id"]) for row in rows]


def test_passes_reorder_the_files_and_processes_split_them(shards):
    stream = SplitStream(shards, "train", ("clip_id", "source", "face_found"))
    listed = ids(stream.rows())
    assert sorted(listed) == sorted(f"clip{i}" for i in range(12))
    first, second = ids(stream.rows((0, 0))), ids(stream.rows((0, 1)))
    assert sorted(first) == sorted(second) == sorted(listed) and first != second
    assert ids(stream.rows((0, 1))) == second  # the same pass, the same order
    parts = [ids(stream.rows((0, 0), rank, 2)) for rank in range(2)]
    assert not set(parts[0]) & set(parts[1]) and sorted(parts[0] + parts[1]) == sorted(listed)
    three = [ids(stream.rows((0, 0), rank, 3)) for rank in range(3)]  # 4 files over 3 processes: every 3rd clip
    assert sorted(sum(three, [])) == sorted(listed)


def test_windows_resume_where_the_stream_stood(shards):
    def sample(clip, rng):
        return {"clip_id": clip.clip_id, "start": int(rng.integers(clip.num_frames))}

    def windows():
        stream = SplitStream(shards, "train", MOTION_COLUMNS)
        return StreamedWindows(stream, lambda source: source != "source1", lambda clip: clip, sample, window=20,
                               window_buffer=2, draws_per_window=1)

    class Clip:  # what sample() and the buffer read of a motion clip
        def __init__(self, clip):
            self.clip_id, self.num_frames = clip.clip_id, clip.num_frames

    data = windows()
    data.to_motion_clip = Clip
    iterator = iter(data)
    seen = [next(iterator)["clip_id"] for _ in range(5)]
    assert all(not clip_id.endswith(("1", "4", "7", "10")) for clip_id in seen)  # source1 is held out
    state = data.state_dict()
    resumed = windows()
    resumed.to_motion_clip = Clip
    resumed.load_state_dict(state)
    rest = [w["clip_id"] for w in resumed]  # the rest of the pass: 8 clips, 2 windows each
    assert len(set(seen) | set(rest)) == 8  # every training clip is reached in the pass
    assert 16 - 4 <= len(seen) + len(rest) <= 16 + 2  # at most the buffer and one clip's windows lost or repeated
