"""Model cards (README.md with Hub front matter) for every checkpoint the project trains."""

from __future__ import annotations

from pathlib import Path

DATA_NOTICE = (
    "Trained on about 11 minutes of third-party talking-face clips (about 50 speakers) gathered from the "
    "example folders of public talking-face repositories (SadTalker, video-retalking, StyleTalk, PC-AVS, "
    "EDTalk, LIA, MimicTalk, deep_avsr (LRS2 demos), LatentSync, Thin-Plate-Spline-Motion-Model). The "
    "repositories' licences (Apache-2.0, MIT, CC BY 4.0, CC BY-NC 4.0) cover the repositories; most clips are "
    "cut from YouTube, TED, BBC or dataset recordings whose own terms still apply. **Research use only**; "
    "the weights inherit those restrictions and are not for commercial use."
)

MISUSE_NOTICE = (
    "Talking-head models can be used to put words in a real person's mouth. Do not use this model to "
    "impersonate anyone, to deceive, or without the consent of the people shown. Label generated video "
    "as synthetic."
)


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_model_card(
    folder: str | Path,
    *,
    title: str,
    summary: str,
    tags: list[str],
    sections: dict[str, str],
    data: str = DATA_NOTICE,
    misuse: str | None = MISUSE_NOTICE,
    base_model: str | None = None,
) -> Path:
    """Write ``folder/README.md``: front matter, summary, the given sections, data, licence, misuse."""
    front = ["---", "library_name: talkhead", "license: other", "license_name: research-only", "tags:"]
    front += [f"- {tag}" for tag in tags]
    if base_model:
        front.append(f"base_model: {base_model}")
    front.append("---")
    body = [f"# {title}", "", summary.strip(), ""]
    for heading, text in sections.items():
        body += [f"## {heading}", "", text.strip(), ""]
    body += ["## Training data and licence", "", data, ""]
    body += ["The code is Apache-2.0 (the talkhead repository). The weights are research-only, as above.", ""]
    if misuse:
        body += ["## Misuse", "", misuse, ""]
    path = Path(folder) / "README.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(front + [""] + body).rstrip() + "\n")
    return path
