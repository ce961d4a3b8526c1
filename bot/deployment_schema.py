"""The schema of the deployment settings file (pydantic), and where in the file a key is.

flows/ stays stdlib, transitions, PyYAML and babel: the schema lives here, in bot/, and
`bot.config` turns a validated file into `flows.deployment.Deployment`. Errors name the
file and the line: the YAML is composed into nodes (which keep their line marks) beside
the plain values pydantic checks, and each error's location is looked up in that tree.

pydantic is imported by `bot.config` only when a settings file is read (the node, the
console), never on the start-up path of `attest review list`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from bot.settings import MAX_DRAFT_DAYS

REFERRAL_KINDS = (
    "medical",
    "emergency",
    "psychosocial",
    "legal",
    "shelter",
    "child-protection",
    "digital",
    "other",
)
# Region codes become answer values of the region question, beside its own options.
REGION_CODE = re.compile(r"[a-z0-9][a-z0-9-]*")
NOT_REGIONS = frozenset({"elsewhere", "dont-know", "prefer-not", "done"})


def _local_text(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        return {"en": value}
    if (
        isinstance(value, Mapping)
        and value
        and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    ):
        return dict(value)
    raise PydanticCustomError(
        "local_text", "must be a text, or a map of language code to text (en: ...)"
    )


def _plain(value: Any) -> str:
    """Phone numbers and contacts: a YAML number (12345) is read as the text it was."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise PydanticCustomError("plain_text", "must be a text")


LocalText = Annotated[dict[str, str], BeforeValidator(_local_text)]
PlainText = Annotated[str, BeforeValidator(_plain)]


class ReferralSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: LocalText
    kind: Literal[
        "medical",
        "emergency",
        "psychosocial",
        "legal",
        "shelter",
        "child-protection",
        "digital",
        "other",
    ]
    region: PlainText = "all"
    phone: PlainText = ""
    contact: PlainText = ""
    hours: LocalText = Field(default_factory=dict)
    note: LocalText = Field(default_factory=dict)


class DeploymentSchema(BaseModel):
    """Every key of the settings file (bot/attest.example.yaml documents each)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    org_name: LocalText
    org_contact: PlainText
    draft_days: StrictInt = Field(7, ge=1, le=MAX_DRAFT_DAYS)
    # Absent: the demo deployment's wording (`model_fields_set` tells absent from empty).
    account_keep: LocalText = Field(default_factory=dict)
    neutral_line: LocalText = Field(default_factory=dict)
    referrals: list[ReferralSchema] = Field(default_factory=list)
    reviewers_description: LocalText = Field(default_factory=dict)
    storage_location: LocalText = Field(default_factory=dict)
    referral_partners: list[StrictStr] = Field(default_factory=list)
    regions: dict[str, LocalText] = Field(default_factory=dict)
    is_example: StrictBool = False
    documenter_erase_chat: StrictBool = True


# What to say for an error on a key, where pydantic's own words would not help a person
# who edits YAML. `{where}` is the key's path (referrals[0].kind).
_SAID = {
    "draft_days": f"draft_days must be a whole number of days, from 1 to {MAX_DRAFT_DAYS}.",
    "referrals": "referrals must be a list.",
    "referral_partners": "referral_partners must be a list of service names.",
    "regions": "regions must be a map of region code to its name.",
    "is_example": "is_example must be true or false.",
    "documenter_erase_chat": "documenter_erase_chat must be true or false.",
}


def where_of(loc: Sequence[int | str]) -> str:
    """`("referrals", 0, "kind")` as a person reads it: `referrals[0].kind`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """The 1-based line of the value at `loc` (or of its nearest parent the file has)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        found: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    # An unknown or wrong key: its own line; a value's line is the key's too.
                    line = key.start_mark.line + 1
                    found = value
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            found = node.value[part]
            line = found.start_mark.line + 1
        if found is None:
            break
        node = found
    return line


def _message(error: Mapping[str, Any]) -> tuple[tuple[int | str, ...], str]:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = where_of(loc[:-1])
        if not parent:
            return loc, f"unknown settings: {loc[-1]}."
        return loc, f"{parent} has unknown keys: {loc[-1]}."
    if kind == "missing":
        if loc[:1] == ("referrals",) and len(loc) == 3:
            return loc[:-1], f"{where_of(loc[:-1])} needs at least a name and a kind."
        return loc[:-1], f"'{where_of(loc)}' is required."
    if kind == "literal_error" and loc[-1] == "kind":
        return loc, f"{where_of(loc)} must be one of {', '.join(sorted(REFERRAL_KINDS))}."
    if kind == "model_type" and loc[:1] == ("referrals",):
        return loc, f"{where_of(loc)} must be a map with name, kind, phone, ..."
    if len(loc) <= 2 and loc[0] in _SAID and not (loc[0] == "regions" and len(loc) == 2):
        return loc, _SAID[str(loc[0])]
    return loc, f"{where_of(loc)} {error['msg']}."


def errors_of(error: ValidationError) -> list[tuple[tuple[int | str, ...], str]]:
    """Each problem once, as (where in the file, what to fix), in the file's order."""
    seen: dict[tuple[int | str, ...], str] = {}
    for raw in error.errors():
        loc, message = _message(raw)
        seen.setdefault(loc, message)
    return list(seen.items())


def semantic_errors(schema: DeploymentSchema) -> list[tuple[tuple[int | str, ...], str]]:
    """What a schema cannot say: partners from the directory, region codes that fit."""
    problems: list[tuple[tuple[int | str, ...], str]] = []
    known = {r.name.get("en", next(iter(r.name.values()))) for r in schema.referrals}
    for i, name in enumerate(schema.referral_partners):
        if name not in known:
            problems.append(
                (
                    ("referral_partners", i),
                    f"referral_partners names {name!r}, which is not the English name of "
                    "any entry in referrals.",
                )
            )
    codes: list[tuple[tuple[int | str, ...], str]] = [
        (("regions", code), code) for code in schema.regions
    ]
    codes += [(("referrals", i, "region"), r.region) for i, r in enumerate(schema.referrals)]
    for loc, code in codes:
        if (code != "all" and not REGION_CODE.fullmatch(code)) or code in NOT_REGIONS:
            problems.append(
                (
                    loc,
                    f"region {code!r} must be lower-case letters, digits and '-', "
                    f"and not one of {', '.join(sorted(NOT_REGIONS))}.",
                )
            )
    return problems
