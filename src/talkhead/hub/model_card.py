"""Model cards (README.md with Hub front matter), written through ``huggingface_hub``'s card classes.

One writer for every card: the publish scripts (examples/publish_*.py), ``--push_to_hub`` at the end
of a training run (:func:`talkhead.hub.model_export.push_to_hub` uploads the card written here,
never transformers' generic one) and the front-matter conversion of the shipped cards
(examples/update_card_metadata.py). The metadata is ``ModelCardData`` so the Hub can index it:
``library_name: talkhead``, a ``pipeline_tag``, the licence, the training ``datasets``, the
``base_model`` a checkpoint was initialised from, and ``model-index`` results read from the
benchmark JSONs (:mod:`talkhead.training.eval_results`), never typed by hand. The results and the
training datasets are given by the caller (``eval_results=``, ``datasets=``): this base layer does not
import ``training``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .lookup import NAMESPACE

LIBRARY_NAME = "talkhead"

#: Hub pipeline tag per model type. The Hub has no audio-to-landmarks or sync-scoring task: the motion
#: models are ``other``; the sync experts and encoders give embeddings whose cosine is the score; the
#: mouth-interior inpainter maps an image to an image.
PIPELINE_TAGS = {
    "stable_sync_face_generator": "video-to-video",
    "ms_sync_generator": "other",
    "mouth_motion": "other",
    "mouth_sync": "feature-extraction",
    "mouth_interior": "image-to-image",
    "ms_sync_syncer": "feature-extraction",
    "avsyncnet": "feature-extraction",
    "syncnet_expert": "feature-extraction",
    "syncnet_v2": "feature-extraction",
    "av_hubert": "feature-extraction",
}

RESEARCH_ONLY = {"license": "other", "license_name": "research-only"}

DATA_NOTICE = (
    "Trained on about 11 minutes of third-party talking-face clips (about 50 speakers) gathered from the "
    "example folders of public talking-face repositories (SadTalker, video-retalking, StyleTalk, PC-AVS, "
    "EDTalk, LIA, MimicTalk, deep_avsr (LRS2 demos), LatentSync, Thin-Plate-Spline-Motion-Model). The "
    "repositories' licences (Apache-2.0, MIT, CC BY 4.0, CC BY-NC 4.0) cover the repositories; most clips are "
    "cut from YouTube, TED, BBC or dataset recordings whose own terms still apply. **Research use only**; "
    "the weights inherit those restrictions and are not for commercial use."
)

LICENCE_NOTICE = (
    "The code is Apache-2.0 (the talkhead repository). The weights are marked `license: other`, "
    "`license_name: research-only`: they are trained on clips whose licences vary per source (see Training data). "
    "**Research use only**."
)

MISUSE_NOTICE = (
    "Talking-head models can be used to put words in a real person's mouth. Do not use this model to "
    "impersonate anyone, to deceive, or without the consent of the people shown. Label generated video "
    "as synthetic."
)


def hub_id(name: str) -> str:
    """The Hub repository id of the shipped checkpoint ``name`` (a hub_configs folder name); ids pass through."""
    return name if "/" in name else f"{NAMESPACE}/{name}"


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def card_data(
    name: str,
    *,
    pipeline_tag: str,
    tags: Iterable[str],
    base_model: str | list[str] | None = None,
    datasets: Iterable[str] | None = None,
    eval_results: list | None = None,
    license: str = RESEARCH_ONLY["license"],
    license_name: str | None = RESEARCH_ONLY["license_name"],
    license_link: str | None = None,
):
    """The ``ModelCardData`` of the checkpoint ``name``; base models given as folder names become Hub ids."""
    from huggingface_hub import ModelCardData

    if isinstance(base_model, str):
        base_model = hub_id(base_model)
    elif base_model:
        base_model = [hub_id(b) for b in base_model]
    return ModelCardData(
        model_name=name,
        library_name=LIBRARY_NAME,
        pipeline_tag=pipeline_tag,
        tags=list(tags),
        license=license,
        license_name=license_name if license == "other" else None,
        license_link=license_link,
        datasets=list(datasets) if datasets else None,
        base_model=base_model or None,
        eval_results=eval_results or None,
    )


def render_card(
    data,
    *,
    title: str,
    summary: str,
    sections: dict[str, str],
    data_text: str | None = DATA_NOTICE,
    licence: str | None = LICENCE_NOTICE,
    misuse: str | None = MISUSE_NOTICE,
):
    """A ``ModelCard``: ``data`` as front matter, then title, summary, the sections, data, licence and misuse."""
    from huggingface_hub import ModelCard

    body = [f"# {title}", "", summary.strip(), ""]
    for heading, text in sections.items():
        body += [f"## {heading}", "", text.strip(), ""]
    for heading, text in (("Training data", data_text), ("Licence", licence), ("Misuse", misuse)):
        if text and heading not in sections:
            body += [f"## {heading}", "", text.strip(), ""]
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(body).rstrip() + "\n")


def save_card(card, folder: str | Path) -> Path:
    """Write ``card`` to ``folder/README.md`` and read it back: a card the Hub cannot parse is an error here, not
    there."""
    from huggingface_hub import ModelCard

    path = Path(folder) / "README.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    card.save(path)
    loaded = ModelCard.load(path)
    if loaded.data.to_dict() != card.data.to_dict():
        raise ValueError(f"{path}: the written front matter does not read back the same; report this as a talkhead bug")
    return path


def write_model_card(
    folder: str | Path,
    *,
    title: str,
    summary: str,
    tags: list[str],
    sections: dict[str, str],
    pipeline_tag: str,
    data: str | None = DATA_NOTICE,
    misuse: str | None = MISUSE_NOTICE,
    base_model: str | list[str] | None = None,
    eval_results: list | None = None,
    datasets: Iterable[str] | None = None,
    name: str | None = None,
    **licence,
) -> Path:
    """Write ``folder/README.md`` with ``huggingface_hub``'s ``ModelCard``; returns its path.

    ``licence`` takes ``license``/``license_name``/``license_link`` (research-only by default, as every
    checkpoint trained on the example clips). ``datasets`` are the Hub ids of the training data
    (:data:`talkhead.training.eval_results.EXAMPLE_DATASET` for the example clips); none are listed by default.
    """
    name = name or Path(folder).name
    metadata = card_data(
        name,
        pipeline_tag=pipeline_tag,
        tags=tags,
        base_model=base_model,
        datasets=datasets,
        eval_results=eval_results,
        **{**RESEARCH_ONLY, **licence},
    )
    card = render_card(metadata, title=title, summary=summary, sections=sections, data_text=data, misuse=misuse)
    return save_card(card, folder)


def replace_metadata(path: str | Path, data) -> Path:
    """Give the card at ``path`` new front matter ``data`` and keep its text (for cards edited by hand since)."""
    from huggingface_hub import ModelCard

    card = ModelCard.load(path)
    return save_card(ModelCard(f"---\n{data.to_yaml()}\n---\n{card.text}"), Path(path).parent)


def training_card(model, output_dir: str | Path, args: dict, summary: dict):
    """The card ``--push_to_hub`` uploads with a freshly trained model: what it is, the run's settings and summary.

    Nothing is measured on a test split at this point, so there is no model-index; the publish scripts
    write the full card once the benchmarks have run.
    """
    model_type = model.config.model_type
    name = Path(output_dir).name
    shown = {
        k: (Path(v).name if isinstance(v, str) and "/" in v else v)
        for k, v in args.items()
        if v is not None and k not in ("output_dir", "resume_from_checkpoint", "push_to_hub", "hub_model_id")
    }
    rows = [[k, v] for k, v in shown.items()]
    rows += [[k, summary[k]] for k in ("steps", "train_clips", "validation_clips", "held_out_sources") if k in summary]
    init = args.get("init_generator") or args.get("init_from")
    metadata = card_data(
        name,
        pipeline_tag=PIPELINE_TAGS.get(model_type, "other"),
        tags=["talkhead", model_type],
        base_model=Path(init).name if init else None,
        datasets=None,
    )
    params = sum(p.numel() for p in model.parameters())
    data_text = (
        f"Trained on the dataset `{shown.get('dataset', 'unknown')}` (written by `talkhead preprocess`; its "
        "dataset card lists the sources and their licences). The weights inherit the terms of those clips: "
        "treat them as research-only until you have checked them."
    )
    return render_card(
        metadata,
        title=f"{name} ({model_type}, trained with talkhead)",
        summary=f"A `{model_type}` checkpoint ({params / 1e6:.2f} M parameters) from a talkhead training run; "
        "load it with `pip install talkhead` and `AutoModel.from_pretrained` after `import talkhead`.",
        sections={"Training run": markdown_table(["setting", "value"], rows)},
        data_text=data_text,
        licence="The code is Apache-2.0 (talkhead). The weights: the terms of the training data (see above).",
    )
