"""Values the engine takes and gives: sessions, inbound events, outbound messages, turns.

Everything here is a frozen dataclass that round-trips through plain JSON-able dicts
(`to_dict` / `from_dict`), so storage can encrypt a session as one blob and the engine
never sees a database, a clock or a channel.

Answer statuses keep "skip", "I don't know" and "prefer not to say" apart:

    answered    the person gave an answer (value holds it)
    skip        /skip — moved on without answering
    dont-know   "I don't know"
    prefer-not  "Prefer not to say"
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal, Protocol

AnswerStatus = Literal["answered", "skip", "dont-know", "prefer-not"]
ANSWER_STATUSES: tuple[str, ...] = ("answered", "skip", "dont-know", "prefer-not")

# Reserved option values a choice answer may carry besides the step's own option ids.
DONT_KNOW = "dont-know"
PREFER_NOT = "prefer-not"
DONE = "done"  # closes a multiple-choice selection made by toggling buttons
HIDE_BUTTON = "/hide"  # a button that is the /hide command (on the pause message)
REMOVE_TEXT = "remove-text"  # a free-text answer asked again: remove what was written
KEEP_TEXT = "keep-text"  # ... or, asked to confirm the removal, keep it after all

EndReason = Literal[
    "submitted",
    "declined",
    "not-safe",
    "not-eligible",
    "exited",
    "paused",
    "withdrawn",  # a code this node sent: recorded, the account will be removed
    "withdrawal-requested",  # a code it has no record of: recorded for the team to match
    "input-ended",
]

SessionStatus = Literal["active", "paused", "ended"]


class Translator(Protocol):
    """What the engine needs from i18n: gettext over English source strings."""

    language: str

    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _shape(name: str, **parts: object) -> str:
    """A repr that shows shape only. The dataclasses below carry what a person wrote
    (or hashes, option ids and codes that tell it), so their reprs name ids, kinds and
    counts and never a value: a traceback with locals or a stray debug line stays clean.
    """
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in parts.items())})"


@dataclass(frozen=True)
class Answer:
    """One step's answer, with chain-of-custody data captured on receipt.

    `value` is a str for single choice / yes-no (the option id), a tuple of option ids
    for multiple choice, the text for free text, date and place; for multi-message free
    text the parts are kept in `parts` and `value` is them joined by blank lines.
    `sha256` is the hex digest of the canonical UTF-8 answer, `message_ids` the channel's
    message ids that carried it, `files` the ids of encrypted files attached.
    """

    step: str
    status: AnswerStatus
    value: str | tuple[str, ...] | None = None
    parts: tuple[str, ...] = ()
    received_at: datetime | None = None
    sha256: str | None = None
    message_ids: tuple[int, ...] = ()
    files: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        # Spelled out rather than dataclasses.asdict, whose deep copy made saving a
        # session ~10x slower (bench/turns.py).
        return {
            "step": self.step,
            "status": self.status,
            "value": list(self.value) if isinstance(self.value, tuple) else self.value,
            "parts": list(self.parts),
            "received_at": _iso(self.received_at),
            "sha256": self.sha256,
            "message_ids": list(self.message_ids),
            "files": list(self.files),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Answer:
        # Every turn opens every answer of the draft: filled in as Session.evolve fills a
        # copy, since the frozen dataclass's __init__ (a setattr per field) cost twice this.
        value = d.get("value")
        answer = object.__new__(cls)
        answer.__dict__.update(
            step=d["step"],
            status=d["status"],
            value=tuple(value) if isinstance(value, list) else value,
            parts=tuple(d.get("parts", ())),
            received_at=_dt(d.get("received_at")),
            sha256=d.get("sha256"),
            message_ids=tuple(d.get("message_ids", ())),
            files=tuple(d.get("files", ())),
        )
        return answer

    def __repr__(self) -> str:
        return _shape(
            "Answer",
            step=self.step,
            status=self.status,
            parts=len(self.parts),
            message_ids=len(self.message_ids),
            files=len(self.files),
        )


@dataclass(frozen=True)
class ConsentRecord:
    """What the person agreed to, in which words (hash of the consent texts) and when.

    scopes: archive ("yes"/"no"), reports ("yes"/"no"), mechanisms
    ("anonymised"/"named"/"no"), contact ("yes"/"no"), referral ("yes"/"no").
    A skipped optional scope is recorded as "no".
    """

    text_version: str
    language: str
    given_at: datetime
    scopes: dict[str, str]
    affirmed_by_documenter: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "text_version": self.text_version,
            "language": self.language,
            "given_at": _iso(self.given_at),
            "scopes": dict(self.scopes),
            "affirmed_by_documenter": self.affirmed_by_documenter,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ConsentRecord:
        given = _dt(d["given_at"])
        assert given is not None
        return cls(
            text_version=d["text_version"],
            language=d["language"],
            given_at=given,
            scopes=dict(d["scopes"]),
            affirmed_by_documenter=bool(d.get("affirmed_by_documenter", False)),
        )


@dataclass(frozen=True)
class Session:
    """One person's conversation with one flow; the whole state the engine needs.

    `state` is the id of the step waiting for an answer, or an engine state such as
    "resume" or "withdraw-code". `history` lists the steps asked, in order, for /back.
    `pending` holds a multiple-choice selection being toggled with buttons.
    `return_to` is set while changing an answer from the review step.
    `respondent` is an opaque pseudonym; the engine never sees a chat id.
    `nonces` maps each step asked with choices to the nonce its buttons carry; the
    dispatcher sets it (the engine only keeps it), and a button with any other nonce, e.g.
    one from before /exit, is refused.
    """

    respondent: str
    flow: str
    flow_version: str
    language: str
    state: str
    status: SessionStatus = "active"
    answers: dict[str, Answer] = field(default_factory=dict)
    history: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    return_to: str | None = None
    flags: frozenset[str] = frozenset()
    consent: ConsentRecord | None = None
    started_at: datetime | None = None
    updated_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)
    nonces: dict[str, str] = field(default_factory=dict)

    def evolve(self, **changes: Any) -> Session:
        """A copy with `changes` (as dataclasses.replace, which costs ~4x this per call;
        the engine evolves a session about ten times a turn).

        Attributes beyond the fields travel with the copy: storage notes there what a
        session was read from, to append to it (storage/intake/session_blob.py).
        """
        unknown = changes.keys() - _SESSION_FIELDS
        if unknown:
            raise TypeError(f"Session has no field(s) {sorted(unknown)}")
        new = object.__new__(Session)
        state = new.__dict__
        state.update(self.__dict__)
        state.update(changes)
        return new

    def to_dict(self, *, answers: bool = True) -> dict[str, Any]:
        """As plain JSON-able values; `answers=False` leaves the answers out (storage keeps
        them apart, storage/intake/session_blob.py)."""
        found = {
            "respondent": self.respondent,
            "flow": self.flow,
            "flow_version": self.flow_version,
            "language": self.language,
            "state": self.state,
            "status": self.status,
            "history": list(self.history),
            "pending": list(self.pending),
            "return_to": self.return_to,
            "flags": sorted(self.flags),
            "consent": self.consent.to_dict() if self.consent else None,
            "started_at": _iso(self.started_at),
            "updated_at": _iso(self.updated_at),
            "data": dict(self.data),
            "nonces": dict(self.nonces),
        }
        if answers:
            found["answers"] = {k: a.to_dict() for k, a in self.answers.items()}
        return found

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Session:
        return cls(
            respondent=d["respondent"],
            flow=d["flow"],
            flow_version=d["flow_version"],
            language=d["language"],
            state=d["state"],
            status=d.get("status", "active"),
            answers={k: Answer.from_dict(a) for k, a in d.get("answers", {}).items()},
            history=tuple(d.get("history", ())),
            pending=tuple(d.get("pending", ())),
            return_to=d.get("return_to"),
            flags=frozenset(d.get("flags", ())),
            consent=ConsentRecord.from_dict(d["consent"]) if d.get("consent") else None,
            started_at=_dt(d.get("started_at")),
            updated_at=_dt(d.get("updated_at")),
            data=dict(d.get("data", {})),
            nonces={str(k): str(v) for k, v in d.get("nonces", {}).items()},
        )

    def __repr__(self) -> str:
        return _shape(
            "Session",
            flow=self.flow,
            flow_version=self.flow_version,
            state=self.state,
            status=self.status,
            answers=len(self.answers),
            history=len(self.history),
            pending=len(self.pending),
            consent=self.consent is not None,
        )


InboundKind = Literal["start", "text", "choice", "command", "media"]


_SESSION_FIELDS = frozenset(f.name for f in fields(Session))


@dataclass(frozen=True)
class MediaRef:
    """A file a channel already hashed and encrypted; the engine only records it."""

    file_id: str  # storage's id for the encrypted file
    kind: str  # "voice", "photo", "document", ...
    sha256: str
    size: int
    mime_type: str | None = None

    def __repr__(self) -> str:
        return _shape("MediaRef", kind=self.kind, mime_type=self.mime_type)


@dataclass(frozen=True)
class Inbound:
    """What a person sent, converted at the channel's edge.

    kind:
      start    a new contact or /start (text may carry a deep-link language such as "ar")
      text     typed text (may still be a number, a label or a bare command word)
      choice   a button press; `choice` is an option id, DONE, DONT_KNOW or PREFER_NOT
      command  /skip, /back, ... ; `command` is the word without the slash
      media    a voice note or file, already encrypted by the channel
    `entropy` is fresh randomness from the caller (the engine has no globals), used for
    reference codes. `message_id` is the channel's id, kept for chain of custody.
    `numbered`: the channel shows each choice with its number (the terminal); False for
    buttons that carry none (Telegram), so a re-prompt asks for a tap, not a number.
    `code_sent`: filled in by the dispatcher for a reference code typed at withdraw-code
    (`Engine.code_to_look_up`): whether this node has a record of sending an account with
    it. None: nobody looked, and the engine never says such a withdrawal is done.
    """

    kind: InboundKind
    text: str = ""
    choice: str | None = None
    command: str | None = None
    media: MediaRef | None = None
    message_id: int | None = None
    entropy: bytes = b""
    language_hint: str | None = None
    numbered: bool = True
    code_sent: bool | None = None

    def __repr__(self) -> str:
        return _shape("Inbound", kind=self.kind, text_chars=len(self.text), media=self.media)


@dataclass(frozen=True)
class Choice:
    """One button / numbered option of an ask."""

    n: int
    value: str
    label: str

    def __repr__(self) -> str:
        # The label can be filled from an answer (a follow-up quoting it).
        return _shape("Choice", n=self.n, value=self.value)


@dataclass(frozen=True)
class Outbound:
    """A channel-neutral message. If `ask` is set, it waits for an answer to that step."""

    text: str
    ask: str | None = None  # step id (or engine state) this message asks
    kind: str | None = None  # step kind of the ask
    choices: tuple[Choice, ...] = ()
    multi: bool = False  # multiple choice: buttons toggle, then DONE
    selected: tuple[str, ...] = ()  # currently toggled option ids (multi)
    allows_media: bool = False
    nonce: str | None = None  # the ask's button nonce (the dispatcher's; Session.nonces)

    def __repr__(self) -> str:
        # The text can quote answers back (follow-ups, the review summary).
        return _shape(
            "Outbound",
            ask=self.ask,
            kind=self.kind,
            text_chars=len(self.text),
            choices=len(self.choices),
            multi=self.multi,
            selected=len(self.selected),
        )


@dataclass(frozen=True)
class AnswerRecord:
    """An answer as it travels inside a sealed account: with the question's source text."""

    step: str
    question: str  # English source text of the question
    kind: str
    status: AnswerStatus
    value: str | tuple[str, ...] | None
    labels: tuple[str, ...]  # English labels for chosen options
    section: str | None
    identifying: bool
    elements: tuple[str, ...]
    received_at: datetime | None
    sha256: str | None
    message_ids: tuple[int, ...]
    files: tuple[str, ...]
    # Documenter mode: where the documenter learnt this (seen, told-by-person,
    # heard-from-others, public-source), from the step with `source_of` this step.
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        extra = {"source": self.source} if self.source else {}
        return {
            **extra,
            "step": self.step,
            "question": self.question,
            "kind": self.kind,
            "status": self.status,
            "value": list(self.value) if isinstance(self.value, tuple) else self.value,
            "labels": list(self.labels),
            "section": self.section,
            "identifying": self.identifying,
            "elements": list(self.elements),
            "received_at": _iso(self.received_at),
            "sha256": self.sha256,
            "message_ids": list(self.message_ids),
            "files": list(self.files),
        }

    def __repr__(self) -> str:
        return _shape(
            "AnswerRecord",
            step=self.step,
            kind=self.kind,
            status=self.status,
            section=self.section,
            files=len(self.files),
        )


