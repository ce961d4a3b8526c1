"""The flows package's base exception: a flow file that is wrong (a configuration error)."""

from __future__ import annotations

from pathlib import Path


class FlowError(Exception):
    """A flow file is wrong; `str()` is `FILE:LINE: reason`."""

    def __init__(self, path: str | Path, line: int, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        super().__init__(f"{self.path}:{line}: {reason}")
