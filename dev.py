#!/usr/bin/env python3
"""Bootstrap for a fresh machine with only Python: `python3 dev.py console|test|attest ...`.

Creates `.venv` beside this file on first use, installs Attest with its development
extras into it, then runs the requested command inside it:

    python3 dev.py console        # a local interview in the terminal (attest console)
    python3 dev.py test [ARGS]    # the test suite (pytest ARGS)
    python3 dev.py attest ARGS    # any attest subcommand
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("ATTEST_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".attest-installed"


def _wanted_stamp() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_venv() -> None:
    """Create the virtual environment and install the project when pyproject changed."""
    if not PYTHON.exists():
        print(f"Creating a virtual environment in {VENV} ...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _wanted_stamp():
        return
    print("Installing Attest and its dependencies (first run only) ...", file=sys.stderr)
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(_wanted_stamp())


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    ensure_venv()
    command, rest = argv[0], argv[1:]
    if command == "test":
        args = [str(PYTHON), "-m", "pytest", *rest]
    elif command == "console":
        args = [str(BIN / "attest"), "console", *rest]
    elif command == "attest":
        args = [str(BIN / "attest"), *rest]
    else:
        print(f"Unknown command {command!r}. Use console, test or attest.", file=sys.stderr)
        return 2
    return subprocess.call(args, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
