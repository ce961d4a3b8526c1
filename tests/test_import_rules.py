"""flows/ is the pure core: it imports nothing from bot/, storage/ or review/.

Also: `transitions` is imported only by the machine module (one home per framework).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FLOWS = Path(__file__).resolve().parents[1] / "flows"
FORBIDDEN = ("bot", "storage", "review")
MODULES = sorted(FLOWS.rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Top-level names of every module `path` imports, however it is written."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            names.update(
                a.value
                for a in node.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            )
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(FLOWS)))
def test_flows_imports_nothing_from_the_outer_packages(path: Path) -> None:
    outer = sorted(n for n in imported(path) if n.split(".")[0] in FORBIDDEN)
    assert outer == [], f"{path.name} imports {outer}"


def test_only_the_machine_module_imports_transitions() -> None:
    users = sorted(
        p.name for p in MODULES if any(n.split(".")[0] == "transitions" for n in imported(p))
    )
    assert users == ["machine.py"]


def test_the_check_finds_an_import_when_there_is_one(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import storage.crypto\nfrom bot import cli\n", encoding="utf-8")
    assert imported(sample) == {"storage.crypto", "bot"}
