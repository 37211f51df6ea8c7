"""The rules the house keeps, checked on every run so they cannot slip again (issue 30): the
import contracts of ``[tool.importlinter]`` (no circle, the layers, adapters apart from the
report and the grid), and the size limits, no module over 400 lines and no function over 60.

No module or function is over a limit (the lists of ceilings below are empty); one that
grows past it fails here. docs/architecture.md says why each limit exists."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "advcompare"
MODULE_LINES = 400
FUNCTION_LINES = 60

# Modules or functions over a limit, with their size as a ceiling that may only shrink: none
# since the package was split by concern (issue 30, 2026-12-05); keep it that way.
OVERSIZED_MODULES: dict[str, int] = {}
OVERSIZED_FUNCTIONS: dict[str, int] = {}


def module_sizes(package: Path) -> dict[str, int]:
    """Lines per module of ``package``, keyed by its path from the repository root."""
    return {
        path.relative_to(package.parent).as_posix(): len(path.read_text().splitlines())
        for path in sorted(package.rglob("*.py"))
    }


def function_sizes(package: Path) -> dict[str, int]:
    """Lines per function (docstring and nested functions included), keyed ``path:name``."""
    sizes: dict[str, int] = {}
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(package.parent).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                key = f"{name}:{node.name}"
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                sizes[key] = max(sizes.get(key, 0), length)
    return sizes


def limit_breaches(sizes: dict[str, int], limit: int, ceilings: dict[str, int]) -> list[str]:
    """What breaks the rule: over the limit and not listed, over its listed ceiling, or listed
    though now within the limit (the list only shrinks)."""
    problems = []
    for key, size in sizes.items():
        if size > limit and key not in ceilings:
            problems.append(f"{key}: {size} lines, over the limit of {limit}")
        elif key in ceilings and size > ceilings[key]:
            problems.append(f"{key}: {size} lines, grew past its ceiling of {ceilings[key]}")
    for key in ceilings:
        if sizes.get(key, 0) <= limit:
            problems.append(f"{key}: within {limit} lines now (or gone): take it off the list")
    return problems


def test_no_module_grows_past_400_lines():
    assert limit_breaches(module_sizes(PACKAGE), MODULE_LINES, OVERSIZED_MODULES) == []


def test_no_function_grows_past_60_lines():
    assert limit_breaches(function_sizes(PACKAGE), FUNCTION_LINES, OVERSIZED_FUNCTIONS) == []


def test_a_new_long_function_is_caught(tmp_path):
    package = tmp_path / "advcompare"
    package.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(FUNCTION_LINES))
    (package / "long.py").write_text(f"def long():\n{body}\n")
    (package / "short.py").write_text("def short():\n    return 1\n")
    breaches = limit_breaches(function_sizes(package), FUNCTION_LINES, {})
    expected = f"advcompare/long.py:long: {FUNCTION_LINES + 1} lines, over the limit of 60"
    assert breaches == [expected]


def test_a_listed_module_that_shrank_must_leave_the_list():
    breaches = limit_breaches({"advcompare/a.py": 380}, MODULE_LINES, {"advcompare/a.py": 450})
    assert breaches == ["advcompare/a.py: within 400 lines now (or gone): take it off the list"]


def _lint_imports() -> subprocess.CompletedProcess:
    command = Path(sys.executable).with_name("lint-imports")
    if not command.exists():
        pytest.skip("lint-imports is not installed (pip install -e '.[test]' installs it)")
    return subprocess.run(
        [str(command), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_the_import_contracts_hold():
    """No circle, the layers from the CLI down to the records, adapters apart from the report
    and the grid ([tool.importlinter] in pyproject.toml)."""
    result = _lint_imports()
    assert result.returncode == 0, result.stdout[-3000:]
    assert "3 kept, 0 broken" in result.stdout


TOP_LEVEL_MODULES = 12


def top_level_modules(package: Path) -> list[str]:
    """The modules sitting directly in ``package``, beside its subpackages."""
    return sorted(path.name for path in package.glob("*.py"))


def test_the_package_keeps_at_most_12_top_level_modules():
    """The folders show the architecture (docs/architecture.md): the top level keeps the CLI,
    the API, errors and a few leaf utilities; everything else lives in a package by concern."""
    modules = top_level_modules(PACKAGE)
    assert len(modules) <= TOP_LEVEL_MODULES, modules
    assert {"cli.py", "api.py", "errors.py", "__init__.py"} <= set(modules)


def test_a_thirteenth_top_level_module_is_caught(tmp_path):
    for i in range(TOP_LEVEL_MODULES + 1):
        (tmp_path / f"m{i}.py").write_text("")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner.py").write_text("")
    assert len(top_level_modules(tmp_path)) == TOP_LEVEL_MODULES + 1


def test_every_library_entry_has_the_one_builder_signature():
    """Every attack of every library backend is built the same way, ``builder(params, model,
    x)`` (adapters.base.Builder), as torchattacks gives every attack one ``forward``."""
    import inspect

    from advcompare.adapters.registry import get_backend

    for backend in ("torchattacks", "art", "foolbox"):
        for attack, impl in get_backend(backend).attacks.items():
            assert impl.builder is not None, f"{backend}/{attack}: no builder"
            names = list(inspect.signature(impl.builder).parameters)
            assert names == ["p", "model", "x"], f"{backend}/{attack}: {names}"
