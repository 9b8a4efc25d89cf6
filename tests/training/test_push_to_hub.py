"""--push_to_hub: HfApi.upload_folder receives talkhead's card and the weights; failures say what failed."""

from __future__ import annotations

import importlib
import json
import types
from pathlib import Path
from typing import ClassVar

import pytest
from huggingface_hub import ModelCard
from huggingface_hub.errors import (
    HfHubHTTPError,
    LocalTokenNotFoundError,
    OfflineModeIsEnabled,
)

from talkhead.errors import TalkheadInputError
from talkhead.hub.model_export import push_to_hub
from talkhead.hub.upload import HubUploadError, classify_hub_error, upload_folder
from talkhead.models.mouth_motion import MouthMotionConfig, MouthMotionModel
from talkhead.training.checkpoints import save_final


class FakeApi:
    """Records what an upload would send; ``fail`` makes ``create_repo`` raise it."""

    calls: ClassVar[list] = []
    fail: ClassVar[BaseException | None] = None

    def __init__(self, token=None):
        self.token = token

    def create_repo(self, repo_id, **kwargs):
        if FakeApi.fail is not None:
            raise FakeApi.fail
        FakeApi.calls.append(("create_repo", repo_id, kwargs))

    def upload_folder(self, *, repo_id, folder_path, allow_patterns=None, **kwargs):
        from huggingface_hub.utils import filter_repo_objects

        files = [p.relative_to(folder_path).as_posix() for p in Path(folder_path).rglob("*") if p.is_file()]
        sent = {
            name: (Path(folder_path) / name).read_bytes()
            for name in filter_repo_objects(files, allow_patterns=allow_patterns)
        }
        FakeApi.calls.append(("upload_folder", repo_id, sent))
        return types.SimpleNamespace(commit_url=f"https://hub.invalid/{repo_id}/commit/1")


@pytest.fixture
def fake_api(monkeypatch):
    import huggingface_hub

    FakeApi.calls, FakeApi.fail = [], None
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    return FakeApi


def _trained_run(tmp_path: Path) -> Path:
    output = tmp_path / "my-mouth-run"
    model = MouthMotionModel(MouthMotionConfig.from_preset("tiny"))
    (output / "checkpoints" / "step-0000002").mkdir(parents=True)
    (output / "checkpoints" / "step-0000002" / "optimizer.bin").write_bytes(b"state")
    (output / "training_args.json").write_text(
        json.dumps({"dataset": "/data/ds", "output_dir": str(output), "seed": 0})
    )
    save_final(model, output, {"steps": 2, "train_clips": 3, "validation_clips": 1})
    return output


def test_upload_sends_our_card_and_the_weights(tmp_path, fake_api):
    output = _trained_run(tmp_path)
    assert push_to_hub(MouthMotionModel.from_pretrained(output), "someone/mouth", output)
    (_, repo, _), (_, uploaded_repo, sent) = fake_api.calls
    assert repo == uploaded_repo == "someone/mouth"
    assert {"README.md", "config.json", "model.safetensors", "training_summary.json"} <= set(sent)
    assert not any(name.startswith("checkpoints/") for name in sent)
    assert sent["model.safetensors"] == (output / "model.safetensors").read_bytes()
    card = ModelCard((sent["README.md"]).decode())
    assert card.data.library_name == "talkhead" and card.data.pipeline_tag == "other"
    assert "| seed | 0 |" in card.text and "| steps | 2 |" in card.text


def test_an_existing_card_is_the_one_uploaded(tmp_path, fake_api):
    output = _trained_run(tmp_path)
    (output / "README.md").write_text("---\nlibrary_name: talkhead\n---\n\n# Published card\n")
    assert push_to_hub(MouthMotionModel.from_pretrained(output), None, output)
    _, repo, sent = fake_api.calls[-1]
    assert repo == "my-mouth-run" and b"# Published card" in sent["README.md"]


def _http_error(status: int) -> HfHubHTTPError:
    response = types.SimpleNamespace(status_code=status, headers={}, request=None)
    return HfHubHTTPError(f"{status} Client Error", response=response)


@pytest.mark.parametrize(
    "error, kind",
    [
        (_http_error(401), "auth"),
        (_http_error(403), "auth"),
        (LocalTokenNotFoundError("no token"), "auth"),
        (OfflineModeIsEnabled("offline"), "network"),
        (ConnectionError("refused"), "network"),
        (TimeoutError("slow"), "network"),
        (_http_error(500), "hub"),
        (ValueError("bad repo id"), "hub"),
    ],
)
def test_failures_are_classified(error, kind):
    assert classify_hub_error(error) == kind


def test_the_http_clients_connection_error_is_a_network_error():
    client = next(importlib.import_module(m) for m in ("httpx2", "httpx") if importlib.util.find_spec(m))
    assert classify_hub_error(client.ConnectError("Name or service not known")) == "network"


def test_auth_error_is_reported_as_such(tmp_path, fake_api, capsys):
    output = _trained_run(tmp_path)
    fake_api.fail = _http_error(401)
    with pytest.raises(HubUploadError) as raised:
        upload_folder(output, "someone/mouth")
    assert raised.value.kind == "auth" and "someone/mouth" in str(raised.value) and "hf auth login" in str(raised.value)
    assert not push_to_hub(MouthMotionModel.from_pretrained(output), "someone/mouth", output)
    printed = capsys.readouterr().out
    assert "failed, auth" in printed and "not reachable" not in printed and str(output) in printed


def test_network_error_is_reported_as_such(tmp_path, fake_api, capsys):
    output = _trained_run(tmp_path)
    fake_api.fail = OfflineModeIsEnabled("HF_HUB_OFFLINE=1")
    assert not push_to_hub(MouthMotionModel.from_pretrained(output), "someone/mouth", output)
    assert "failed, network" in capsys.readouterr().out


def test_upload_of_a_missing_folder_names_it(tmp_path):
    with pytest.raises(TalkheadInputError, match="not a folder"):
        upload_folder(tmp_path / "absent", "someone/x")
