"""The dataset the Hub way: card, Parquet shards with a configs: README, uint8 faces, zero-copy clips, upload."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import DatasetCard

from talkhead.cli import main
from talkhead.data.clips import load_dataset_dict, read_clip, split_by_source, with_contract_format
from talkhead.errors import TalkheadInputError
from talkhead.hub.dataset_export import push_dataset, source_licences
from talkhead.hub.upload import HubUploadError

from ..conftest import talking_video

SOURCES_MD = """# Sources

## someone/speaker_a

- licence: MIT
- origin: tests

## other/speaker_b

- licence: CC BY-NC 4.0 (LICENSE.md)
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory, astronaut):
    """`talkhead preprocess --faces` on two sources, one of them the test split (Parquet by default)."""
    root = tmp_path_factory.mktemp("videos")
    for source, names in {"someone__speaker_a": ["a1", "a2"], "other__speaker_b": ["b1"]}.items():
        (root / source).mkdir()
        for name in names:
            talking_video(root / source / f"{name}.mp4", astronaut, num_frames=30)
    (root / "SOURCES.md").write_text(SOURCES_MD)
    out = tmp_path_factory.mktemp("out") / "dataset"
    assert (
        main(
            [
                "preprocess",
                str(root),
                "-o",
                str(out),
                "--faces",
                "--test-sources",
                "other__*",
                "--num-proc",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    return out


def test_card_names_sources_licences_splits_and_features(exported):
    card = DatasetCard.load(exported / "README.md")
    assert card.data.license == "other"
    assert card.data.configs == [
        {
            "config_name": "default",
            "data_files": [{"split": "train", "path": "data/train-*"}, {"split": "test", "path": "data/test-*"}],
        }
    ]
    assert "| `someone__speaker_a` | train | 2 |" in card.text and "| MIT |" in card.text
    assert "| `other__speaker_b` | test | 1 |" in card.text and "CC BY-NC 4.0 (LICENSE.md)" in card.text
    assert "`faces` | `Array4D(shape=(None, 96, 96, 3), dtype='uint8')`" in card.text


def test_parquet_export_reads_back_through_load_dataset(exported):
    import datasets

    from_parquet = datasets.load_dataset(str(exported), cache_dir=str(exported.parent / "hf_cache"))
    from_arrow = load_dataset_dict(exported)
    assert sorted(from_parquet) == ["test", "train"] and sorted(p.name for p in (exported / "data").iterdir()) == [
        "test-00000-of-00001.parquet",
        "train-00000-of-00001.parquet",
    ]
    assert from_parquet["train"].features == from_arrow["train"].features
    for kind in ("numpy", "torch"):
        a, b = with_contract_format(from_parquet["train"], kind)[0], with_contract_format(from_arrow["train"], kind)[0]
        assert str(a["faces"].dtype).endswith("uint8") and str(a["landmarks"].dtype).endswith("float32")
        assert np.array_equal(np.asarray(a["faces"]), np.asarray(b["faces"]))


def test_plain_numpy_format_widens_faces_which_contract_format_does_not(exported):
    """Why with_contract_format exists: if datasets stops widening integers, this test says it is no longer needed."""
    split = load_dataset_dict(exported)["train"]
    assert split.with_format("numpy")[0]["faces"].dtype == np.int64
    assert with_contract_format(split)[0]["faces"].dtype == np.uint8


def test_read_clip_gives_the_rows_with_faces_as_a_read_only_view(exported):
    split = load_dataset_dict(exported)["train"]
    clip, row = read_clip(split, 1), with_contract_format(split)[1]
    assert not clip.faces.flags.writeable  # a view of the memory-mapped Arrow file, not a copy
    for name in ("landmarks", "faces", "audio", "mel", "logfbank", "face_boxes", "clip_box"):
        value = getattr(clip, name)
        assert value.flags.writeable == (name != "faces"), name
        assert value.dtype == row[name].dtype and np.array_equal(value, row[name], equal_nan=True), name
    assert clip.faces.shape == (clip.num_frames, 96, 96, 3)
    kept, held, sources = split_by_source(split, ["someone__speaker_a"])
    assert held == [0, 1] and kept == [] and sources == ["someone__speaker_a"]


def test_source_licences_reads_the_sources_file(tmp_path):
    (tmp_path / "SOURCES.md").write_text(SOURCES_MD)
    assert source_licences([tmp_path / "SOURCES.md"]) == {
        "someone__speaker_a": "MIT",
        "other__speaker_b": "CC BY-NC 4.0 (LICENSE.md)",
    }


def test_push_uploads_the_card_and_the_shards_and_reports_auth(exported, monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import HfHubHTTPError

    calls = []

    class FakeApi:
        def __init__(self, token=None):
            pass

        def create_repo(self, repo_id, repo_type=None, **kwargs):
            calls.append(("create", repo_id, repo_type))

        def upload_folder(self, *, repo_id, repo_type, folder_path, allow_patterns, **kwargs):
            from huggingface_hub.utils import filter_repo_objects

            files = [p.relative_to(folder_path).as_posix() for p in Path(folder_path).rglob("*") if p.is_file()]
            calls.append(
                ("upload", repo_id, repo_type, sorted(filter_repo_objects(files, allow_patterns=allow_patterns)))
            )
            return types.SimpleNamespace(commit_url="https://hub.invalid/c/1")

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    push_dataset(exported, "someone/clips")
    assert calls[0] == ("create", "someone/clips", "dataset")
    assert calls[1][3] == ["README.md", "data/test-00000-of-00001.parquet", "data/train-00000-of-00001.parquet"]

    def refuse(self, repo_id, **kwargs):
        raise HfHubHTTPError("403 Forbidden", response=types.SimpleNamespace(status_code=403, headers={}, request=None))

    monkeypatch.setattr(FakeApi, "create_repo", refuse)
    with pytest.raises(HubUploadError) as raised:
        push_dataset(exported, "someone/clips")
    assert raised.value.kind == "auth"


def test_push_without_parquet_says_what_to_run(tmp_path):
    with pytest.raises(TalkheadInputError, match="without --no-parquet"):
        push_dataset(tmp_path, "someone/clips")


def test_no_parquet_keeps_the_arrow_files_alone_and_cannot_be_pushed(tmp_path, astronaut, capsys):
    videos = tmp_path / "videos" / "someone__speaker_a"
    videos.mkdir(parents=True)
    talking_video(videos / "a1.mp4", astronaut, num_frames=30)
    out = tmp_path / "arrow-only"
    assert main(["preprocess", str(videos.parent), "-o", str(out), "--no-parquet", "--quiet"]) == 0
    assert not (out / "data").exists() and (out / "dataset_dict.json").is_file()
    assert (
        main(["preprocess", str(videos.parent), "-o", str(tmp_path / "x"), "--no-parquet", "--push-to-hub", "a/b"]) == 2
    )
    assert "--no-parquet" in capsys.readouterr().err and not (tmp_path / "x").exists()
