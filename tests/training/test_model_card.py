"""The card writer: front matter through huggingface_hub, results read from benchmark JSONs, the shipped cards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from talkhead.hub.model_card import PIPELINE_TAGS, write_model_card
from talkhead.training.eval_results import (
    EXAMPLE_DATASET,
    eval_results,
    lipsync_results,
)

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / "hub_configs"
RESULTS = ROOT / "benchmarks" / "results"


def _lipsync_report(tmp_path: Path) -> Path:
    report = {
        "protocol": "stabilized sync Table 1",
        "split": "test",
        "chunks": 3,
        "chunk_frames": 50,
        "models": {"gen-a": "/somewhere/gen-a", "gen-b": "/somewhere/gen-b"},
        "rows": {
            "ground_truth": {"ssim": {"mean": 1.0, "std": 0.0}},
            "gen-a": {"ssim": {"mean": 0.61234567, "std": 0.1}, "psnr": {"mean": 21.5, "std": 1.0}},
            "gen-b": {"ssim": {"mean": 0.5, "std": 0.1}},
        },
    }
    path = tmp_path / "results" / "lipsync_benchmark.json"
    path.parent.mkdir()
    path.write_text(json.dumps(report))
    return path


def test_card_round_trips_through_model_card_load(tmp_path):
    report = _lipsync_report(tmp_path)
    results = eval_results("gen-a", "video-to-video", report.parent)
    path = write_model_card(
        tmp_path / "gen-a",
        title="Gen A",
        summary="A generator.",
        tags=["lip-sync"],
        sections={"What it is": "Words."},
        pipeline_tag="video-to-video",
        base_model="stable-sync-silent-lip",
        eval_results=results,
        datasets=[EXAMPLE_DATASET],
    )
    card = ModelCard.load(path)
    assert card.data.library_name == "talkhead"
    assert card.data.pipeline_tag == "video-to-video"
    assert card.data.license == "other" and card.data.license_name == "research-only"
    assert card.data.base_model == "talkhead/stable-sync-silent-lip"
    assert card.data.datasets == [EXAMPLE_DATASET]
    assert card.data.eval_results == results
    assert {(r.metric_type, r.metric_value, r.dataset_split) for r in card.data.eval_results} == {
        ("ssim", 0.6123, "test"),
        ("psnr", 21.5, "test"),
    }
    assert "## What it is" in card.text and "## Misuse" in card.text


def test_results_only_for_models_a_json_names(tmp_path):
    report = _lipsync_report(tmp_path)
    assert eval_results("not-measured", "other", report.parent) == []
    gen_b = lipsync_results(json.loads(report.read_text()), "gen-b", "video-to-video", "x.json")
    assert [r.metric_value for r in gen_b] == [0.5]


@pytest.mark.parametrize("folder", sorted(p.parent.name for p in HUB.glob("*/README.md")))
def test_shipped_cards_load_with_hub_metadata(folder):
    """Every card in hub_configs parses, and its model-index is what the benchmark JSONs hold now."""
    card = ModelCard.load(HUB / folder / "README.md")
    model_type = json.loads((HUB / folder / "config.json").read_text())["model_type"]
    assert model_type in PIPELINE_TAGS, (
        f"add '{model_type}' to model_card.PIPELINE_TAGS, then run examples/update_card_metadata.py"
    )
    assert card.data.library_name == "talkhead"
    assert card.data.pipeline_tag == PIPELINE_TAGS[model_type], "run examples/update_card_metadata.py"
    assert card.data.license and card.data.tags
    expected = eval_results(folder, card.data.pipeline_tag, RESULTS)
    assert (card.data.eval_results or []) == expected, "benchmark JSONs changed: run examples/update_card_metadata.py"
    assert card.text.lstrip().startswith("# ")
