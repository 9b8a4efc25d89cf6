"""setup.cfg declares what the code imports; the build ships every package (found, not listed) and the models."""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest
from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[1]
# import names whose distribution packages_distributions() cannot tell (an extension module at top level)
DISTRIBUTION_OF = {"dlib": "dlib-bin"}


def setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def requirement_names(text: str) -> set[str]:
    names = (re.match(r"[A-Za-z0-9._-]+", line.strip()) for line in text.splitlines())
    return {normalise(name.group()) for name in names if name and not name.group().startswith("#")}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_modules(folder: Path) -> set[str]:
    """Top-level names imported by the code under ``folder``, except those inside ``try: ... except ImportError``
    (optional: the code works without them)."""
    found, optional = set(), set()
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Try) and any(
                "ImportError" in ast.unparse(h.type or ast.Name("")) for h in node.handlers
            ):
                optional |= imported_modules_in(node.body)
    # examples/ and benchmarks/ import their sibling scripts, benchmarks/ also the training scripts
    local = {p.stem for where in (folder, ROOT / "examples") for p in where.rglob("*.py")}
    return found - optional - local - set(sys.stdlib_module_names) - {"talkhead", "__future__"}


def imported_modules_in(body: list[ast.stmt]) -> set[str]:
    module = ast.Module(body=body, type_ignores=[])
    return {
        alias.name.split(".")[0] for node in ast.walk(module) if isinstance(node, ast.Import) for alias in node.names
    }


@pytest.mark.parametrize("folder", ["src/talkhead", "examples", "spaces", "benchmarks"])
def test_every_imported_package_is_declared(folder):
    options = setup_cfg()
    declared = requirement_names(options["options"]["install_requires"])
    for extra in options["options.extras_require"].values():
        declared |= requirement_names(extra)
    owners = importlib.metadata.packages_distributions()
    undeclared = {}
    for module in imported_modules(ROOT / folder):
        distributions = {normalise(d) for d in owners.get(module, [DISTRIBUTION_OF.get(module, module)])}
        if not distributions & declared:
            undeclared[module] = sorted(distributions)
    assert not undeclared, f"imported in {folder} but not in setup.cfg (install_requires or an extra): {undeclared}"


def test_core_install_is_the_inference_set():
    core = requirement_names(setup_cfg()["options"]["install_requires"])
    assert {"torch", "transformers", "numba", "pocketsphinx", "huggingface-hub"} <= core
    assert not {"datasets", "accelerate", "gradio", "matplotlib", "scikit-image", "pytest"} & core


def test_the_build_ships_every_package_the_model_folders_and_the_type_marker(tmp_path):
    """What the wheel will hold (setuptools' build_py, as the wheel build runs it): every package under src/, found
    without a list to keep up to date, the shipped model folders as talkhead/hub_configs/, and py.typed."""
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "-d", str(tmp_path)], cwd=ROOT, check=True, capture_output=True
    )
    built = {path.parent.relative_to(tmp_path).as_posix().replace("/", ".") for path in tmp_path.rglob("__init__.py")}
    assert built == set(find_packages(str(ROOT / "src")))
    shipped = {p.relative_to(ROOT / "hub_configs") for p in (ROOT / "hub_configs").glob("*/*")}
    assert shipped and shipped == {
        p.relative_to(tmp_path / "talkhead" / "hub_configs")
        for p in (tmp_path / "talkhead" / "hub_configs").glob("*/*")
    }
    assert (tmp_path / "talkhead" / "py.typed").is_file()


def test_cli_names_the_extra_of_a_missing_package(monkeypatch, capsys):
    import argparse

    from talkhead import cli

    def command(args):
        raise ModuleNotFoundError("No module named 'skimage'", name="skimage")

    parser = argparse.ArgumentParser()
    parser.set_defaults(func=command)
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    assert cli.main([]) == 2
    assert 'pip install "talkhead[eval]"' in capsys.readouterr().err


def test_cli_extras_are_the_ones_setup_cfg_declares():
    from talkhead.cli import EXTRA_OF

    extras = setup_cfg()["options.extras_require"]
    owners = importlib.metadata.packages_distributions()
    for module, extra in EXTRA_OF.items():
        assert {normalise(d) for d in owners[module]} & requirement_names(extras[extra]), (module, extra)
