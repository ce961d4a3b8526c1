"""The Telegram Bot API as data, and the checks Telegram makes on every call.

Read from `/work/shared/reference/telegram-bot-api.json` (every method and type with its
fields, types and whether each is required). `validate` refuses what Telegram refuses: an
unknown method, a missing required field, a value of the wrong type, text outside 1-4096
characters (UTF-16 units), callback data outside 1-64 bytes, deleteMessages with other
than 1-100 ids. `coerce` reads form fields the way Telegram does. Used by the fake Bot
API in `tests/fakebotapi.py`.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SPEC_PATH = Path("/work/shared/reference/telegram-bot-api.json")
if not SPEC_PATH.exists():  # a checkout elsewhere keeps the reference beside the repo
    SPEC_PATH = Path(__file__).resolve().parents[2] / "shared" / "reference" / SPEC_PATH.name


@cache
def spec() -> dict[str, Any]:
    """The Bot API description, methods and types keyed by name."""
    with SPEC_PATH.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


class ApiError(Exception):
    """A call Telegram would refuse: HTTP status and description as Telegram words them."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


# ---------------------------------------------------------------------------- validation


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _fits(value: Any, type_name: str) -> bool:
    """Whether `value` fits the API type (the fast check; `_matches` says why not)."""
    if type_name.startswith("Array of "):
        inner = type_name[9:]
        return isinstance(value, list) and all(_fits(item, inner) for item in value)
    if type_name == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "Boolean":
        return isinstance(value, bool)
    if type_name in ("String", "InputFile"):
        return isinstance(value, str)
    kind = spec()["types"].get(type_name)
    if kind is None:
        return True
    if not isinstance(value, dict):
        return False
    if kind.get("subtypes"):
        return any(_fits(value, sub) for sub in kind["subtypes"])
    known = _fields_of("types", type_name)
    for name in _required_of(type_name):
        if name not in value:
            return False
    for name, item in value.items():
        field = known.get(name)
        if field is not None and not any(_fits(item, t) for t in field["types"]):
            return False
    return True


def _matches(value: Any, type_name: str, where: str) -> str | None:
    """None when `value` fits the API type, else the reason it does not."""
    if type_name.startswith("Array of "):
        if not isinstance(value, list):
            return f"{where} must be an Array"
        inner = type_name.removeprefix("Array of ")
        for i, item in enumerate(value):
            reason = _matches(item, inner, f"{where}[{i}]")
            if reason:
                return reason
        return None
    if type_name == "Integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif type_name == "Float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif type_name == "Boolean":
        ok = isinstance(value, bool)
    elif type_name in ("String", "InputFile"):
        ok = isinstance(value, str)
    else:
        return _object_reason(value, type_name, where)
    return None if ok else f"{where} must be {type_name}"


def _object_reason(value: Any, type_name: str, where: str) -> str | None:
    kind = spec()["types"].get(type_name)
    if kind is None:
        return None  # a type the description does not detail; Telegram would take JSON
    if not isinstance(value, dict):
        return f"{where} must be a JSON object ({type_name})"
    if kind.get("subtypes"):
        reasons = [_object_reason(value, sub, where) for sub in kind["subtypes"]]
        return None if any(r is None for r in reasons) else reasons[0]
    known = _fields_of("types", type_name)
    for name, f in known.items():
        if f["required"] and name not in value:
            return f"{where}.{name} is required in {type_name}"
    for name, item in value.items():
        if name in known:
            reasons = [_matches(item, t, f"{where}.{name}") for t in known[name]["types"]]
            if all(reasons):
                return reasons[0]
    return None


@cache
def _method_names() -> dict[str, str]:
    """Method names as Telegram matches them (case-insensitively) -> their canonical name."""
    return {name.lower(): name for name in spec()["methods"]}


@cache
def _required_of(type_name: str) -> tuple[str, ...]:
    return tuple(n for n, f in _fields_of("types", type_name).items() if f["required"])


@cache
def _fields_of(section: str, name: str) -> dict[str, Any]:
    """The fields of a method or type by name (read once: every call checks them)."""
    return {f["name"]: f for f in spec()[section][name].get("fields", [])}


def buttons_of(markup: Any) -> list[dict[str, Any]]:
    if not isinstance(markup, dict):
        return []
    rows = markup.get("inline_keyboard") or []
    return [b for row in rows if isinstance(row, list) for b in row if isinstance(b, dict)]


def validate(method: str, params: dict[str, Any], files: dict[str, bytes]) -> str:
    """Check a call like Telegram; return the method's canonical name or raise ApiError."""
    canonical = _method_names().get(method.lower())
    if canonical is None:
        raise ApiError(404, "Not Found")
    fields = _fields_of("methods", canonical)
    for name, f in fields.items():
        if f["required"] and name not in params and name not in files:
            raise bad_request(f"parameter {name!r} is required")
    for name, value in params.items():
        if name not in fields:
            continue  # Telegram ignores parameters it does not know
        if isinstance(value, str) and value.startswith("attach://"):
            if value.removeprefix("attach://") not in files:
                raise bad_request(f"file {value!r} was not attached")
            continue
        if any(_fits(value, t) for t in fields[name]["types"]):
            continue
        reasons = [_matches(value, t, name) for t in fields[name]["types"]]
        if all(reasons):
            raise bad_request(f"can't parse parameters: {reasons[0]}")
    _check_limits(canonical, params)
    return canonical


def _check_limits(method: str, params: dict[str, Any]) -> None:
    text = params.get("text")
    if method in ("sendMessage", "editMessageText") and isinstance(text, str):
        if not text.strip():
            raise bad_request("message text is empty")
        if utf16_len(text) > 4096:
            raise bad_request("message is too long")
    caption = params.get("caption")
    if isinstance(caption, str) and utf16_len(caption) > 1024:
        raise bad_request("message caption is too long")
    if method == "answerCallbackQuery" and utf16_len(str(params.get("text", ""))) > 200:
        raise bad_request("answer text is too long")
    for button in buttons_of(params.get("reply_markup")):
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
            raise bad_request("BUTTON_DATA_INVALID")
    if method == "deleteMessages":
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must contain 1-100 identifiers")


def coerce(method: str, raw: dict[str, str]) -> dict[str, Any]:
    """Form fields (as HTTP clients post them) into typed values, as Telegram reads them."""
    fields = {f["name"]: f for f in spec()["methods"].get(method, {}).get("fields", [])}
    out: dict[str, Any] = {}
    for name, text in raw.items():
        types = fields.get(name, {}).get("types", ["String"])
        if "String" in types or "InputFile" in types:
            out[name] = text
            continue
        try:
            out[name] = json.loads(text)
        except ValueError:
            out[name] = text  # left as a string, so validation names the field
    return out
