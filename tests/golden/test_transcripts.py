"""Golden transcripts: every recorded conversation still goes exactly as recorded.

Re-record with `pytest tests/golden --record` (or ATTEST_RECORD_GOLDEN=1) and
read the diff: each transcript must still read like a kind, sensible conversation.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden.harness import GOLDEN_DIR, dump, replay, transcripts


@pytest.mark.parametrize(
    "path", transcripts(), ids=lambda p: str(p.relative_to(GOLDEN_DIR).with_suffix(""))
)
def test_conversation_goes_as_recorded(path: Path, record_golden: bool) -> None:
    stored, fresh = replay(path)
    if record_golden:
        path.write_text(dump(fresh), encoding="utf-8")
        return
    assert "result" in stored, f"{path.name} was never recorded: run pytest --record"
    assert dump(fresh) == dump(stored)
