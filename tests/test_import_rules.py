"""Who may import what: the layers of ARCHITECTURE.md, checked on the source.

- flows/ is the pure core: it imports nothing from bot/, storage/ or review/.
- `transitions` is imported only by the engine's machine module; `cryptography` only under
  storage/crypto/; SQLAlchemy and Alembic only under storage/ (bench/ exempt: it measures
  the database directly).
- storage/ shows the data's path: crypto/ imports nothing of storage but `errors`; intake/
  (the node) and queue/ (the reviewers) import crypto/, `db`, `errors` and never each
  other; only `sync.py` joins them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT / "flows"
STORAGE = ROOT / "storage"
FORBIDDEN = ("bot", "storage", "review")
MODULES = sorted(FLOWS.rglob("*.py"))
SHIPPED = sorted(
    p for top in ("bot", "flows", "storage", "review") for p in (ROOT / top).rglob("*.py")
)


def imported(path: Path) -> set[str]:
    """Top-level names of every module `path` imports, however it is written."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from storage import audit` imports storage.audit, not only storage.
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError(f"{path}: relative import; write the package out in full")
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
    assert imported(sample) == {"storage.crypto", "bot", "bot.cli"}


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def users_of(top_level: str) -> list[str]:
    return sorted(rel(p) for p in SHIPPED if any(n.split(".")[0] == top_level for n in imported(p)))


def test_cryptography_is_imported_only_under_storage_crypto() -> None:
    users = users_of("cryptography")
    assert users, "the check found no user of cryptography at all"
    assert [u for u in users if not u.startswith("storage/crypto/")] == []


@pytest.mark.parametrize("framework", ["sqlalchemy", "alembic"])
def test_the_database_is_reached_only_from_storage(framework: str) -> None:
    users = users_of(framework)
    assert users, f"the check found no user of {framework} at all"
    assert [u for u in users if not u.startswith("storage/")] == []


# What each part of storage/ may import of storage/ (besides itself).
ALLOWED = {
    "crypto": {"storage.errors"},
    "intake": {"storage.crypto", "storage.db", "storage.errors"},
    "queue": {"storage.crypto", "storage.db", "storage.errors"},
    "db.py": set(),
    "errors.py": set(),
    "sync.py": {
        "storage.crypto",
        "storage.db",
        "storage.errors",
        "storage.intake",
        "storage.queue",
    },
}


def storage_part(path: Path) -> str:
    return path.relative_to(STORAGE).parts[0]


def allowed(part: str, name: str) -> bool:
    own = f"storage.{part}"
    return any(name == a or name.startswith(a + ".") for a in {*ALLOWED[part], own})


@pytest.mark.parametrize(
    "path", sorted(STORAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(STORAGE))
)
def test_storage_parts_import_only_what_their_layer_allows(path: Path) -> None:
    part = storage_part(path)
    if part == "__init__.py":
        assert imported(path) == set()
        return
    wrong = sorted(
        n
        for n in imported(path)
        if n.split(".")[0] == "storage" and n != "storage" and not allowed(part, n)
    )
    assert wrong == [], f"{rel(path)} imports {wrong}"
    upward = sorted(n for n in imported(path) if n.split(".")[0] in {"bot", "review"})
    assert upward == [], f"{rel(path)} imports {upward}"


def test_the_storage_rule_catches_the_node_reaching_into_the_queue(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from storage.queue import audit\nfrom storage import sync\n")
    names = imported(sample)
    assert not allowed("intake", "storage.queue.audit")
    assert not allowed("crypto", "storage.sync")
    assert {"storage.queue.audit", "storage.sync"} <= names
    assert allowed("intake", "storage.crypto.drafts") and allowed("queue", "storage.queue.tables")


def test_the_standard_librarys_sqlite3_is_used_only_by_the_read_only_queue() -> None:
    """Storage drives SQLite through SQLAlchemy; only the read-only listing takes sqlite3
    itself (issue 16: start-up), and it stays in the queue's part of storage."""
    assert users_of("sqlite3") == ["storage/queue/readonly.py"]
