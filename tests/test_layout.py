"""The shape of the house: data flows one way through ``core``, which never reaches the UI.

Every ``import`` statement is read from the source, at module level and inside
functions alike (a function-level import that hides a circle is still a circle).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """Absolute names an ``ImportFrom`` node brings in (the module and any submodules named)."""
    if node.level:
        base = module.split(".")
        if not is_package:
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    return [target] + [f"{target}.{alias.name}" for alias in node.names]


def imports_of(path: Path) -> set[str]:
    """Every module name a file imports, anywhere in it."""
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.update(_resolve(module, is_package, node))
    return found


def _files(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def core_graph() -> dict[str, set[str]]:
    """``core`` module to the ``core`` modules it imports (packages count as their ``__init__``)."""
    modules = {_module_name(p): p for p in _files("core")}
    graph = {}
    for name, path in modules.items():
        deps = {d for d in imports_of(path) if d in modules and d != name}
        # `from . import x` inside core/pkg/__init__ names the package itself: not an edge
        graph[name] = {d for d in deps if not name.startswith(d + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of nodes (first repeated last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_walker_sees_function_level_and_relative_imports(tmp_path):
    pkg = REPO / "core"
    sample = pkg / "progress.py"
    assert "typing" in imports_of(sample)
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    fake = ast.parse("def f():\n    from .images import pixels\n")
    node = fake.body[0].body[0]
    assert _resolve("core.subsample", False, node)[0] == "core.images"
    assert _resolve("core.figures", True, ast.parse("from . import products").body[0]) == [
        "core.figures", "core.figures.products"]


def test_core_has_no_import_cycle():
    graph = core_graph()
    assert len(graph) > 15
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle in core: " + " -> ".join(cycle)


@pytest.mark.parametrize("path", _files("core"), ids=lambda p: str(p.relative_to(REPO)))
def test_core_never_imports_the_ui(path):
    bad = {d for d in imports_of(path) if d.split(".")[0] in {"streamlit", "ui", "pages", "app"}}
    assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", _files("pages"), ids=lambda p: str(p.relative_to(REPO)))
def test_a_page_never_imports_another_page(path):
    bad = {d for d in imports_of(path) if d.split(".")[0] == "pages"}
    assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", _files("ui") + _files("pages") + [REPO / "app.py"],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_the_ui_touches_no_private_streamlit_module(path):
    private = {d for d in imports_of(path)
               if d.startswith("streamlit.") and d not in {"streamlit.components.v2",
                                                          "streamlit.testing.v1"}}
    assert not private, f"{path.relative_to(REPO)} imports {sorted(private)}"
