"""Model names resolve offline: local folder, then the Hugging Face cache, then the copy shipped in the package."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from talkhead import hub
from talkhead.errors import TalkheadInputError
from talkhead.hub import lookup

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def fake_cached_snapshot(cache: Path, repo_id: str, files: dict[str, str]) -> Path:
    """The layout huggingface_hub writes (refs/main -> snapshots/<commit>/...), with small stand-in files."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    for name, text in files.items():
        (snapshot / name).write_text(text)
    return snapshot


def model_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"model_type": "mouth_motion"}))
    (path / "model.safetensors").write_text("stand-in")
    return path


def test_short_name_and_id_are_the_same_shipped_model(tmp_path):
    shipped = hub.shipped_root() / "mouth-motion"
    assert hub.checkpoint_path("mouth-motion", cache_dir=tmp_path) == str(shipped)
    assert hub.checkpoint_path("talkhead/mouth-motion", cache_dir=tmp_path) == str(shipped)
    assert hub.model_id("mouth-motion") == hub.model_id("talkhead/mouth-motion") == "talkhead/mouth-motion"
    assert hub.model_id("someone/mouth-motion") is None


def test_every_shipped_folder_has_an_id_and_weights():
    names = hub.shipped_names()
    assert {"mouth-motion", "ms-sync-short", "stable-sync-face", "stable-sync-silent-lip", "syncnet-eval"} <= set(names)
    for name in names:
        folder = Path(hub.checkpoint_path(f"talkhead/{name}"))
        # a preset's config is from_preset's, and weights the user converts are not ours to ship
        assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file() and folder.name == name


def test_hf_cache_comes_before_the_shipped_copy(tmp_path):
    snapshot = fake_cached_snapshot(tmp_path, "talkhead/mouth-motion", {"config.json": "{}", "model.safetensors": "x"})
    assert hub.checkpoint_path("mouth-motion", cache_dir=tmp_path) == str(snapshot)
    assert hub.checkpoint_path("talkhead/mouth-motion", cache_dir=tmp_path) == str(snapshot)


def test_partial_cache_does_not_hide_the_shipped_weights(tmp_path):
    fake_cached_snapshot(tmp_path, "talkhead/mouth-motion", {"config.json": "{}"})  # weights never downloaded
    assert hub.checkpoint_path("mouth-motion", cache_dir=tmp_path) == str(hub.shipped_root() / "mouth-motion")


def test_local_folder_comes_before_the_cache(tmp_path, monkeypatch):
    fake_cached_snapshot(tmp_path / "cache", "talkhead/mouth-motion", {"config.json": "{}", "model.safetensors": "x"})
    model_folder(tmp_path / "work" / "talkhead" / "mouth-motion")
    monkeypatch.chdir(tmp_path / "work")
    assert hub.checkpoint_path("talkhead/mouth-motion", cache_dir=tmp_path / "cache") == "talkhead/mouth-motion"


def test_package_data_comes_before_the_source_checkout(tmp_path, monkeypatch):
    model_folder(tmp_path / "wheel" / "mouth-motion")
    monkeypatch.setattr(lookup, "SHIPPED_ROOTS", (tmp_path / "wheel", tmp_path / "checkout"))
    assert hub.shipped_names() == ["mouth-motion"]
    assert hub.checkpoint_path("talkhead/mouth-motion", cache_dir=tmp_path) == str(tmp_path / "wheel" / "mouth-motion")
    monkeypatch.setattr(lookup, "SHIPPED_ROOTS", (tmp_path / "absent",))
    assert hub.shipped_names() == []  # an install without the folders: the id goes to from_pretrained as is
    assert hub.checkpoint_path("talkhead/mouth-motion", cache_dir=tmp_path) == "talkhead/mouth-motion"


def test_other_hub_ids_come_from_the_cache_or_pass_through(tmp_path):
    assert hub.checkpoint_path("someone/their-model", cache_dir=tmp_path) == "someone/their-model"
    snapshot = fake_cached_snapshot(tmp_path, "someone/their-model", {"config.json": "{}"})
    assert hub.checkpoint_path("someone/their-model", cache_dir=tmp_path) == str(snapshot)


