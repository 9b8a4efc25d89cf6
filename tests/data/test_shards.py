"""Sharded preprocessing: two shards into one folder hold what one unsharded run holds, load with the
project's loader and with plain ``load_dataset("parquet")``, and a killed shard is rewritten alone."""

import json
import os
import shutil
import threading
from contextlib import contextmanager

import numpy as np
import pytest

from talkhead.cli import main
from talkhead.data.build import PreprocessOptions, build_dataset
from talkhead.data.build_shard import build_shard
from talkhead.data.clips import iter_clips, load_dataset_dict
from talkhead.data.discovery import discover
from talkhead.data.shards import Shard, load_sharded, merged_manifest, parquet_path, shard_files, staging_folder
from talkhead.errors import TalkheadInputError

from ..conftest import talking_video

OPTIONS = PreprocessOptions(faces=True, mouths=True)


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory, astronaut):
    root = tmp_path_factory.mktemp("videos")
    for source, names in {"speaker_a": ["a1", "a2", "a3"], "speaker_b": ["b1", "b2"]}.items():
        (root / source).mkdir()
        for name in names:
            talking_video(root / source / f"{name}.mp4", astronaut, num_frames=30)
    (root / "speaker_b" / "broken.mp4").write_bytes(b"not a video")
    return root


