"""What the desk's templates show of an account and of the queue (values only, no I/O).

Question texts and option labels travel in the account as the English source strings,
which are the flows' gettext msgids: the reviewer reads them in their own language and,
beside it, in the account's language. A wording a later flow version dropped is in no
catalog, so gettext gives back the stored text itself: nothing is ever lost for it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from babel import Locale, UnknownLocaleError

from flows.i18n import N_, translator
from flows.types import Translator
from review.opened import OpenedAccount
from review.show import SCOPE_LABELS, short

# Answer statuses shown as what they are, never as an empty answer.
STATUS_TEXTS = {
    "skip": "Skipped",
    "dont-know": "I don't know",
    "prefer-not": "Prefer not to say",
}


def text_direction(text: str | None, language: str | None) -> str:
    """The direction a typed answer reads in: that of its first letter, so Latin words or
    a phone number typed in an Arabic account stay left to right ("0912 345 678" shown
    right to left reads "678 345 0912"); digits without a letter read left to right; the
    account's language decides only for a text with neither."""
    digits = False
    for ch in text or "":
        kind = unicodedata.bidirectional(ch)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
        digits = digits or kind in ("EN", "AN")
    return "ltr" if digits else direction(language)


def direction(language: str | None) -> str:
    """ "rtl" for right-to-left languages (Arabic, Persian, ...), else "ltr"."""
    try:
        locale = Locale.parse((language or "en").replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return "ltr"
    return "rtl" if locale.character_order == "right-to-left" else "ltr"


def reviewer_label(fingerprint: str | None) -> str:
    """How a reviewer is named on the desk: until key files carry a name, the fingerprint."""
    return short(fingerprint) if fingerprint else ""


@dataclass(frozen=True)
class ShownAnswer:
    number: int
    step: str
    question: str  # in the reviewer's language
    question_own: str | None  # in the account's language, when that differs
    status: str  # answered, skip, dont-know, prefer-not
    status_text: str | None
    text: str  # the person's words, or the chosen options
    own_words: bool  # typed by the person: shown in the account's language and direction
    identifying: bool
    sha256: str | None
    received_at: str | None
    files: int


@dataclass(frozen=True)
class ShownScope:
    scope: str
    label: str
    value: str
    allowed: bool


def scopes_of(opened: OpenedAccount, t: Translator) -> list[ShownScope]:
    scopes = opened.scopes
    ordered = [s for s in SCOPE_LABELS if s in scopes] + sorted(set(scopes) - set(SCOPE_LABELS))
    return [
        ShownScope(
            scope,
            t.gettext(SCOPE_LABELS.get(scope, scope)),
            t.gettext(str(scopes[scope])),
            str(scopes[scope]) not in ("no", ""),
        )
        for scope in ordered
    ]


def _labels(answer: Mapping[str, Any], t: Translator) -> str:
    labels = answer.get("labels")
    if isinstance(labels, list) and labels:
        return ", ".join(t.gettext(str(label)) for label in labels)
    return ""


def answers_of(opened: OpenedAccount, t: Translator) -> list[ShownAnswer]:
    language = str(opened.body.get("language") or "en")
    own = translator(language)
    shown: list[ShownAnswer] = []
    for number, answer in enumerate(opened.answers, start=1):
        stored_question = str(answer.get("question") or answer.get("step") or "")
        question = t.gettext(stored_question)
        question_own = own.gettext(stored_question)
        status = str(answer.get("status") or "answered")
        labels = _labels(answer, own)
        value = answer.get("value")
        if isinstance(value, list):
            value_text = ", ".join(str(v) for v in value)
        else:
            value_text = "" if value is None else str(value)
        files = answer.get("files")
        shown.append(
            ShownAnswer(
                number=number,
                step=str(answer.get("step") or ""),
                question=question,
                question_own=question_own if question_own != question else None,
                status=status,
                status_text=t.gettext(STATUS_TEXTS[status]) if status in STATUS_TEXTS else None,
                text=labels or value_text,
                own_words=not labels,
                identifying=bool(answer.get("identifying")),
                sha256=answer.get("sha256"),
                received_at=answer.get("received_at"),
                files=len(files) if isinstance(files, list) else 0,
            )
        )
    return shown


def ids_of(form: Mapping[str, Sequence[str]], name: str = "id") -> list[str]:
    """Account ids a form names, without blanks or duplicates, in order."""
    seen: dict[str, None] = {}
    for value in form.get(name, ()):
        value = value.strip()
        if value and len(value) <= 64:
            seen[value] = None
    return list(seen)


# The queue's statuses as a reviewer reads them (msgids; the templates translate them).
STATUS_NAMES = {
    "new": N_("New"),
    "in-review": N_("In review"),
    "follow-up": N_("Follow-up"),
    "referred": N_("Referred"),
    "verified": N_("Verified"),
    "closed": N_("Closed"),
}


# Audit actions as a reviewer reads them; an action not listed is shown as stored.
ACTION_NAMES = {
    "received": N_("received from the node"),
    "opened": N_("opened"),
    "claimed": N_("claimed"),
    "released": N_("released"),
    "changed": N_("triage changed"),
    "exported": N_("exported"),
    "file-decrypted": N_("file decrypted"),
    "withdrawn": N_("withdrawn"),
}


def actor_label(actor: str) -> str:
    """An audit entry's actor: a reviewer or node by short fingerprint, or "admin"."""
    kind, _sep, fingerprint = actor.partition(":")
    if not fingerprint:
        return actor
    return f"{kind} {short(fingerprint)}"