@dataclass(frozen=True)
class FinishedAccount:
    """A submitted interview, ready for storage to seal. Never stored in plaintext."""

    flow: str
    flow_version: str
    language: str
    mode: str  # "survivor" or "documenter"
    urgent: bool
    consent: ConsentRecord
    answers: tuple[AnswerRecord, ...]
    reference_code: str
    started_at: datetime | None
    submitted_at: datetime
    # The pseudonym of the documenter who recorded it (documenter mode), else None.
    documenter: str | None = None

    def body(self) -> dict[str, Any]:
        """The JSON body storage seals (everything a reviewer reads)."""
        extra = {"documenter": self.documenter} if self.documenter else {}
        return {
            **extra,
            "flow": self.flow,
            "flow_version": self.flow_version,
            "language": self.language,
            "mode": self.mode,
            "urgent": self.urgent,
            "consent": self.consent.to_dict(),
            "answers": [a.to_dict() for a in self.answers],
            "started_at": _iso(self.started_at),
            "submitted_at": _iso(self.submitted_at),
        }

    def __repr__(self) -> str:
        return _shape(
            "FinishedAccount",
            flow=self.flow,
            flow_version=self.flow_version,
            mode=self.mode,
            answers=len(self.answers),
        )


@dataclass(frozen=True)
class EraseChat:
    """Ask the channel to delete every message of the conversation it still can."""


@dataclass(frozen=True)
class ShredDraft:
    """Ask storage to destroy the draft (its wrapped data key) now."""


@dataclass(frozen=True)
class RecordWithdrawal:
    """Ask storage to record a withdrawal request for this reference code."""

    reference_code: str

    def __repr__(self) -> str:
        return "RecordWithdrawal(reference_code=...)"


Effect = EraseChat | ShredDraft | RecordWithdrawal


@dataclass(frozen=True)
class Turn:
    """What one inbound event produced. `session` is None when nothing is to be kept."""

    session: Session | None
    messages: tuple[Outbound, ...]
    account: FinishedAccount | None = None
    effects: tuple[Effect, ...] = ()
    end: EndReason | None = None
    reference: str | None = None

    def __repr__(self) -> str:
        return _shape(
            "Turn",
            session=self.session,
            messages=self.messages,
            account=self.account,
            effects=self.effects,
            end=self.end,
            reference=self.reference is not None,
        )
