"""Node settings from `ATTEST_*` environment variables, with plain error messages.

| variable | meaning | default |
| --- | --- | --- |
| ATTEST_DATA_DIR | everything the node writes | ./attest-data |
| ATTEST_CONFIG | deployment settings file (YAML) | the demo deployment |
| ATTEST_DATABASE_URL | intake store (postgresql://...) | SQLite DATA_DIR/intake.db |
| ATTEST_QUEUE_URL | reviewer queue | SQLite DATA_DIR/queue.db |
| ATTEST_NODE_KEY | node key file shared by a deployment's processes | DATA_DIR/node.key |
| ATTEST_LOG_LEVEL | DEBUG, INFO, WARNING, ... | WARNING |
| ATTEST_DRAFT_DAYS | overrides the settings file's draft_days | — |
| ATTEST_TELEGRAM_TOKEN | the bot token (environment only, never a flag) | — |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# Unfinished answers are shredded after this many days at most. Without a bound a typo
# (999999999) passes the start and then every turn fails: the expiry date overflows.
MAX_DRAFT_DAYS = 365


class SettingsError(Exception):
    """A setting is missing or malformed; the message says what to do."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    config_file: Path | None
    database_url: str | None
    queue_url: str | None
    log_level: str
    draft_days: int | None

    @property
    def intake_path(self) -> Path:
        return self.data_dir / "intake.db"


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _said(variable: str, value: str) -> str:
    if variable == "ATTEST_LOG_LEVEL":
        return f"ATTEST_LOG_LEVEL={value!r} is not a log level; use DEBUG, INFO, WARNING or ERROR."
    return f"ATTEST_DRAFT_DAYS must be a whole number of days, from 1 to {MAX_DRAFT_DAYS}."


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment (or the mapping given, for tests).

    The values are checked by a pydantic schema (imported here: `attest review list` never
    reads node settings, and pydantic stays off its start-up path); every wrong variable
    is named, one line each.
    """
    from typing import Annotated, Literal

    from pydantic import BaseModel, Field, StringConstraints, ValidationError

    class EnvironmentSchema(BaseModel):
        ATTEST_LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "WARNING"
        # Digits only (pydantic would take " 7" or "7_0"), then the range.
        ATTEST_DRAFT_DAYS: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,9}$")] | None = None
        draft_days: int | None = Field(None, ge=1, le=MAX_DRAFT_DAYS)

    env = os.environ if env is None else env
    level = env.get("ATTEST_LOG_LEVEL", "WARNING").upper()
    days_raw = env.get("ATTEST_DRAFT_DAYS") or None
    values: dict[str, object] = {"ATTEST_LOG_LEVEL": level, "ATTEST_DRAFT_DAYS": days_raw}
    # int() only of what the pattern will accept; "²" or "soon" fail on the pattern.
    if days_raw is not None and days_raw.isascii() and days_raw.isdecimal():
        values["draft_days"] = int(days_raw)
    try:
        checked = EnvironmentSchema.model_validate(values)
    except ValidationError as error:
        wrong = dict.fromkeys(
            "ATTEST_DRAFT_DAYS" if e["loc"][0] == "draft_days" else str(e["loc"][0])
            for e in error.errors()
        )
        raise SettingsError(
            "\n".join(_said(v, level if v == "ATTEST_LOG_LEVEL" else days_raw or "") for v in wrong)
        ) from None
    data_dir = Path(env.get("ATTEST_DATA_DIR", "attest-data")).expanduser()
    config = env.get("ATTEST_CONFIG")
    return Settings(
        data_dir=data_dir,
        config_file=Path(config).expanduser() if config else None,
        database_url=env.get("ATTEST_DATABASE_URL") or None,
        queue_url=env.get("ATTEST_QUEUE_URL") or None,
        log_level=checked.ATTEST_LOG_LEVEL,
        draft_days=checked.draft_days,
    )


def ensure_data_dir(settings: Settings) -> Path:
    """Create the data directory (owner-only) on first run."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return settings.data_dir
