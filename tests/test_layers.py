"""The package's layers (docs/architecture.md): which part of ``talkhead`` may import which, checked on the source.

A part is a subpackage (``processing``, ``models``, ...) or a module at the package's root (``errors``, ``hub``, ...).
Every import of the package's own modules counts, at the top of a file or inside a function, except those under
``if TYPE_CHECKING:``. The checks: no part imports one it may not (``ALLOWED``), no import cycle between modules,
and few function-local imports of the package's own modules (the CLI keeps its commands' libraries lazy so that
``talkhead --help`` stays fast; nothing else needs one).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "talkhead"

# the parts every layer may use: errors, the shared defaults, io (media files in, every file out), and hub (the model
# lookup, uploads, cards and exports: what a writer needs from a higher layer, its caller passes in)
BASE = {"errors", "defaults", "io", "hub"}
BELOW_DATA = BASE | {"processing", "backbones", "models", "losses", "metrics"}
ALLOWED = {
    "errors": set(),
    "defaults": set(),
    "options": BASE | {"processing"},  # the pipelines' options, light enough for the CLI's parsers
    "io": {"errors", "defaults"},  # decoding, probing, writing: a pure file layer, no features
    "hub": {"errors", "defaults"},
    "processing": BASE,
    "backbones": BASE | {"processing"},
    "models": BASE | {"processing", "backbones"},
    "losses": BASE | {"processing", "backbones", "models"},
    "metrics": BASE | {"processing", "backbones", "models"},
    "data": BELOW_DATA,
    "evaluation": BELOW_DATA | {"data"},
    "pipelines": BELOW_DATA | {"options"},  # inference never imports training-data code
    "training": BELOW_DATA | {"data", "evaluation"},
    "benchmarks": BELOW_DATA | {"data", "evaluation", "options", "pipelines"},
    "registration": {"models", "pipelines"},
    "cli": BELOW_DATA | {"data", "evaluation", "options", "pipelines", "training", "benchmarks", "__init__"},
    "__init__": {"registration", "hub", "pipelines"},  # pipelines: talkhead.LipSyncAvatar, imported when asked for
}
MAX_LOCAL_OWN_IMPORTS = 42  # most are commands importing their pipeline when run, so `talkhead --help` stays light


def module_name(path: Path) -> str:
    parts = ["talkhead", *path.relative_to(SOURCE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    """``talkhead.processing.audio`` -> ``processing``; ``talkhead.hub`` -> ``hub``; ``talkhead`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def existing_module(name: str) -> str:
    """The longest prefix of ``name`` that is a module or package of the source tree (``from x import f``: x)."""
    while name != "talkhead":
        relative = Path(*name.split(".")[1:])
        if (SOURCE / relative).with_suffix(".py").exists() or (SOURCE / relative / "__init__.py").exists():
            return name
        name = name.rpartition(".")[0]
    return name


def type_checking_blocks(tree: ast.AST) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:``."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside.update(id(n) for statement in node.body for n in ast.walk(statement))
    return inside


def own_imports(path: Path, text: str | None = None) -> list[tuple[str, bool, int]]:
    """(imported module, inside a function, line) for each import of the package's own modules in ``path``
    (or in ``text``, read as if it were that file)."""
    tree = ast.parse(path.read_text() if text is None else text)
    skipped = type_checking_blocks(tree)
    package = module_name(path).split(".") if path.name == "__init__.py" else module_name(path).split(".")[:-1]
    in_function = {
        id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(f)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            if not module.startswith("talkhead"):
                continue
            targets = [existing_module(f"{module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Import):
            targets = [existing_module(alias.name) for alias in node.names if alias.name.startswith("talkhead")]
        else:
            continue
        found.extend((target, id(node) in in_function, node.lineno) for target in targets)
    return found


@functools.cache
def import_graph() -> dict[str, list[tuple[str, bool, int]]]:
    return {module_name(path): own_imports(path) for path in sorted(SOURCE.rglob("*.py"))}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_part_has_a_layer():
    parts = {part_of(module) for module in import_graph()}
    assert parts <= set(ALLOWED), f"parts with no row in ALLOWED: {sorted(parts - set(ALLOWED))}"


def test_no_part_imports_a_layer_it_may_not():
    wrong = [
        f"{module}:{line} imports {target}"
        for module, imports in import_graph().items()
        for target, _, line in imports
        if part_of(target) != part_of(module) and part_of(target) not in ALLOWED[part_of(module)]
    ]
    assert not wrong, "imports against the layers (docs/architecture.md):\n" + "\n".join(wrong)


def test_no_import_cycles():
    graph = {
        module: {target for target, _, _ in imports if target != module} for module, imports in import_graph().items()
    }
    assert cycles(graph) == []


def test_few_function_local_imports_of_own_modules():
    local = sorted(
        {f"{module}:{line}" for module, imports in import_graph().items() for _, inside, line in imports if inside}
    )  # import statements, not names
    assert len(local) <= MAX_LOCAL_OWN_IMPORTS, "\n".join(local)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from ..data import clips\n", "talkhead.data.clips"),
        ("from ..io.audio import load_audio\n", "talkhead.io.audio"),
        ("import talkhead.metrics.sync\n", "talkhead.metrics.sync"),
    ],
)
def test_own_imports_resolve_relative_and_absolute(source, expected):
    # read as if it were talkhead/pipelines/loading.py: relative imports resolve against talkhead.pipelines
    assert [target for target, _, _ in own_imports(SOURCE / "pipelines" / "loading.py", source)] == [expected]


def test_a_cycle_and_an_upward_import_are_caught():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert "evaluation" not in ALLOWED["processing"] and "data" not in ALLOWED["pipelines"]
    # a model's own inputs sit beside it (models/<name>/feature_extraction_*.py) because processing may not import
    # models; the mouth-sync offsets sit in data because data may not import evaluation and metrics may not import data
    assert "models" not in ALLOWED["processing"] and "evaluation" not in ALLOWED["data"]
    assert "data" not in ALLOWED["metrics"]
    assert not {"data", "training", "pipelines", "cli"} & ALLOWED["hub"]
    assert ALLOWED["io"] == {"errors", "defaults"} and "io" in ALLOWED["processing"]  # io sits under processing
