"""Every imported package is declared, and requirements.txt locks the whole dependency tree.

Run as a script to print a fresh lock from the current environment::

    python tests/test_requirements.py > requirements.txt

(after ``pip install -r requirements.in`` and a passing test run).
"""
from __future__ import annotations

import ast
import functools
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
#: Build tools some packages declare; they come with the interpreter and are
#: not locked (as pip-compile does by default).
UNLOCKED = frozenset({"pip", "setuptools", "wheel"})
#: Code that runs in the app; its imports must be runtime requirements.
RUNTIME = ("core", "ui", "pages", "app.py")
#: Code that only developers run; its imports may be in requirements-dev.txt.
DEVELOPMENT = ("bench", "tests")

HEADER = """\
# The full lock of the app's runtime dependencies: requirements.in and everything
# it pulls in, pinned to the versions the tests passed with (Linux, Python 3.11,
# as in the Dockerfile). Install with `pip install -r requirements.txt`.
# Do not edit by hand: change requirements.in, install it, run the tests, then
#   python tests/test_requirements.py > requirements.txt
# pip, setuptools and wheel come with the interpreter and are not locked.
"""


def read_requirements(path: Path) -> list[Requirement]:
    """Requirements of a pip requirements file, without options and includes."""
    out = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            out.append(Requirement(line))
    return out


def closure(requirements: list[Requirement]) -> dict[str, metadata.Distribution]:
    """Installed distributions of ``requirements`` and of everything they require.

    Environment markers are evaluated for this interpreter and platform, extras
    followed where asked for.
    """
    found: dict[str, tuple[metadata.Distribution, frozenset]] = {}
    stack = [(r, frozenset(r.extras)) for r in requirements]
    while stack:
        req, extras = stack.pop()
        name = canonicalize_name(req.name)
        known = found.get(name)
        if known is not None and extras <= known[1]:
            continue
        extras = extras | (known[1] if known else frozenset())
        dist = metadata.distribution(req.name)
        found[name] = (dist, extras)
        for spec in dist.requires or []:
            sub = Requirement(spec)
            if sub.marker is not None and not any(
                    sub.marker.evaluate({"extra": e}) for e in (extras or {""})):
                continue
            stack.append((sub, frozenset(sub.extras)))
    return {name: dist for name, (dist, _) in found.items() if name not in UNLOCKED}


def render_lock() -> str:
    """The text of requirements.txt for the current environment."""
    dists = closure(read_requirements(REPO / "requirements.in"))
    lines = [f"{name}=={dists[name].version}" for name in sorted(dists)]
    return HEADER + "\n".join(lines) + "\n"


def _pins(path: Path) -> dict[str, str]:
    return {canonicalize_name(r.name): str(r.specifier).removeprefix("==")
            for r in read_requirements(path)}


def _third_party_imports(paths) -> dict[str, set[str]]:
    """Top-level modules imported by the Python files under ``paths``, with a file each."""
    local = {p.stem for p in REPO.glob("*.py")} | {p.name for p in REPO.iterdir() if p.is_dir()}
    local |= {p.stem for p in (REPO / "tests").rglob("*.py")}
    found: dict[str, set[str]] = {}
    for top in paths:
        root = REPO / top
        for file in ([root] if root.is_file() else root.rglob("*.py")):
            for node in ast.walk(ast.parse(file.read_text())):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    module = name.split(".")[0]
                    if module not in sys.stdlib_module_names and module not in local:
                        found.setdefault(module, set()).add(str(file.relative_to(REPO)))
    return found


@functools.lru_cache(maxsize=1)
def _module_owners() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def _declared(module: str, declared: set[str]) -> bool:
    dists = _module_owners().get(module, [])
    return any(canonicalize_name(d) in declared for d in dists)


def test_runtime_imports_are_runtime_requirements():
    declared = set(_pins(REPO / "requirements.in"))
    missing = {m: sorted(f)[0] for m, f in _third_party_imports(RUNTIME).items()
               if not _declared(m, declared)}
    assert not missing, f"imported but not in requirements.in: {missing}"


def test_development_imports_are_declared():
    declared = set(_pins(REPO / "requirements.in")) | set(_pins(REPO / "requirements-dev.txt"))
    missing = {m: sorted(f)[0] for m, f in _third_party_imports(DEVELOPMENT).items()
               if not _declared(m, declared)}
    assert not missing, f"imported but not declared: {missing}"


def test_lock_holds_the_whole_tree_at_the_installed_versions():
    lock = _pins(REPO / "requirements.txt")
    tree = closure(read_requirements(REPO / "requirements.in"))
    assert sorted(lock) == sorted(tree), "regenerate requirements.txt (see its header)"
    installed = {name: dist.version for name, dist in tree.items()}
    assert lock == installed
    for name, version in _pins(REPO / "requirements.in").items():
        assert lock[name] == version, f"{name}: requirements.in and requirements.txt differ"


def test_test_tools_stay_out_of_the_runtime_lock():
    lock = _pins(REPO / "requirements.txt")
    pinned_for_tests = {n for n, v in _pins(REPO / "requirements-dev.txt").items() if v}
    assert {"pytest", "playwright"} <= pinned_for_tests
    assert not pinned_for_tests & set(lock)
    assert "-r requirements.txt" in (REPO / "requirements-dev.txt").read_text().splitlines()


if __name__ == "__main__":
    sys.stdout.write(render_lock())
