"""The front door: a short README that keeps CI's two set-up commands, `talkhead` command lines in the README and the
documentation that the real parser accepts, a CLI reference that is what the parsers generate, and a strict docs
build (when MkDocs is installed: the ``docs`` extra)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.rglob("*.md"))]
# what .ci/run runs: the lines of the first ```bash block under "## Set-up"
SET_UP = [
    'python3 -m venv .venv && .venv/bin/pip install -c constraints.txt -e ".[dev,data,train,eval,demo]"',
    ".venv/bin/python -m pytest -n 2",
]
SHELL_BLOCK = re.compile(r"^```(?:bash|sh|shell|console)\n(.*?)^```", re.S | re.M)
SHELL_OPERATOR = re.compile(r"^[;&|()]+$")


def set_up_commands(text: str) -> list[str]:
    """The lines .ci/run takes from the README (its awk: from "## Set-up", the first ```bash block)."""
    after = text[text.index("\n## Set-up") :]
    block = re.search(r"^```bash\n(.*?)^```", after, re.S | re.M)
    return [line for line in block.group(1).splitlines() if line.strip()]


def shell_lines(text: str) -> list[str]:
    """The logical lines of the shell blocks of a Markdown page (continuations joined)."""
    lines = []
    for block in SHELL_BLOCK.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                lines.append(line.strip())
    return lines


def talkhead_invocations(line: str) -> list[list[str]]:
    """The argument lists given to ``talkhead`` in one shell line: ``talkhead lip-sync ...``, ``.venv/bin/talkhead
    ...``, and inside ``for ...; do talkhead ... & done``. Shell variables become ``1`` (``--shard $I/$((N*C))``)."""
    line = re.sub(r"\$\(\([^)]*\)\)|\$\{\w+\}|\$\w+", "1", line)
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split, lexer.commenters = True, "#"
    segments, current = [], []
    for token in lexer:
        if SHELL_OPERATOR.match(token):
            segments.append(current)
            current = []
        else:
            current.append(token)
    segments.append(current)
    found = []
    for words in segments:
        while words and (words[0] in {"do", "then", "else", "time", "exec"} or re.match(r"^\w+=", words[0])):
            words = words[1:]
        if words and Path(words[0]).name == "talkhead":
            found.append(words[1:])
    return found


def documented_invocations() -> list[tuple[str, list[str]]]:
    return [
        (f"{page.relative_to(ROOT)}: {line}", arguments)
        for page in PAGES
        for line in shell_lines(page.read_text())
        for arguments in talkhead_invocations(line)
    ]


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_cli_reference", DOCS / "gen_cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_is_short_and_keeps_the_two_set_up_commands_ci_runs():
    text = README.read_text()
    assert len(text.splitlines()) <= 160, f"README.md has {len(text.splitlines())} lines; the details go in docs/"
    assert set_up_commands(text) == SET_UP
    assert "## Set-up" in (ROOT / ".ci" / "run").read_text()  # the marker .ci/run looks for


def test_no_issue_numbers_in_the_readme_or_the_docs():
    for page in PAGES:
        found = re.findall(r"(?<![\w&])#\d+\b|\bissues? \d+", page.read_text())
        assert not found, f"{page.relative_to(ROOT)} names issues: {found}"


def test_the_readme_links_files_that_exist():
    for target in re.findall(r"\]\(([^)\s#]+)", README.read_text()):
        if "://" not in target:
            assert (ROOT / target).exists(), f"README.md links {target}, which is not in the repository"


def test_every_shipped_model_is_in_the_readme_and_the_models_page():
    names = sorted(card.parent.name for card in (ROOT / "hub_configs").glob("*/README.md"))
    assert names
    for page, prefix in ((README, "hub_configs"), (DOCS / "models.md", "../hub_configs")):
        text = page.read_text()
        missing = [name for name in names if f"]({prefix}/{name}/README.md)" not in text]
        assert not missing, f"{page.relative_to(ROOT)} does not link the cards of {missing}"


def test_the_shell_lines_are_read_as_a_shell_reads_them():
    assert talkhead_invocations(".venv/bin/talkhead lip-sync --video v.mp4 -o 'a b.mp4'  # dub") == [
        ["lip-sync", "--video", "v.mp4", "-o", "a b.mp4"]
    ]
    loop = "for I in 0 1; do talkhead preprocess in -o out --shard $I/$((N*C)) & done; wait"
    assert talkhead_invocations(loop) == [["preprocess", "in", "-o", "out", "--shard", "1/1"]]
    assert talkhead_invocations("accelerate launch examples/train_ms_sync.py --output_dir runs/ms-sync") == []
    assert shell_lines("```bash\ntalkhead a \\\n  --b c\n# note\n```\n") == ["talkhead a    --b c"]


def test_every_talkhead_command_line_in_the_readme_and_the_docs_parses():
    from talkhead.cli import build_parser

    invocations = documented_invocations()
    commands = {arguments[0] for _, arguments in invocations if arguments}
    assert {"talking-head", "lip-sync", "evaluate", "preprocess", "benchmark", "landmarks"} <= commands
    refused = []
    for where, arguments in invocations:
        errors = io.StringIO()
        try:
            with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
                build_parser().parse_args(arguments)
        except SystemExit as exit:
            if exit.code:
                refused.append(f"{where}\n    {errors.getvalue().strip().splitlines()[-1]}")
    assert not refused, "command lines the parser refuses:\n" + "\n".join(refused)


def test_a_wrong_flag_in_a_documented_line_is_caught():
    from talkhead.cli import build_parser

    (arguments,) = talkhead_invocations("talkhead lip-sync --video v.mp4 --audio s.wav -o d.mp4 --mouth mouth-motion")
    with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
        build_parser().parse_args(arguments)


def test_the_cli_reference_is_what_the_parsers_generate():
    generator = load_generator()
    assert generator.PAGE.read_text() == generator.generate(), "run python docs/gen_cli_reference.py"


def test_the_cli_reference_has_a_section_for_every_command():
    generator = load_generator()
    headings = set(re.findall(r"^#+ `(talkhead [^`]+)`$", generator.PAGE.read_text(), re.M))
    commands = {command for command, _, _ in generator.walk(generator.build_parser())} - {"talkhead"}
    some = {"talkhead talking-head", "talkhead lip-sync", "talkhead evaluate video", "talkhead benchmark mouth"}
    assert some <= commands
    assert headings == commands


def test_the_docs_build_strictly(tmp_path):
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python"):
        pytest.importorskip(module, reason='the docs tools: pip install -e ".[docs]"')
    site = tmp_path / "site"
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-4000:]
    assert (site / "reference" / "cli" / "index.html").is_file()
    assert (site / "benchmarks" / "RESULTS" / "index.html").is_file()
