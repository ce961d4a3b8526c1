"""The flows package's exceptions. Respondents' mistakes are never exceptions: they are
gentle re-prompts in the turn. These mean bad configuration or a bug:

    FlowsError          base of everything flows/ raises on purpose
    ├── FlowError       a flow file is wrong (FILE:LINE: reason), raised when loading
    └── IllegalMove     the engine tried a move its flow does not allow (a bug)
"""

from __future__ import annotations

from pathlib import Path


class FlowsError(Exception):
    """Base of the flows package's exceptions."""


class FlowError(FlowsError):
    """A flow file is wrong; `str()` is `FILE:LINE: reason`."""

    def __init__(self, path: str | Path, line: int, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        super().__init__(f"{self.path}:{line}: {reason}")


class IllegalMove(FlowsError):
    """The engine tried a move its flow does not allow: a bug, never a person's mistake."""
