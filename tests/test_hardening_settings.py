"""Settings a person can get wrong: an absurd draft lifetime is refused at start, not per turn."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_deployment
from bot.settings import SettingsError, load_settings


@pytest.mark.parametrize("days", ["999999999", "99999999999", "²", "366"])
def test_an_impossible_draft_lifetime_in_the_environment_is_a_settings_error(days: str) -> None:
    with pytest.raises(SettingsError, match="ATTEST_DRAFT_DAYS"):
        load_settings({"ATTEST_DRAFT_DAYS": days})


@pytest.mark.parametrize("days", [999999999, 10**20, 366])
def test_an_impossible_draft_lifetime_in_the_settings_file_is_refused(
    tmp_path: Path, days: int
) -> None:
    path = tmp_path / "attest.yaml"
    path.write_text(f"org_name: X\norg_contact: c\ndraft_days: {days}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="draft_days"):
        load_deployment(path)


def test_a_year_of_drafts_is_still_allowed(tmp_path: Path) -> None:
    assert load_settings({"ATTEST_DRAFT_DAYS": "365"}).draft_days == 365
    path = tmp_path / "attest.yaml"
    path.write_text("org_name: X\norg_contact: c\ndraft_days: 365\n", encoding="utf-8")
    assert load_deployment(path).draft_days == 365


def test_every_wrong_setting_in_the_environment_is_named_at_once() -> None:
    """Issue 17: a schema (pydantic) checks the environment; each wrong variable, one line."""
    with pytest.raises(SettingsError) as caught:
        load_settings({"ATTEST_LOG_LEVEL": "loud", "ATTEST_DRAFT_DAYS": "0"})
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("ATTEST_LOG_LEVEL='LOUD' is not a log level")
    assert lines[1].startswith("ATTEST_DRAFT_DAYS must be a whole number")
    for days in (" 7", "7_0", "+7", "7.0"):
        with pytest.raises(SettingsError, match="ATTEST_DRAFT_DAYS"):
            load_settings({"ATTEST_DRAFT_DAYS": days})
    assert load_settings({"ATTEST_DRAFT_DAYS": "7"}).draft_days == 7
    assert load_settings({}).draft_days is None and load_settings({}).log_level == "WARNING"
