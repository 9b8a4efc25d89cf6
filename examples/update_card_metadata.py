#!/usr/bin/env python
"""Rewrite the front matter of every card in hub_configs/ with talkhead's card writer, keeping the text.

    python examples/update_card_metadata.py            # rewrite in place
    python examples/update_card_metadata.py --check    # exit 1 if a card's metadata is not what it would write

The cards were written by examples/publish_*.py and then edited by hand (data splits, used-by lines,
limits), and the runs the publish scripts read (training_args.json, training_summary.json) exist only
for some models, so regenerating them would lose text. This script changes only the metadata: it keeps
each card's tags and licence, and sets ``library_name``, ``pipeline_tag`` (from the model type),
``datasets`` (checkpoints with weights were trained on the example clips), ``base_model`` and the
``model-index`` read from benchmarks/results/*.json by :func:`talkhead.training.eval_results.eval_results`.
It reads every card back with ``huggingface_hub.ModelCard.load``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / "hub_configs"
RESULTS = ROOT / "benchmarks" / "results"

#: Checkpoints whose weights start from another shipped checkpoint (the training recipes on their cards):
#: G_L is initialised from G_S (`init_generator`), and G_S carries avsyncnet-small's frozen audio tower
#: (`--avsyncnet avsyncnet-small`). Models only trained *against* a frozen model (ms-sync-short and the
#: loss syncers) hold none of its weights, so that model is not their base.
BASE_MODELS = {"stable-sync-face": "stable-sync-silent-lip", "stable-sync-silent-lip": "avsyncnet-small"}


def metadata_for(folder: Path):
    """The ``ModelCardData`` talkhead writes for ``folder``, keeping the tags and licence its card has now."""
    from huggingface_hub import ModelCard

    from talkhead.hub.model_card import PIPELINE_TAGS, card_data
    from talkhead.training.eval_results import EXAMPLE_DATASET, eval_results

    current = ModelCard.load(folder / "README.md").data
    model_type = json.loads((folder / "config.json").read_text())["model_type"]
    if model_type not in PIPELINE_TAGS:
        raise SystemExit(
            f"{folder}: model type '{model_type}' has no pipeline tag in talkhead.hub.model_card.PIPELINE_TAGS; add it"
        )
    tag = PIPELINE_TAGS[model_type]
    trained_here = (folder / "model.safetensors").exists()
    return card_data(
        folder.name,
        pipeline_tag=tag,
        tags=current.tags or [],
        base_model=BASE_MODELS.get(folder.name),
        datasets=[EXAMPLE_DATASET] if trained_here else None,
        eval_results=eval_results(folder.name, tag, RESULTS),
        license=current.license,
        license_name=current.get("license_name"),
        license_link=current.get("license_link"),
    )


def main() -> int:
    from huggingface_hub import ModelCard

    from talkhead.hub.model_card import replace_metadata

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report cards whose metadata differs")
    args = parser.parse_args()
    stale = []
    for card in sorted(HUB.glob("*/README.md")):
        data = metadata_for(card.parent)
        if ModelCard.load(card).data.to_dict() == data.to_dict():
            continue
        stale.append(card.parent.name)
        if not args.check:
            replace_metadata(card, data)
            loaded = ModelCard.load(card).data
            print(
                f"{card.parent.name}: pipeline_tag {loaded.pipeline_tag}, base_model {loaded.base_model}, "
                f"{len(loaded.eval_results or [])} results"
            )
    if args.check and stale:
        print("cards whose metadata is stale: " + ", ".join(stale) + "; run examples/update_card_metadata.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
