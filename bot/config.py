"""The deployment settings file (`ATTEST_CONFIG`): YAML into `flows.deployment.Deployment`.

A missing or broken file is a clear error at start, naming the file, the line and what
to fix, for every problem at once: the values are checked against a pydantic schema
(`bot/deployment_schema.py`), located in the YAML composed with its line marks. Without `ATTEST_CONFIG` the demo deployment is used and
marked as such. `bot/attest.example.yaml` documents every key.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from flows.deployment import Deployment, Referral, demo_deployment

EXAMPLE = Path(__file__).with_name("attest.example.yaml")


class ConfigError(Exception):
    """The settings file is missing or wrong; str() says where and how to fix it."""


def parse_deployment(raw: Any, source: str = "settings", node: Any = None) -> Deployment:
    """Validate the parsed YAML against the schema and make a Deployment, or ConfigError.

    `node` is the composed YAML (line marks): each problem is then `FILE:LINE: ...`, one
    line per problem, all of them at once.
    """
    from pydantic import ValidationError

    from bot.deployment_schema import DeploymentSchema, errors_of, line_of, semantic_errors

    def refuse(problems: list[tuple[tuple[int | str, ...], str]]) -> ConfigError:
        lines = []
        for loc, message in problems:
            line = line_of(node, loc)
            lines.append(f"{source}{f':{line}' if line else ''}: {message}")
        return ConfigError("\n".join(lines))

    if not isinstance(raw, Mapping):
        raise refuse([((), "the file must be a YAML map of settings.")])
    try:
        schema = DeploymentSchema.model_validate(dict(raw))
    except ValidationError as error:
        raise refuse(errors_of(error)) from None
    problems = semantic_errors(schema)
    if problems:
        raise refuse(problems)
    defaults = demo_deployment()
    given = schema.model_fields_set
    return Deployment(
        org_name=schema.org_name,
        org_contact=schema.org_contact,
        draft_days=schema.draft_days,
        account_keep=schema.account_keep if "account_keep" in given else defaults.account_keep,
        neutral_line=schema.neutral_line if "neutral_line" in given else defaults.neutral_line,
        referrals=tuple(
            Referral(
                name=r.name,
                kind=r.kind,
                region=r.region,
                phone=r.phone,
                contact=r.contact,
                hours=r.hours,
                note=r.note,
            )
            for r in schema.referrals
        ),
        referral_partners=tuple(schema.referral_partners),
        regions=dict(schema.regions),
        storage_location=schema.storage_location,
        reviewers_description=schema.reviewers_description,
        is_example=schema.is_example,
        documenter_erase_chat=schema.documenter_erase_chat,
    )


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
        # The node tree keeps each value's line, for the schema's errors; the values
        # themselves are built from it as safe_load would.
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.SafeLoader(text).construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{path}{line}: {problem}.") from None
    return parse_deployment(raw, str(path), node)
