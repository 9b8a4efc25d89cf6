"""CONTRIBUTING.md's map ("Where each idea lives") names every package and root module of ``src/talkhead``, and
nothing that is not there: the map and the tree cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "talkhead"


def map_block(text: str) -> list[str]:
    """The lines of the first code block under the heading "## Where each idea lives"."""
    section = text.split("## Where each idea lives", 1)[1]
    return re.search(r"```text\n(.*?)```", section, re.S).group(1).splitlines()


def mapped_entries(lines: list[str]) -> set[str]:
    """Paths below ``src/talkhead/`` that the map names: ``models/ms_sync/``, ``losses.py``, ... (indentation is
    nesting, two spaces a level)."""
    entries, stack = set(), []
    for line in lines:
        name = line.split()[0] if line.strip() else ""
        if not name:
            continue
        depth = (len(line) - len(line.lstrip())) // 2
        stack[depth:] = [name]
        if stack[0] == "src/talkhead/" and depth > 0:
            entries.add("".join(stack[1:]))
    return entries


def tree_entries(root: Path = PACKAGE) -> set[str]:
    """Every package (a folder with ``__init__.py``, as ``name/``) and every module at the package's root."""
    packages = {
        path.parent.relative_to(root).as_posix() + "/" for path in root.rglob("__init__.py") if path.parent != root
    }
    modules = {path.name for path in root.glob("*.py") if path.name != "__init__.py"}
    return packages | modules


def test_the_map_names_every_package_and_root_module_and_nothing_else():
    mapped = mapped_entries(map_block((ROOT / "CONTRIBUTING.md").read_text()))
    actual = tree_entries()
    assert not actual - mapped, f"in src/talkhead but not in CONTRIBUTING's map: {sorted(actual - mapped)}"
    assert not mapped - actual, f"in CONTRIBUTING's map but not in src/talkhead: {sorted(mapped - actual)}"


def test_the_check_sees_a_package_the_map_forgets(tmp_path):
    (tmp_path / "new_part").mkdir()
    (tmp_path / "new_part" / "__init__.py").write_text("")
    (tmp_path / "root_module.py").write_text("")
    mapped = mapped_entries(["src/talkhead/", "  root_module.py   a module"])
    assert tree_entries(tmp_path) - mapped == {"new_part/"}
