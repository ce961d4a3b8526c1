"""Shared pytest configuration."""

from __future__ import annotations

import os

import pytest


# --- golden transcripts (tests/golden): `--record` re-records them -------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record",
        action="store_true",
        default=False,
        help="re-record golden transcripts (also ATTEST_RECORD_GOLDEN=1)",
    )


@pytest.fixture
def record_golden(request: pytest.FixtureRequest) -> bool:
    """True when golden transcripts should be re-recorded instead of compared."""
    return (
        bool(request.config.getoption("--record")) or os.environ.get("ATTEST_RECORD_GOLDEN") == "1"
    )


# --- end golden transcripts ---------------------------------------------------------
