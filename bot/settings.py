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


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment (or the mapping given, for tests)."""
    env = os.environ if env is None else env
    data_dir = Path(env.get("ATTEST_DATA_DIR", "attest-data")).expanduser()
    config = env.get("ATTEST_CONFIG")
    level = env.get("ATTEST_LOG_LEVEL", "WARNING").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise SettingsError(
            f"ATTEST_LOG_LEVEL={level!r} is not a log level; use DEBUG, INFO, WARNING or ERROR."
        )
    draft_days_raw = env.get("ATTEST_DRAFT_DAYS")
    draft_days = None
    if draft_days_raw:
        # isdecimal, not isdigit: int() refuses digits such as "²" that isdigit accepts.
        if not draft_days_raw.isdecimal() or not 1 <= int(draft_days_raw) <= MAX_DRAFT_DAYS:
            raise SettingsError(
                f"ATTEST_DRAFT_DAYS must be a whole number of days, from 1 to {MAX_DRAFT_DAYS}."
            )
        draft_days = int(draft_days_raw)
    return Settings(
        data_dir=data_dir,
        config_file=Path(config).expanduser() if config else None,
        database_url=env.get("ATTEST_DATABASE_URL") or None,
        queue_url=env.get("ATTEST_QUEUE_URL") or None,
        log_level=level,
        draft_days=draft_days,
    )


def ensure_data_dir(settings: Settings) -> Path:
    """Create the data directory (owner-only) on first run."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return settings.data_dir