def test_unknown_name_lists_the_known_names(tmp_path):
    with pytest.raises(TalkheadInputError, match="'stable-sync-fase'") as error:
        hub.checkpoint_path("stable-sync-fase", cache_dir=tmp_path)
    assert "stable-sync-face" in str(error.value) and "mouth-motion" in str(error.value)


def test_unshipped_id_in_our_namespace_fails_to_load_with_the_known_names():
    """``talkhead/<new model>`` may exist on the Hub (a later release): it passes through, and offline its load
    fails with the names this install has."""
    from talkhead.models.mouth_motion import MouthMotionModel

    assert hub.checkpoint_path("talkhead/no-such-model") == "talkhead/no-such-model"
    with pytest.raises(TalkheadInputError, match="'talkhead/no-such-model'.*mouth-motion"):
        hub.load_pretrained(MouthMotionModel, "talkhead/no-such-model", local_files_only=True)


def test_missing_folder_path_is_named(tmp_path):
    with pytest.raises(TalkheadInputError, match="no such model folder"):
        hub.checkpoint_path(str(tmp_path / "runs" / "missing"))


def run_python(code: str, **env: str) -> str:
    """Run ``code`` in a fresh interpreter (nothing imported yet) and return its stdout."""
    inherited = {key: value for key, value in os.environ.items() if key != "HF_HUB_CACHE"}  # HF_HOME must decide
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**inherited, "OMP_NUM_THREADS": "1", **env},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_hf_home_is_honoured(tmp_path):
    files = {"config.json": "{}", "model.safetensors": "x"}
    snapshot = fake_cached_snapshot(tmp_path / "hub", "talkhead/syncnet-eval", files)
    out = run_python(
        "from talkhead.hub import checkpoint_path; print(checkpoint_path('syncnet-eval'))",
        HF_HOME=str(tmp_path),
        HF_HUB_OFFLINE="1",
    )
    assert out.strip() == str(snapshot)


def test_model_and_config_classes_take_shipped_ids_offline(tmp_path, monkeypatch):
    """``MouthMotionModel.from_pretrained("talkhead/mouth-motion")`` works like a Hub model with no network, and a
    local folder of the same name still wins."""
    from talkhead.models.mouth_motion import MouthMotionConfig, MouthMotionModel

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    shipped = MouthMotionModel.from_pretrained("talkhead/mouth-motion")
    assert Path(shipped.name_or_path).name == "mouth-motion" and Path(shipped.name_or_path).is_dir()
    assert MouthMotionConfig.from_pretrained("mouth-motion").hidden_size == shipped.config.hidden_size
    local = tmp_path / "mouth-motion"
    MouthMotionModel(MouthMotionConfig.from_preset("tiny")).save_pretrained(local)
    monkeypatch.chdir(tmp_path)
    assert MouthMotionModel.from_pretrained("mouth-motion").config.hidden_size == 16  # the folder here, not ours


@pytest.mark.parametrize("task", ["lip-sync", "talking-head"])
def test_pipeline_never_runs_a_model_folders_code(task, tmp_path, monkeypatch):
    """A folder whose config.json maps the Auto classes to its own Python is refused before transformers reads
    it, even when stdin answers transformers' "run the custom code?" question with yes."""
    import talkhead

    from .test_bad_inputs import code_running_model

    code_running_model(tmp_path / "evil", tmp_path / "code-ran")
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n" * 10))
    with pytest.raises(TalkheadInputError, match=r"^refusing model='.*evil': its config.json has auto_map") as error:
        talkhead.pipeline(task, model=str(tmp_path / "evil"))
    assert "\n" not in str(error.value) and not (tmp_path / "code-ran").exists()
    with pytest.raises(TalkheadInputError, match="trust_remote_code=True"):
        talkhead.pipeline(task, model="mouth-motion", trust_remote_code=True)
