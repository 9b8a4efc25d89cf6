"""The Space deploys as a package user would: talkhead from a wheel URL, models by id, named API endpoints."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from talkhead import hub

SPACE = Path(__file__).resolve().parents[2] / "spaces" / "talkhead"


def front_matter() -> str:
    return (SPACE / "README.md").read_text().split("---")[1]


def test_front_matter_names_the_models_and_the_licence():
    matter = front_matter()
    models = re.findall(r"^- (talkhead/[\w-]+)$", matter.split("models:")[1], re.M)
    assert models and all(hub.model_id(model) == model for model in models)  # each one is a shipped id
    assert re.search(r"^license: other$", matter, re.M) and re.search(r"^license_name: \S+", matter, re.M)


def test_requirements_install_talkhead_as_a_package():
    lines = [line for line in (SPACE / "requirements.txt").read_text().splitlines() if line and line[0] != "#"]
    assert not any(line.startswith(("-e", "-c", ".")) for line in lines)
    assert any(re.match(r"talkhead(\[[\w,]+\])? @ https://\S+\.whl$", line) for line in lines)


def test_the_app_loads_every_front_matter_model_by_id(monkeypatch):
    gr = pytest.importorskip("gradio")
    spec = importlib.util.spec_from_file_location("talkhead_space_config", SPACE / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    assert set(app.MODELS.values()) == set(re.findall(r"^- (talkhead/[\w-]+)$", front_matter(), re.M))

    monkeypatch.setattr(app, "example_files", lambda: {"photo": None, "speech": None, "video": None})
    demo = app.build_demo()
    names = {dependency.get("api_name") for dependency in demo.config["dependencies"]}
    assert {"talking_head", "lip_sync"} <= names
    assert isinstance(demo, gr.Blocks)
