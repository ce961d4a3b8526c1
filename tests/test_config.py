"""The deployment settings file: a missing or broken file is a clear error naming the place."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import EXAMPLE, ConfigError, load_deployment
from bot.settings import SettingsError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "attest.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_means_the_demo_deployment() -> None:
    deployment = load_deployment(None)
    assert deployment.is_example
    assert deployment.referrals


def test_the_shipped_example_loads_and_says_it_is_an_example() -> None:
    deployment = load_deployment(EXAMPLE)
    assert deployment.is_example
    assert deployment.org_contact
    assert any(r.kind == "child-protection" for r in deployment.referrals)
    assert any(r.kind == "medical" for r in deployment.referrals)


def test_missing_file_says_where_to_look(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"settings file not found\. Check ATTEST_CONFIG"):
        load_deployment(tmp_path / "nope.yaml")


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "org_name: Example\norg_contact: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_deployment(path)
    assert str(caught.value).startswith(f"{path}:3:")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a list\n", "must be a YAML map"),
        ("org_name: X\n", "'org_contact' is required"),
        ("org_name: X\norg_contact: c\ncolour: blue\n", "unknown settings: colour"),
        ("org_name: X\norg_contact: c\ndraft_days: -1\n", "draft_days must be a whole number"),
        ("org_name: X\norg_contact: c\nreferrals: {}\n", "referrals must be a list"),
        (
            "org_name: X\norg_contact: c\nreferrals:\n  - name: A\n    kind: spa\n",
            r"referrals\[0\].kind must be one of",
        ),
        ("org_name: {en: 3}\norg_contact: c\n", "org_name must be a text"),
    ],
)
def test_wrong_settings_say_what_to_fix(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_deployment(write(tmp_path, text))


def test_texts_may_be_per_language(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "org_name: {en: Women's Archive, ar: أرشيف النساء}\norg_contact: c\n"
        "neutral_line: See you.\n",
    )
    deployment = load_deployment(path)
    assert deployment.org_name["ar"] == "أرشيف النساء"
    assert deployment.neutral_line == {"en": "See you."}


def test_settings_from_environment(tmp_path: Path) -> None:
    settings = load_settings({"ATTEST_DATA_DIR": str(tmp_path), "ATTEST_LOG_LEVEL": "debug"})
    assert settings.data_dir == tmp_path
    assert settings.log_level == "DEBUG"
    assert settings.intake_path == tmp_path / "intake.db"
    with pytest.raises(SettingsError, match="not a log level"):
        load_settings({"ATTEST_LOG_LEVEL": "loud"})
    with pytest.raises(SettingsError, match="ATTEST_DRAFT_DAYS"):
        load_settings({"ATTEST_DRAFT_DAYS": "soon"})


def test_storage_location_and_referral_partners_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "org_name: X\norg_contact: c\n"
        "storage_location: {en: Kept in Germany., fr: Conservés en Allemagne.}\n"
        "referrals:\n  - {name: {en: Line A, fr: Ligne A}, kind: psychosocial}\n"
        "  - {name: Clinic B, kind: medical}\n"
        "referral_partners: [Line A]\n",
    )
    deployment = load_deployment(path)
    assert deployment.storage_location["fr"] == "Conservés en Allemagne."
    assert [r.name["fr"] for r in deployment.partners()] == ["Ligne A"]


@pytest.mark.parametrize(
    ("partners", "message"),
    [
        ("[Nobody]", "referral_partners names 'Nobody', which is not the English name"),
        ("Line A", "referral_partners must be a list of service names"),
    ],
)
def test_referral_partners_come_from_the_directory(
    tmp_path: Path, partners: str, message: str
) -> None:
    path = write(
        tmp_path,
        "org_name: X\norg_contact: c\nreferrals:\n  - {name: Line A, kind: psychosocial}\n"
        f"referral_partners: {partners}\n",
    )
    with pytest.raises(ConfigError, match=message):
        load_deployment(path)


def test_the_example_names_where_accounts_are_kept_and_its_partners() -> None:
    deployment = load_deployment(EXAMPLE)
    assert deployment.storage_location["en"]
    assert deployment.partners() and all(
        r.kind != "child-protection" for r in deployment.partners()
    )
