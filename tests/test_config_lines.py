"""The deployment settings file is checked by a schema; every problem names the file and line.

Issue 17: pydantic validates the file (bot/deployment_schema.py) and the YAML is composed
with its line marks, so a person editing it is told where, not only what.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import EXAMPLE, ConfigError, load_deployment

HEAD = "org_name: X\norg_contact: c\n"


def _refused(tmp_path: Path, text: str) -> tuple[Path, list[str]]:
    path = tmp_path / "attest.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_deployment(path)
    return path, str(caught.value).splitlines()


@pytest.mark.parametrize(
    ("text", "line", "said"),
    [
        (HEAD + "draft_days: 0\n", 3, "draft_days must be a whole number of days"),
        (HEAD + "draft_days: soon\n", 3, "draft_days must be a whole number of days"),
        (HEAD + "\n\ncolour: blue\n", 5, "unknown settings: colour"),
        (HEAD + "is_example: maybe\n", 3, "is_example must be true or false"),
        (
            HEAD + "referrals:\n  - name: A\n    kind: medical\n  - name: B\n    kind: spa\n",
            7,
            "referrals[1].kind must be one of",
        ),
        (
            HEAD + "referrals:\n  - name: A\n    kind: legal\n    fax: 123\n",
            6,
            "referrals[0] has unknown keys: fax",
        ),
        (HEAD + "referrals:\n  - name: A\n", 4, "referrals[0] needs at least a name and a kind"),
        ("org_name: X\n\norg_contact: [a, b]\n", 3, "org_contact must be a text"),
        ("org_name:\n  en: 3\norg_contact: c\n", 1, "org_name must be a text"),
        ("org_name: X\n", 1, "'org_contact' is required"),
        (
            HEAD + "referrals:\n  - {name: Line A, kind: legal}\n"
            "referral_partners:\n  - Line A\n  - Nobody\n",
            7,
            "referral_partners names 'Nobody'",
        ),
        (HEAD + "regions:\n  north: North\n  Done: Done\n", 5, "region 'Done' must be"),
    ],
)
def test_a_bad_value_is_refused_with_the_file_and_line(
    tmp_path: Path, text: str, line: int, said: str
) -> None:
    path, lines = _refused(tmp_path, text)
    assert lines[0].startswith(f"{path}:{line}: "), lines
    assert said in lines[0], lines


def test_every_problem_is_reported_at_once_each_on_its_line(tmp_path: Path) -> None:
    path, lines = _refused(tmp_path, "org_name: X\norg_contact: c\ndraft_days: 999\ncolour: blue\n")
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}:3: draft_days")
    assert lines[1].startswith(f"{path}:4: unknown settings: colour")


def test_numbers_typed_for_phones_are_read_as_text_and_the_example_is_valid(
    tmp_path: Path,
) -> None:
    path = tmp_path / "attest.yaml"
    path.write_text(
        HEAD + "referrals:\n  - {name: Line A, kind: legal, phone: 5551234}\n", encoding="utf-8"
    )
    assert load_deployment(path).referrals[0].phone == "5551234"
    assert load_deployment(EXAMPLE).is_example
