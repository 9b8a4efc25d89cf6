"""MkDocs hooks (mkdocs.yml, ``hooks:``): the repository's own files in the site, and a CLI reference kept current.

* The pages link files of the repository as the repository holds them (``../benchmarks/RESULTS.md`` from
  ``docs/results.md``), so the links also work when the Markdown is read on a forge. Those files are added to the
  site at the same path below its root (``benchmarks/RESULTS.md``, ``hub_configs/<name>/README.md``, ...) and the
  links are rewritten to them; any other link out of ``docs/`` stays as it is, and the strict build fails on it.
* The build fails when ``docs/reference/cli.md`` is not what ``docs/gen_cli_reference.py`` writes from the parsers.
* The docstrings cross-reference in Sphinx's roles (``:class:`LipSyncOptions```, ``:func:`~talkhead.hub.pipeline```),
  which Markdown leaves as text: the API pages show them as code, the role dropped and a ``~`` path shortened to
  its last name, as Sphinx shows them.
"""

from __future__ import annotations

import importlib.util
import posixpath
import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

# the repository's files that the site carries, at their repository paths (globs)
PUBLISHED = [
    "benchmarks/RESULTS.md",
    "benchmarks/results/*.png",
    "hub_configs/*/README.md",
    "spaces/talkhead/README.md",
    "CHANGELOG.md",
    "CONTRIBUTING.md",
    "CITATION.cff",
    "LICENSE",
]
# a Markdown link or image target: ](target) or ](target "title")
LINK = re.compile(r"(\]\()([^)\s]+)((?:\s+\"[^\"]*\")?\))")
# a Sphinx role as a docstring's Markdown renders it: :func:<code>~talkhead.hub.pipeline</code>
ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):<code>(~?)([^<]*)</code>")


def published() -> dict[str, Path]:
    """Repository path -> file, for every file of :data:`PUBLISHED` that exists."""
    return {path.relative_to(ROOT).as_posix(): path for pattern in PUBLISHED for path in sorted(ROOT.glob(pattern))}


def on_pre_build(config) -> None:
    spec = importlib.util.spec_from_file_location("gen_cli_reference", DOCS / "gen_cli_reference.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    if generator.PAGE.read_text() != generator.generate():
        raise PluginError("docs/reference/cli.md is out of date: run python docs/gen_cli_reference.py")


def on_files(files: Files, config) -> Files:
    for path, source in published().items():
        if files.get_file_from_path(path) is None:
            files.append(File.generated(config, path, abs_src_path=str(source)))
    return files


def on_page_markdown(markdown: str, page, config, files: Files) -> str:
    """Links from a page of ``docs/`` to a published file of the repository, pointed at its copy in the site."""
    if not page.file.abs_src_path or not Path(page.file.abs_src_path).is_relative_to(DOCS):
        return markdown  # a published file links within the repository as it is
    page_folder = posixpath.dirname(page.file.src_uri)

    def rewrite(match: re.Match) -> str:
        target, _, anchor = match.group(2).partition("#")
        if not target or "://" in target or target.startswith(("/", "mailto:")):
            return match.group(0)
        in_repository = posixpath.normpath(posixpath.join("docs", page_folder, target))
        if in_repository.startswith("docs/") or in_repository not in published():
            return match.group(0)
        site_target = posixpath.relpath(in_repository, page_folder or ".")
        return f"{match.group(1)}{site_target}{'#' + anchor if anchor else ''}{match.group(3)}"

    return LINK.sub(rewrite, markdown)


def on_page_content(html: str, page, config, files: Files) -> str:
    def code(match: re.Match) -> str:
        shortened, target = match.groups()
        return f"<code>{target.rsplit('.', 1)[-1] if shortened else target}</code>"

    return ROLE.sub(code, html)
