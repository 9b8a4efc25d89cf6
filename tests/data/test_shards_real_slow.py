"""Sharded preprocessing on all of ../shared/data/raw: two shards with every filter on, merged, loaded two ways
(about 2 minutes on 2 cores): `pytest -m slow`."""

import json

import pytest

from talkhead.cli import main
from talkhead.data.clips import load_dataset_dict
from talkhead.data.shards import merged_manifest

from ..conftest import REAL_DATA, requires_real_data


@pytest.mark.slow
@requires_real_data
def test_two_real_shards_with_filters_merge_and_load(tmp_path, capsys):
    import datasets

    out = tmp_path / "sharded"
    for index in range(2):
        assert (
            main(
                [
                    "preprocess",
                    str(REAL_DATA),
                    "-o",
                    str(out),
                    "--shard",
                    f"{index}/2",
                    "--quiet",
                    "--test-sources",
                    "bytedance__LatentSync",
                    "--min-face-size",
                    "60",
                    "--max-face-jump",
                    "0.3",
                    "--av-offset-model",
                    "mouth-sync",
                ]
            )
            == 0
        )
    merged = merged_manifest(out)
    assert merged["shards"] == 2 and merged["missing_shards"] == []
    assert merged["frames"] > 12000  # about 11 minutes of video, less what the filters cut
    assert merged["filters"]["av_offset"]["measured"] > 20  # the expert measured most segments
    names = [
        [clip["clip_id"] for clip in json.loads(path.read_text())["clips"]]
        for path in sorted((out / "manifests").glob("shard-*.json"))
    ]
    assert names[0] and names[1] and not set(names[0]) & set(names[1])  # each clip in one shard only

    ours = load_dataset_dict(out)
    plain = datasets.load_dataset("parquet", data_dir=str(out))
    assert {s: len(r) for s, r in ours.items()} == {s: len(r) for s, r in plain.items()} == merged["splits"]
    assert set(ours["test"]["source"]) == {"bytedance__LatentSync"}
    assert sum(len(found) for split in ours.values() for found in split["face_found"]) == merged["frames"]
