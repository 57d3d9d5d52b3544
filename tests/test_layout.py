"""The package tree is the pipeline: every import runs down the stages, never up, and no modules import
each other in a circle. Every import counts, those inside functions and under TYPE_CHECKING too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "harness"

# Lowest first: a module may import its own layer or one listed before it. A dotted entry inside a
# package orders that package's parts (models: shared loading code, then what adapters build on).
LAYERS = [
    "harness.core",
    "harness.data",
    "harness.evaluation",
    "harness.catalog",
    "harness.encode",
    "harness.models",
    "harness.models.common",
    "harness.models.weights",
    "harness.models.facts",
    "harness.models.flores",
    "harness.models.analysis",
    "harness.models.translation",
    "harness.models.nllb_e5",
    "harness.models.adapters",
    "harness.models.checkpoints",  # reads a checkpoint folder into a card; run and cli call it
    "harness.store",
    "harness.index",
    "harness.record",
    "harness.results",
    "harness.references",  # the old path of harness.results.references, kept as a re-export
    "harness.reporting",
    "harness.run",
    "harness.cli",
    "harness.__main__",
]
# The package root holds the version, which provenance and reports read, and re-exports the Python API
# (`harness.evaluate`, ...) from the run stage, imported only when called for: it may import up to run.
ROOT = "harness"
ROOT_REACHES = "harness.run"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every harness module the code of `module` imports, absolute or relative, at any depth of its code."""
    tree = ast.parse(source, filename=module)
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # `from harness.x import y` may name a module y: count it as imported too.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if (name == ROOT or name.startswith(ROOT + ".")) and name != module}


def known_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int | None:
    """Index of the longest entry of LAYERS that `module` is or lies inside; None for the root."""
    best: tuple[int, int] | None = None
    for index, layer in enumerate(LAYERS):
        if (module == layer or module.startswith(layer + ".")) and (best is None or len(layer) > best[0]):
            best = (len(layer), index)
    return None if best is None else best[1]


def import_graph() -> dict[str, set[str]]:
    modules = known_modules()
    return {
        name: {
            m
            for m in imported_modules(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")
            if m in modules
        }
        for name, path in modules.items()
    }


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, imports in sorted(graph.items()):
        own = LAYERS.index(ROOT_REACHES) if module == ROOT else layer_of(module)
        for target in sorted(imports):
            theirs = layer_of(target)
            if theirs is not None and (own is None or theirs > own):
                wrong.append(
                    f"{module} imports {target} ({LAYERS[theirs]} is above {LAYERS[own] if own is not None else ROOT})"
                )
    return wrong


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle between modules, as the path that closes it (a package importing its own
    submodules to re-export them is not one: `harness.x` -> `harness.x.y` is skipped)."""
    edges = {m: {t for t in targets if not t.startswith(m + ".")} for m, targets in graph.items()}
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)
    return found


def test_every_package_has_a_layer() -> None:
    unplaced = sorted(m for m in known_modules() if m != ROOT and layer_of(m) is None)
    assert unplaced == []


def test_every_package_says_its_job_and_what_it_may_import() -> None:
    top = [p for p in sorted(PACKAGE.iterdir()) if (p / "__init__.py").is_file()]
    silent = [
        p.name for p in top if "May import" not in (ast.get_docstring(ast.parse((p / "__init__.py").read_text())) or "")
    ]
    assert silent == []


def test_the_readme_lists_the_packages_in_their_order() -> None:
    readme = (PACKAGE.parent / "README.md").read_text()
    section = readme.split("## How the code is laid out", 1)[1].split("```", 2)[1]
    listed = [line.split()[0].removeprefix("harness/") for line in section.splitlines() if line.startswith("harness/")]
    packages = [layer.split(".")[1] for layer in LAYERS if (PACKAGE / layer.split(".")[1] / "__init__.py").is_file()]
    assert listed == list(dict.fromkeys(packages))


def test_imports_only_run_down_the_stages() -> None:
    assert upward_imports(import_graph()) == []


def test_no_module_imports_itself_through_others() -> None:
    assert cycles(import_graph()) == []


def test_an_upward_import_is_caught() -> None:
    graph = import_graph()
    graph["harness.data.dataset"] = graph["harness.data.dataset"] | {"harness.reporting.render"}
    assert upward_imports(graph) == [
        "harness.data.dataset imports harness.reporting.render (harness.reporting is above harness.data)"
    ]


def test_the_old_public_import_paths_still_work() -> None:
    from harness import references, results
    from harness.results import references as moved

    assert references.load_references is moved.load_references
    assert results.load_frame.__module__ == "harness.results.library"
    assert {"load", "load_frame", "export_mteb", "export_trec", "sweep_of", "fusion_of"} <= set(results.__all__)


def test_a_cycle_is_caught() -> None:
    graph = import_graph()
    graph["harness.core.errors"] = graph["harness.core.errors"] | {"harness.core.json_files"}
    assert ["harness.core.errors", "harness.core.json_files", "harness.core.errors"] in cycles(graph)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from harness.run import runner\n", {"harness.run", "harness.run.runner"}),
        ("def f():\n    from ..record import result\n", {"harness.record", "harness.record.result"}),
        ("if TYPE_CHECKING:\n    from .base import Index\n", {"harness.index.base", "harness.index.base.Index"}),
        ("import harness.store.cache as cache\n", {"harness.store.cache"}),
        ("import numpy\n", set()),
    ],
)
def test_imports_are_read_from_every_form(source: str, expected: set[str]) -> None:
    assert imported_modules(source, "harness.index.example") == expected
