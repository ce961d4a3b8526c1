"""What `attest review show` prints: consent first, then the answers, files and notes.

Question texts and option labels travel in the account as English source strings, which
are the flows' gettext msgids, so a reviewer reads them in their own language when a
catalog has them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flows.i18n import N_
from review.opened import OpenedAccount
from storage.queue.items import QueueItem

if TYPE_CHECKING:
    from flows.types import Translator  # its dataclasses cost a listing's start-up

SCOPE_LABELS = {
    "archive": N_("Keep in the secure archive"),
    "reports": N_("Use in public reports, without identity"),
    "mechanisms": N_("Share with accountability mechanisms"),
    "contact": N_("Contact again"),
    "referral": N_("Pass details to a support service"),
}
# The consent values a flow records (flows.spec.CONSENT_VALUES), as a reviewer reads them.
SCOPE_VALUES = {
    "yes": N_("yes"),
    "no": N_("no"),
    "named": N_("named (with identity)"),
    "anonymised": N_("anonymised (without identity)"),
}
STATUS_TEXTS = {
    "skip": N_("(not answered: skipped)"),
    "dont-know": N_("I don't know"),
    "prefer-not": N_("Prefer not to say"),
}
URGENT_LINE = N_("URGENT: something happened in the last days; medical help may still be possible.")
URGENT_NOT_SURE = N_(
    "URGENT: the person was not sure whether it happened in the last days; medical help "
    "may still be possible."
)
URGENT_NOT_SAID = N_(
    "URGENT: the person did not say whether it happened in the last days; medical help "
    "may still be possible."
)
URGENT_NEEDS = N_(
    "URGENT: the person needs urgent medical care, or care after recent sexual violence."
)
URGENT_MARKED = N_("URGENT: the interview marked this account urgent; the answers say why.")
# Where the flows set the `urgent` flag (flows/definitions): the "was it in the last 5
# days?" step (yes; "I'm not sure", which a skip is taken as) and two options of the
# needs step.
URGENCY_STEP = "urgency"
NEEDS_STEP = "needs"
URGENT_NEEDS_OPTIONS = frozenset({"urgent-medical-care", "care-after-sexual-violence"})


# C0 controls but newline and tab, DEL, and C1 controls (0x9b alone starts an escape
# sequence on some terminals). Answers are typed by anyone who reaches the bot; printed
# raw they could clear the reviewer's screen or fake a verification line. Unicode's bidi
# controls too (embeddings, overrides, isolates, the LRM/RLM/ALM marks): a right-to-left
# override makes the terminal draw the rest of a line backwards, so a stored value could
# pass for another line of the account. And the line and paragraph separators U+2028 and
# U+2029, which some terminals draw as a line break: a stored value could fake a row.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_SEPARATORS = "\u2028\u2029"
_CONTROLS = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}{_SEPARATORS}]")
_LINE_CONTROLS = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}{_SEPARATORS}]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str, *, one_line: bool = False) -> str:
    """`text` with control characters shown as \\xNN or \\uNNNN instead of acted on.

    With `one_line` newlines and tabs are shown so too: in a one-row-per-item listing a
    stored value must not start a row of its own.
    """
    pattern = _LINE_CONTROLS if one_line else _CONTROLS
    return pattern.sub(_escaped, text)


@dataclass(frozen=True)
class ShownNote:
    author: str
    created_at: datetime | None
    text: str


def when(value: datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return parsed.strftime("%Y-%m-%d %H:%M UTC")
    return value.strftime("%Y-%m-%d %H:%M UTC")


def short(fingerprint: str | None) -> str:
    return (fingerprint or "—")[:12]


def status_line(item: QueueItem, t: Translator) -> str:
    parts = [t.gettext("Status: {status}").format(status=item.status)]
    if item.assignee:
        parts.append(t.gettext("reviewer {who}").format(who=short(item.assignee)))
    if item.lease_until and item.status == "in-review":
        parts.append(t.gettext("held until {time}").format(time=when(item.lease_until)))
    if item.tags:
        parts.append(t.gettext("tags: {tags}").format(tags=", ".join(item.tags)))
    return " · ".join(parts)


# How the documenter knows a fact (documenter mode), as reviewers read it.
SOURCE_LABELS = {
    "seen": N_("seen by the documenter"),
    "told-by-person": N_("told directly by the person"),
    "heard-from-others": N_("heard from others"),
    "public-source": N_("public source"),
}


def _answer_text(answer: dict[str, object], t: Translator) -> str:
    status = str(answer.get("status"))
    if status in STATUS_TEXTS:
        return t.gettext(STATUS_TEXTS[status])
    labels = answer.get("labels")
    if isinstance(labels, list) and labels:
        return ", ".join(t.gettext(str(label)) for label in labels)
    value = answer.get("value")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def urgent_reasons(body: Mapping[str, Any]) -> list[str]:
    """Why an urgent account is urgent, as msgids (the lines its banner shows).

    "I'm not sure" marks an account urgent so that a reviewer checks, not because it
    happened lately: the line says what the person answered, never more.
    """
    reasons: list[str] = []
    for answer in body.get("answers", []):
        step, status, value = answer.get("step"), answer.get("status"), answer.get("value")
        if step == URGENCY_STEP:
            if status != "answered":
                reasons.append(URGENT_NOT_SAID)
            elif value == "yes":
                reasons.append(URGENT_LINE)
            elif value == "not-sure":
                reasons.append(URGENT_NOT_SURE)
        elif step == NEEDS_STEP and status == "answered":
            chosen = set(value) if isinstance(value, list) else {value}
            if chosen & URGENT_NEEDS_OPTIONS:
                reasons.append(URGENT_NEEDS)
    unique = list(dict.fromkeys(reasons))
    return unique or [URGENT_MARKED]


def render_account(opened: OpenedAccount, notes: Sequence[ShownNote], t: Translator) -> str:
    """The whole account as plain text."""
    item, body = opened.item, opened.body
    lines = [
        t.gettext("Account {id}").format(id=item.account_id),
        t.gettext("Received {received} · submitted {submitted}").format(
            received=when(item.received_at), submitted=when(body.get("submitted_at"))
        ),
        t.gettext(
            "Flow {flow} (version {version}) · language {language} · channel {channel}"
        ).format(
            flow=body.get("flow"),
            version=body.get("flow_version"),
            language=body.get("language"),
            channel=item.channel,
        ),
    ]
    if body.get("documenter"):
        lines.append(
            t.gettext("Recorded by documenter {documenter}").format(documenter=body["documenter"])
        )
    if opened.untrusted_after is not None:
        lines.append(
            t.gettext(
                "NOTE: this account's node key is untrusted for accounts received after "
                "{time}; the queue received this one before that."
            ).format(time=when(opened.untrusted_after))
        )
    if opened.resealed_by_demo is not None:
        lines.append(
            t.gettext(
                "NOTE: resealed by the demo key: who resealed it is not known (anyone with the "
                "node's machine holds that key). What it says is checked against the node's "
                "signature."
            )
        )
    if item.urgent:
        lines += [t.gettext(reason) for reason in urgent_reasons(body)]
    lines.append(status_line(item, t))
    lines.append(
        t.gettext(
            "Verified: signed by pinned node {node}; every answer and {files} file(s) match "
            "the hashes taken on receipt."
        ).format(node=short(item.node_fingerprint), files=len(opened.files))
    )
    consent = body.get("consent", {})
    lines += ["", t.gettext("Consent")]
    scopes = opened.scopes
    ordered = [s for s in SCOPE_LABELS if s in scopes] + sorted(set(scopes) - set(SCOPE_LABELS))
    for scope in ordered:
        value = scopes[scope]
        label = t.gettext(SCOPE_LABELS[scope]) if scope in SCOPE_LABELS else scope
        shown = t.gettext(SCOPE_VALUES[value]) if value in SCOPE_VALUES else str(value)
        lines.append(f"  {label}: {shown}")
    affirmed = (
        t.gettext(" (affirmed by a documenter)") if consent.get("affirmed_by_documenter") else ""
    )
    lines.append(
        "  "
        + t.gettext("Consent text version {version}, given {time} in {language}").format(
            version=consent.get("text_version"),
            time=when(consent.get("given_at")),
            language=consent.get("language"),
        )
        + affirmed
    )
    lines += ["", t.gettext("Answers")]
    for n, answer in enumerate(opened.answers, start=1):
        marker = t.gettext(" [identifying]") if answer.get("identifying") else ""
        question = t.gettext(str(answer.get("question", answer.get("step")))).splitlines() or [""]
        # Every line of a question of several lines under the first, not at the margin.
        number = f"  {n}. "
        lines.append(f"{number}{question[0]}{marker}")
        lines += [" " * len(number) + line for line in question[1:]]
        for text_line in _answer_text(answer, t).splitlines() or [""]:
            lines.append(f"     {text_line}")
        source = answer.get("source")
        if isinstance(source, str) and source:
            label = t.gettext(SOURCE_LABELS.get(source, source))
            lines.append("     " + t.gettext("source: {source}").format(source=label))
        attached = answer.get("files")
        if isinstance(attached, list) and attached:
            lines.append("     " + t.gettext("attached: {n} file(s)").format(n=len(attached)))
    lines += ["", t.gettext("Files")]
    if not opened.files:
        lines.append("  " + t.gettext("none"))
    for entry in opened.files:
        lines.append(
            "  "
            + t.gettext("{n}. {kind}, {mime}, {size} bytes, sha256 {sha}").format(
                n=entry.number,
                kind=entry.kind,
                mime=entry.mime_type or "—",
                size=entry.size,
                sha=entry.sha256,
            )
        )
    if notes:
        lines += ["", t.gettext("Notes")]
        for note in notes:
            lines.append(f"  {when(note.created_at)} · {short(note.author)}")
            lines += [f"    {line}" for line in note.text.splitlines()]
    return printable("\n".join(lines))
