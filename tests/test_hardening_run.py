"""`attest run` with a broken settings file says what is wrong with the file, not the database."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from storage.crypto import generate_reviewer_key
from tests.fakebotapi import TOKEN


def test_a_broken_settings_file_is_named_with_its_line(tmp_path: Path) -> None:
    public = tmp_path / "reviewer.pub"
    generate_reviewer_key("x25519").public.save(public)
    settings = tmp_path / "attest.yaml"
    settings.write_text("org_name: Example\norg_contact: [\n", encoding="utf-8")
    env = {
        "ATTEST_DATA_DIR": str(tmp_path / "node"),
        "ATTEST_TELEGRAM_TOKEN": TOKEN,
        "ATTEST_REVIEWER_KEYS": str(public),
        "ATTEST_CONFIG": str(settings),
    }
    result = CliRunner().invoke(main, ["run"], env=env)
    assert result.exit_code == 1
    assert "Cannot open the database" not in result.output
    assert f"{settings}:" in result.output
