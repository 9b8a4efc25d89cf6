"""Streamed training data: each pass reads the files in its own order, processes split the files between
them, the window buffer mixes clips, and a stream resumes from a checkpoint exactly where it stood."""

import io
from itertools import islice

import pytest
import torch

from talkhead.data.clips import load_dataset_dict
from talkhead.data.shards import export_shards
from talkhead.data.streaming import MOTION_COLUMNS, SplitStream, StreamedWindows, clip_draws
from talkhead.errors import TalkheadInputError

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


def windows(shards, world_size: int = 1, rank: int = 0) -> StreamedWindows:
    """Windows of the clips of sources 0 and 2 (8 clips of 40 frames, 2 windows each), 3 in the buffer."""

    def sample(clip, rng):
        return {"clip_id": clip.clip_id, "start": int(rng.integers(clip.num_frames))}

    stream = SplitStream(shards, "train", MOTION_COLUMNS)
    return StreamedWindows(
        stream,
        lambda source: source != "source1",
        clip_draws(lambda clip: clip, sample, span=20, draws_per_span=1),
        rank=rank,
        world_size=world_size,
        window_buffer=3,
    )


def draws(data: StreamedWindows):
    """(pass, clip, start) of the windows of ``data``, pass after pass (what the training loop's loader reads)."""
    while True:
        for window in data:
            yield data.epoch, window["clip_id"], window["start"]


def saved_and_loaded(state: dict) -> dict:
    """``state`` through a file, as a checkpoint holds it: plain numbers and strings, no array or object."""
    file = io.BytesIO()
    torch.save(state, file)
    assert file.tell() < 8000
    file.seek(0)
    return torch.load(file, weights_only=True)


@pytest.mark.parametrize("drawn", [0, 1, 5, 15, 16, 21])  # 16 windows a pass: its last one, and into the next
def test_windows_resume_exactly_where_the_stream_stood(shards, drawn):
    data = windows(shards)
    stream = draws(data)
    seen = list(islice(stream, drawn))
    state = saved_and_loaded(data.state_dict())
    expected = list(islice(stream, 20))
    resumed = windows(shards)
    resumed.load_state_dict(state)
    assert list(islice(draws(resumed), 20)) == expected
    first_pass = [(clip, start) for epoch, clip, start in seen + expected if epoch == 0]
    assert len(first_pass) == 16 and len({clip for clip, _ in first_pass}) == 8  # every training clip, source1 out
    assert resumed.state_dict() == data.state_dict()


def test_each_process_resumes_its_own_part(shards):
    parts = [windows(shards, 2, rank) for rank in range(2)]
    streams = [draws(part) for part in parts]
    for stream in streams:
        list(islice(stream, 3))
    state = {"world_size": 2, "processes": [part.local_state() for part in parts]}
    for rank, stream in enumerate(streams):
        resumed = windows(shards, 2, rank)
        resumed.load_state_dict(state)
        assert list(islice(draws(resumed), 6)) == list(islice(stream, 6))


def test_a_checkpoint_of_other_processes_or_an_older_talkhead_is_refused(shards):
    state = windows(shards).state_dict()
    with pytest.raises(TalkheadInputError, match="--num_processes 1"):
        windows(shards, 2).load_state_dict(state)
    state["processes"][0] = {"epoch": 0, "clips_seen": 3, "rows": state["processes"][0]["rows"]}
    with pytest.raises(TalkheadInputError, match="older talkhead"):
        windows(shards).load_state_dict(state)


def test_a_held_place_is_saved_until_the_next_hold(shards):
    """A batch that several steps share: the checkpoints between those steps save the place before the batch."""
    data = windows(shards)
    stream = draws(data)
    list(islice(stream, 2))
    data.hold_place()
    before = saved_and_loaded(data.state_dict())
    batch = list(islice(stream, 3))
    assert saved_and_loaded(data.state_dict()) == before
    resumed = windows(shards)
    resumed.load_state_dict(before)
    assert list(islice(draws(resumed), 3)) == batch


def test_clips_without_samples_hold_no_place(shards):
    def sample(clip, rng):
        return {"clip_id": clip.clip_id, "start": int(rng.integers(clip.num_frames))}

    only_even = clip_draws(lambda clip: clip if int(clip.clip_id[4:]) % 2 == 0 else None, sample, 20, 1)
    data = StreamedWindows(
        SplitStream(shards, "train", MOTION_COLUMNS), lambda source: True, only_even, window_buffer=3
    )
    first_pass = [window["clip_id"] for window in data]
    assert sorted(set(first_pass)) == sorted(f"clip{i}" for i in range(0, 12, 2)) and len(first_pass) == 12
    state = saved_and_loaded(data.state_dict())
    assert state["processes"][0]["epoch"] == 1 and state["processes"][0]["buffer"] == []
