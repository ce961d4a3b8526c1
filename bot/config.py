"""The deployment settings file (`ATTEST_CONFIG`): YAML into `flows.deployment.Deployment`.

A missing or broken file is a clear error at start, naming the file, the line where
YAML can tell, and what to fix. Without `ATTEST_CONFIG` the demo deployment is used and
marked as such. `bot/attest.example.yaml` documents every key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.settings import MAX_DRAFT_DAYS
from flows.deployment import Deployment, Referral, demo_deployment

EXAMPLE = Path(__file__).with_name("attest.example.yaml")

_TOP_KEYS = {
    "org_name",
    "org_contact",
    "draft_days",
    "account_keep",
    "neutral_line",
    "referrals",
    "reviewers_description",
    "storage_location",
    "referral_partners",
    "regions",
    "is_example",
    "documenter_erase_chat",
}
_REFERRAL_KEYS = {"name", "kind", "region", "phone", "contact", "hours", "note"}
_REFERRAL_KINDS = {
    "medical",
    "emergency",
    "psychosocial",
    "legal",
    "shelter",
    "child-protection",
    "digital",
    "other",
}


# Region codes become answer values of the region question, beside its own options.
_REGION_CODE = re.compile(r"[a-z0-9][a-z0-9-]*")
_NOT_REGIONS = {"elsewhere", "dont-know", "prefer-not", "done"}


class ConfigError(Exception):
    """The settings file is missing or wrong; str() says where and how to fix it."""


def _local_text(value: Any, where: str) -> dict[str, str]:
    if isinstance(value, str):
        return {"en": value}
    if (
        isinstance(value, Mapping)
        and value
        and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    ):
        return dict(value)
    raise ConfigError(f"{where} must be a text, or a map of language code to text (en: ...).")


def _referral(raw: Any, where: str) -> Referral:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a map with name, kind, phone, ...")
    unknown = set(raw) - _REFERRAL_KEYS
    if unknown:
        raise ConfigError(f"{where} has unknown keys: {', '.join(sorted(unknown))}.")
    if "name" not in raw or "kind" not in raw:
        raise ConfigError(f"{where} needs at least a name and a kind.")
    kind = raw["kind"]
    if kind not in _REFERRAL_KINDS:
        raise ConfigError(f"{where}.kind must be one of {', '.join(sorted(_REFERRAL_KINDS))}.")
    return Referral(
        name=_local_text(raw["name"], f"{where}.name"),
        kind=str(kind),
        region=str(raw.get("region", "all")),
        phone=str(raw.get("phone", "")),
        contact=str(raw.get("contact", "")),
        hours=_local_text(raw["hours"], f"{where}.hours") if "hours" in raw else {},
        note=_local_text(raw["note"], f"{where}.note") if "note" in raw else {},
    )


def _partners(raw: Any, referrals: tuple[Referral, ...], source: str) -> tuple[str, ...]:
    """`referral_partners`: English names of referral entries, each one in the directory."""
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise ConfigError(f"{source}: referral_partners must be a list of service names.")
    known = {r.name.get("en", next(iter(r.name.values()))) for r in referrals}
    for name in raw:
        if name not in known:
            raise ConfigError(
                f"{source}: referral_partners names {name!r}, which is not the English name "
                "of any entry in referrals."
            )
    return tuple(raw)


def parse_deployment(raw: Any, source: str = "settings") -> Deployment:
    """Turn the parsed YAML mapping into a Deployment, or raise ConfigError."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: the file must be a YAML map of settings.")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"{source}: unknown settings: {', '.join(sorted(unknown))}.")
    for required in ("org_name", "org_contact"):
        if required not in raw:
            raise ConfigError(f"{source}: '{required}' is required.")
    draft_days = raw.get("draft_days", 7)
    if (
        not isinstance(draft_days, int)
        or isinstance(draft_days, bool)
        or not 1 <= draft_days <= MAX_DRAFT_DAYS
    ):
        raise ConfigError(
            f"{source}: draft_days must be a whole number of days, from 1 to {MAX_DRAFT_DAYS}."
        )
    referrals_raw = raw.get("referrals", [])
    if not isinstance(referrals_raw, list):
        raise ConfigError(f"{source}: referrals must be a list.")
    defaults = demo_deployment()
    referrals = tuple(
        _referral(r, f"{source}: referrals[{i}]") for i, r in enumerate(referrals_raw)
    )
    partners = _partners(raw.get("referral_partners", []), referrals, source)
    regions_raw = raw.get("regions", {})
    if not isinstance(regions_raw, Mapping):
        raise ConfigError(f"{source}: regions must be a map of region code to its name.")
    regions = {
        str(code): _local_text(name, f"{source}: regions.{code}")
        for code, name in regions_raw.items()
    }
    for code in [*regions, *(r.region for r in referrals)]:
        if (code != "all" and not _REGION_CODE.fullmatch(code)) or code in _NOT_REGIONS:
            raise ConfigError(
                f"{source}: region {code!r} must be lower-case letters, digits and '-', "
                f"and not one of {', '.join(sorted(_NOT_REGIONS))}."
            )
    return Deployment(
        org_name=_local_text(raw["org_name"], f"{source}: org_name"),
        org_contact=str(raw["org_contact"]),
        draft_days=draft_days,
        account_keep=_local_text(raw["account_keep"], f"{source}: account_keep")
        if "account_keep" in raw
        else defaults.account_keep,
        neutral_line=_local_text(raw["neutral_line"], f"{source}: neutral_line")
        if "neutral_line" in raw
        else defaults.neutral_line,
        referrals=referrals,
        referral_partners=partners,
        regions=regions,
        storage_location=_local_text(raw["storage_location"], f"{source}: storage_location")
        if "storage_location" in raw
        else {},
        reviewers_description=_local_text(
            raw["reviewers_description"], f"{source}: reviewers_description"
        )
        if "reviewers_description" in raw
        else {},
        is_example=bool(raw.get("is_example", False)),
        documenter_erase_chat=_switch(raw, "documenter_erase_chat", True, source),
    )


def _switch(raw: Mapping[str, Any], key: str, default: bool, source: str) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{source}: {key} must be true or false.")
    return value


def load_deployment(path: Path | None) -> Deployment:
    """Read the settings file; None means the demo deployment."""
    if path is None:
        return demo_deployment()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: settings file not found. Check ATTEST_CONFIG, or copy {EXAMPLE.name}."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: cannot read the settings file ({type(exc).__name__})."
        ) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{path}{line}: {problem}.") from None
    return parse_deployment(raw, str(path))