@pytest.fixture(scope="module")
def unsharded(clip_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("one") / "dataset"
    build_dataset([clip_folder], out, options=OPTIONS, test_sources=["speaker_b"], progress=False)
    return load_dataset_dict(out)


@pytest.fixture(scope="module")
def sharded(clip_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("shards") / "dataset"
    for index in (1, 0):  # any order: each shard only adds its own files
        build_shard([clip_folder], out, Shard(index, 2), options=OPTIONS, test_sources=["speaker_b"], progress=False)
    return out


def test_shard_text_and_ownership():
    assert Shard.parse(" 3 / 8 ") == Shard(3, 8) and Shard(3, 8).name == "00003-of-00008"
    for bad in ("8/8", "1", "a/b", "-1/4"):
        with pytest.raises(TalkheadInputError, match="shard"):
            Shard.parse(bad)
    keys = [f"vox/id{i:05d}/clip.mp4" for i in range(400)]
    owners = [[s for s in range(4) if Shard(s, 4).owns(key)] for key in keys]
    assert all(len(o) == 1 for o in owners)  # every clip in exactly one shard
    counts = np.bincount([o[0] for o in owners], minlength=4)
    assert counts.min() > 70  # and the shards about even
    assert [Shard(1, 4).owns(k) for k in reversed(keys)] == [Shard(1, 4).owns(k) for k in keys][::-1]


def test_discovery_probes_only_the_owned_clips(clip_folder):
    everything = discover([clip_folder])
    parts = [discover([clip_folder], owns=Shard(i, 2).owns) for i in range(2)]
    assert sorted(c.clip_id for p in parts for c in p.clips) == sorted(c.clip_id for c in everything.clips)
    assert sorted(str(s.path) for p in parts for s in p.skipped) == [str(s.path) for s in everything.skipped]
    assert all(p.sources == everything.sources for p in parts)


def test_two_shards_hold_the_unsharded_rows(sharded, unsharded):
    merged = load_dataset_dict(sharded)
    assert set(merged) == set(unsharded)
    for split in unsharded:
        assert merged[split].features == unsharded[split].features
        one = {c.clip_id: c for c in iter_clips(unsharded[split])}
        other = {c.clip_id: c for c in iter_clips(merged[split])}
        assert sorted(one) == sorted(other)
        for clip_id, clip in one.items():
            for name in ("landmarks", "audio", "mel", "faces", "mouths", "face_found", "clip_box"):
                np.testing.assert_array_equal(getattr(clip, name), getattr(other[clip_id], name), err_msg=name)
            assert other[clip_id].faces.dtype == np.uint8


def test_plain_load_dataset_reads_the_folder(sharded, unsharded):
    import datasets

    plain = datasets.load_dataset("parquet", data_dir=str(sharded))
    assert {split: len(rows) for split, rows in plain.items()} == {s: len(r) for s, r in unsharded.items()}
    assert plain["train"].features == unsharded["train"].features
    faces = plain["train"].with_format("numpy", dtype=None)[0]["faces"]
    assert faces.dtype == np.uint8
    streamed = next(iter(load_sharded(sharded, streaming=True)["train"]))
    assert set(streamed) == set(unsharded["train"].features)


def test_the_shard_that_completes_the_folder_writes_its_card(sharded, unsharded, tmp_path):
    import datasets

    card = (sharded / "README.md").read_text()
    assert "path: data/train-*" in card and "path: data/test-*" in card  # the Hub's configs: front matter
    for split, rows in unsharded.items():
        assert f"| {split} | {len(rows)} |" in card
    assert "`faces`" in card and "load_from_disk" not in card  # a sharded folder has no Arrow files
    by_card = datasets.load_dataset(str(sharded), cache_dir=str(tmp_path / "cache"))
    assert {split: len(rows) for split, rows in by_card.items()} == {s: len(r) for s, r in unsharded.items()}


def test_manifest_lists_clips_skips_and_options(sharded):
    merged = merged_manifest(sharded)
    assert merged["shards"] == 2 and merged["missing_shards"] == []
    assert merged["splits"] == {"train": 3, "test": 2}
    assert [s["reason"] for s in merged["skipped"] if s["path"].endswith("broken.mp4")]
    manifest = json.loads(next((sharded / "manifests").glob("shard-*.json")).read_text())
    assert manifest["options"]["faces"] and manifest["versions"]["datasets"]
    assert {"clip_id", "source", "frames", "rows"} <= set(manifest["clips"][0])


def test_a_killed_shard_is_rewritten_alone(clip_folder, tmp_path):
    out = tmp_path / "dataset"
    for index in range(2):
        build_shard([clip_folder], out, Shard(index, 2), options=PreprocessOptions(), progress=False)
    kept = {p: p.stat().st_mtime_ns for p in shard_files(out, Shard(0, 2))}
    # shard 1 killed half-way through a re-run: its manifest gone, a partial file left behind
    (out / "manifests" / "shard-00001-of-00002.json").unlink()
    partial = out / "data" / ".train-00001-of-00002.parquet.partial-999999"
    partial.write_bytes(b"half a file")
    with pytest.raises(TalkheadInputError, match="missing shard"):
        load_dataset_dict(out)
    build_shard([clip_folder], out, Shard(1, 2), options=PreprocessOptions(), progress=False)
    assert not partial.exists()
    assert {p: p.stat().st_mtime_ns for p in shard_files(out, Shard(0, 2))} == kept  # shard 0 untouched
    assert len(load_dataset_dict(out)["train"]) == 5


def test_shards_must_agree(clip_folder, tmp_path):
    out = tmp_path / "dataset"
    build_shard([clip_folder], out, Shard(0, 2), options=PreprocessOptions(), progress=False)
    with pytest.raises(TalkheadInputError, match="holds shards of 2"):
        build_shard([clip_folder], out, Shard(0, 3), options=PreprocessOptions(), progress=False)
    with pytest.raises(TalkheadInputError, match="other options .*faces"):
        build_shard([clip_folder], out, Shard(1, 2), options=PreprocessOptions(faces=True), progress=False)
    older = tmp_path / "older" / "manifests" / "shard-00000-of-00002.json"  # keys held the input folder's name
    older.parent.mkdir(parents=True)
    older.write_text(json.dumps({"version": 1, "shard": {"index": 0, "count": 2}, "options": {}, "splits": {}}))
    with pytest.raises(TalkheadInputError, match="another talkhead .shard layout 1, this one writes 2"):
        build_shard([clip_folder], older.parents[1], Shard(1, 2), options=PreprocessOptions(), progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "dataset_dict.json").write_text("{}")
    with pytest.raises(TalkheadInputError, match="not only the shards"):
        build_shard([clip_folder], tmp_path / "other", Shard(0, 2), progress=False)


def test_cli_shard(clip_folder, tmp_path, capsys):
    out = tmp_path / "cli"
    assert (
        main(
            [
                "preprocess",
                str(clip_folder),
                "-o",
                str(out),
                "--shard",
                "0/1",
                "--quiet",
                "--num-proc",
                "1",
                "--min-face-size",
                "10",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "shard 0/1 written" in printed and "1 of 1 shards complete" in printed
    assert parquet_path(out, "train", Shard(0, 1)).exists()
    assert main(["preprocess", str(clip_folder), "-o", str(out), "--shard", "0/1", "--parquet"]) == 2
    assert "drop --parquet" in capsys.readouterr().err
    assert sorted(os.listdir(out)) == ["README.md", "data", "manifests"]


@contextmanager
def paused_shard(monkeypatch, inputs, output, shard, **kwargs):
    """``build_shard`` running in a thread, held at its first clip (its claim made) until the block ends."""
    import talkhead.data.build as build

    reached, go, worker, errors = threading.Event(), threading.Event(), {}, []
    process = build.process_clip

    def held(*args, **kw):
        if threading.current_thread() is worker["thread"]:
            reached.set()
            go.wait(60)
        return process(*args, **kw)

    def run():
        try:
            build_shard(inputs, output, shard, progress=False, **kwargs)
        except BaseException as err:  # reported by the test below
            errors.append(err)

    monkeypatch.setattr(build, "process_clip", held)
    worker["thread"] = threading.Thread(target=run)
    worker["thread"].start()
    try:
        assert reached.wait(60), errors
        yield
    finally:
        go.set()
        worker["thread"].join(120)
    assert not errors, errors


def all_clip_ids(output) -> list[str]:
    return sorted(clip_id for split in load_dataset_dict(output).values() for clip_id in split["clip_id"])


def test_the_input_folder_name_does_not_decide_the_shards(clip_folder, tmp_path):
    link = tmp_path / "data_v2"
    link.symlink_to(clip_folder)
    assert [c.key for c in discover([link]).clips] == [c.key for c in discover([clip_folder]).clips]
    out = tmp_path / "dataset"
    build_shard([clip_folder], out, Shard(0, 2), options=PreprocessOptions(), progress=False)
    build_shard([link], out, Shard(1, 2), options=PreprocessOptions(), progress=False)
    assert all_clip_ids(out) == ["a1", "a2", "a3", "b1", "b2"]  # each clip once


def test_a_shard_of_other_input_files_is_refused(clip_folder, tmp_path):
    other = tmp_path / "raw_copy"
    shutil.copytree(clip_folder, other)
    (other / "speaker_a" / "a3.mp4").unlink()
    out = tmp_path / "dataset"
    build_shard([clip_folder], out, Shard(0, 2), options=PreprocessOptions(), progress=False)
    with pytest.raises(TalkheadInputError, match=r"other input files .*speaker_a/ \(3 there, 2 here\).*same input"):
        build_shard([other], out, Shard(1, 2), options=PreprocessOptions(), progress=False)
    assert merged_manifest(out)["shards"] == 1


def test_shards_that_disagree_are_refused_while_one_runs(clip_folder, tmp_path, monkeypatch, capsys):
    out = tmp_path / "dataset"
    with paused_shard(monkeypatch, [clip_folder], out, Shard(0, 1), options=PreprocessOptions()):
        with pytest.raises(TalkheadInputError, match=r"holds shards of 1: shard 0/1 \(being written by process"):
            build_shard([clip_folder], out, Shard(1, 2), options=PreprocessOptions(), progress=False)
        assert (
            main(["preprocess", str(clip_folder), "-o", str(out), "--shard", "0/2", "--quiet", "--num-proc", "1"]) == 2
        )
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "use --shard I/1" in err
    assert all_clip_ids(out) == ["a1", "a2", "a3", "b1", "b2"]


def test_a_shard_being_written_is_not_started_twice(clip_folder, tmp_path, monkeypatch):
    out = tmp_path / "dataset"
    with paused_shard(monkeypatch, [clip_folder], out, Shard(0, 2), options=PreprocessOptions()):
        with pytest.raises(TalkheadInputError, match=f"shard 0/2 is being written into .* by process {os.getpid()}"):
            build_shard([clip_folder], out, Shard(0, 2), options=PreprocessOptions(), progress=False)
    assert merged_manifest(out)["shards"] == 1


def test_a_dead_runs_claim_blocks_nothing(clip_folder, tmp_path):
    out = tmp_path / "dataset"
    claims = staging_folder(out) / "claims"
    claims.mkdir(parents=True)
    for name in ("00000-of-00002", "00000-of-00001"):  # killed (kill -9) runs of this shard and of another N
        claim = {"version": 2, "shard": {"index": 0, "count": int(name[-1])}, "options": {}, "test_sources": None}
        (claims / f"shard-{name}.json").write_text(json.dumps({**claim, "input": {}, "pid": 999999, "host": "x"}))
    build_shard([clip_folder], out, Shard(0, 2), options=PreprocessOptions(), progress=False)
    assert merged_manifest(out)["shards"] == 1


def test_plain_load_dataset_sees_nothing_until_every_shard_is_complete(clip_folder, tmp_path, monkeypatch):
    import datasets

    out = tmp_path / "dataset"
    build_shard([clip_folder], out, Shard(0, 2), options=PreprocessOptions(), progress=False)
    with pytest.raises(FileNotFoundError):  # datasets' EmptyDatasetError: not a subset
        datasets.load_dataset("parquet", data_dir=str(out))
    with pytest.raises(TalkheadInputError, match="missing shard"):
        load_dataset_dict(out)
    assert 0 < len(load_sharded(out, allow_missing=True)["train"]) < 5
    build_shard([clip_folder], out, Shard(1, 2), options=PreprocessOptions(), progress=False)
    assert sum(len(rows) for rows in datasets.load_dataset("parquet", data_dir=str(out)).values()) == 5
    assert sorted(os.listdir(out)) == ["README.md", "data", "manifests"]
    with paused_shard(monkeypatch, [clip_folder], out, Shard(1, 2), options=PreprocessOptions()):  # a re-run
        with pytest.raises(FileNotFoundError):
            datasets.load_dataset("parquet", data_dir=str(out))
    assert sum(len(rows) for rows in datasets.load_dataset("parquet", data_dir=str(out)).values()) == 5
