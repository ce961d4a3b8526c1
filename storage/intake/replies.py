"""A turn's reply, saved encrypted with the turn until the channel has sent it.

If the process dies after a turn is committed and before its reply went out, the channel
gets the update again (Telegram redelivers what was not acknowledged). The store then
still holds the reply in that update's `processed_updates` row, and the dispatcher sends
it again instead of ignoring the update; once it has been sent, the row's reply is
cleared in the same write that keeps the sent message ids.

`processed_updates.reply` holds `len(wrapped) (2 bytes) || wrapped key || value`: a fresh
data key per reply, wrapped by the node master key, both bound by AAD to the respondent
and the update key. Not the draft's key: the last turn shreds the draft, and its reply
is the one that carries the reference code. The value is a small JSON object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from flows.types import Choice, EndReason, Outbound, Session
from storage.crypto import decrypt_value, encrypt_value, new_data_key, unwrap_key, wrap_key
from storage.errors import CorruptDraft, StorageError
from storage.intake.outbox import WithdrawalOutcome

FORMAT = 1


@dataclass(frozen=True)
class PendingReply:
    """What the dispatcher needs to give the channel the same reply again.

    `messages` are the engine's; `notes` are the dispatcher's own untranslated texts
    (msgids) shown before them; `withdrawals` the store's outcomes for the turn's
    withdrawal requests (filled in by the store), `withdrawal_code` the code they were
    for. `updated_at` is the session's after the turn, None when the turn ended it: the
    reply is still worth sending only while the draft is the one the turn left.

    A reply that never reached the person (Telegram refused it, or could not be reached
    for longer than the retries) is *owed*: `load_turn` hands it out with the person's
    next update, `owed_from` naming the update it was kept for, and the dispatcher sends
    it instead of reading that message as the answer to a question never seen.
    `offered_again` marks a reply already handed out that way once: it is not owed twice.
    """

    messages: tuple[Outbound, ...]
    language: str
    end: EndReason | None = None
    erase_chat: bool = False
    updated_at: datetime | None = None
    reference: str | None = None
    notes: tuple[str, ...] = ()
    withdrawals: tuple[WithdrawalOutcome, ...] = ()
    withdrawal_code: str | None = None
    offered_again: bool = False
    owed_from: str | None = None  # set by the store only; not part of the saved reply

    def is_current(self, session: Session | None) -> bool:
        """Whether the person's draft is still where this reply left it.

        Either the draft is unchanged since (same `updated_at`), or the reply ended the
        interview and no new draft has been started since.
        """
        if self.updated_at is None:
            return self.end is not None and session is None
        return session is not None and session.updated_at == self.updated_at

    @property
    def says_something(self) -> bool:
        """False for a turn that has nothing to send (then nothing is kept)."""
        return bool(self.messages or self.notes or self.erase_chat or self.withdrawal_code)

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": FORMAT,
            "messages": [_message(m) for m in self.messages],
            "language": self.language,
            "end": self.end,
            "erase_chat": self.erase_chat,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "reference": self.reference,
            "notes": list(self.notes),
            "withdrawals": list(self.withdrawals),
            "withdrawal_code": self.withdrawal_code,
            "again": self.offered_again,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PendingReply:
        if d.get("v") != FORMAT:
            raise ValueError("unknown pending reply format")
        updated_at = d.get("updated_at")
        return cls(
            messages=tuple(_outbound(m) for m in d["messages"]),
            language=str(d["language"]),
            end=cast("EndReason | None", d.get("end")),
            erase_chat=bool(d.get("erase_chat")),
            updated_at=datetime.fromisoformat(updated_at) if updated_at else None,
            reference=d.get("reference"),
            notes=tuple(str(n) for n in d.get("notes", ())),
            withdrawals=tuple(cast("WithdrawalOutcome", w) for w in d.get("withdrawals", ())),
            withdrawal_code=d.get("withdrawal_code"),
            offered_again=bool(d.get("again", False)),
        )

    def __repr__(self) -> str:
        # The texts can quote answers, and the codes open a withdrawal: shape only.
        return (
            f"PendingReply(messages={len(self.messages)}, language={self.language!r}, "
            f"end={self.end!r}, erase_chat={self.erase_chat}, notes={len(self.notes)}, "
            f"withdrawals={self.withdrawals!r}, offered_again={self.offered_again}, "
            f"owed={self.owed_from is not None})"
        )


def _message(m: Outbound) -> dict[str, Any]:
    d: dict[str, Any] = {"text": m.text}
    if m.ask is not None:
        d["ask"] = m.ask
    if m.kind is not None:
        d["kind"] = m.kind
    if m.choices:
        d["choices"] = [[c.n, c.value, c.label] for c in m.choices]
    if m.multi:
        d["multi"] = True
    if m.selected:
        d["selected"] = list(m.selected)
    if m.allows_media:
        d["allows_media"] = True
    if m.nonce is not None:
        d["nonce"] = m.nonce
    return d


def _outbound(d: dict[str, Any]) -> Outbound:
    return Outbound(
        text=str(d["text"]),
        ask=d.get("ask"),
        kind=d.get("kind"),
        choices=tuple(Choice(int(n), str(v), str(label)) for n, v, label in d.get("choices", ())),
        multi=bool(d.get("multi", False)),
        selected=tuple(str(s) for s in d.get("selected", ())),
        allows_media=bool(d.get("allows_media", False)),
        nonce=str(d["nonce"]) if d.get("nonce") is not None else None,
    )


def _aad(respondent: str, update_key: str, part: str) -> bytes:
    # The update key is free text: its length is spelled out so no two pairs collide.
    return f"processed_updates|{respondent}|{len(update_key)}:{update_key}|{part}".encode()


def encrypt_reply(master: bytes, respondent: str, update_key: str, reply: PendingReply) -> bytes:
    """The stored form of `reply` for the row of `update_key`."""
    key = new_data_key()
    wrapped = wrap_key(master, key, _aad(respondent, update_key, "wrapped_key"))
    plain = json.dumps(reply.to_dict(), separators=(",", ":"), ensure_ascii=False).encode()
    value = encrypt_value(key, plain, _aad(respondent, update_key, "reply"))
    return len(wrapped).to_bytes(2, "big") + wrapped + value


def decrypt_reply(master: bytes, respondent: str, update_key: str, blob: bytes) -> PendingReply:
    """The reply kept for `update_key`; CorruptDraft when damaged or not this person's."""
    try:
        size = int.from_bytes(blob[:2], "big")
        wrapped, value = blob[2 : 2 + size], blob[2 + size :]
        key = unwrap_key(master, wrapped, _aad(respondent, update_key, "wrapped_key"))
        plain = decrypt_value(key, value, _aad(respondent, update_key, "reply"))
        return PendingReply.from_dict(json.loads(plain))
    except (StorageError, ValueError, KeyError, TypeError, AttributeError):
        raise CorruptDraft() from None
