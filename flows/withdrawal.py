"""Reading a reference code at withdraw-code: say "recorded" only when it can be.

A person who withdraws may be in danger, and believes what they are told; a mistyped
code that matches nothing must never be answered "your request is recorded, the team
will remove it". So, for what the person typed:

- not a code at all, or a code with a slip its check character shows: said so at once,
  asked again, nothing recorded;
- a code this node sent an account with (the dispatcher looked it up first:
  `code_to_look_up`, then `Inbound.code_sent`): recorded, "the team will remove it";
- a code this node has no record of: it may be mistyped (codes from before the check
  character cannot be checked), or the account was given elsewhere (another node of the
  deployment, a store set up again). Refused once, kindly, saying how to check it; the
  same code sent again is recorded, with words that say the team will try to match it,
  never that the account is withdrawn.
"""

from __future__ import annotations

import hashlib

from flows.i18n import N_
from flows.parse import read_command
from flows.reference import read_code
from flows.sprint import Sprint
from flows.types import EndReason, Inbound, RecordWithdrawal, Session, Translator

# Session data: a mark of the code last refused as unmatched (never the code itself).
UNMATCHED = "withdraw_unmatched"


def _mark(code: str) -> str:
    """A short digest of a code, kept in the (encrypted) draft between two tries."""
    return hashlib.sha256(b"attest-unmatched-code\x00" + code.encode()).hexdigest()[:16]


def code_to_look_up(session: Session, inbound: Inbound, translator: Translator) -> str | None:
    """The code whose look-up this turn needs (its canonical form), or None.

    Only at withdraw-code, for typed text that is a well-formed code, and not when the
    person sends again a code already refused as unmatched (that is their confirmation).
    """
    if session.state != "withdraw-code" or session.status == "ended" or inbound.kind != "text":
        return None
    if read_command(inbound, translator) is not None:
        return None
    reading = read_code(inbound.text)
    if reading.code is None or session.data.get(UNMATCHED) == _mark(reading.code):
        return None
    return reading.code


def answer_code(s: Sprint) -> None:
    """What the person typed at withdraw-code (see the module's docstring)."""
    _ = s._
    reading = read_code(s.inbound.text) if s.inbound.kind == "text" else None
    if reading is None or reading.kind == "none":
        s.say_t(
            _(
                "That doesn't look like a reference code. A code has 11 letters and numbers, "
                "like K7QM-4TXA-9XP (older codes have 10). Please try again, or send "
                "/back. If you no longer have the code, you can write to {org_contact}."
            )
        )
        s.reask()
        return
    if reading.code is None:
        s.say_t(
            _(
                "This code seems to have a typing slip: a letter or number may be different, "
                "or two may be swapped. That happens easily. Please compare it with the code "
                "you were given and send it again. Nothing has been withdrawn yet. If you "
                "can't find the slip, you can write to {org_contact} and the team can help."
            )
        )
        s.reask()
        return
    code = reading.code
    if s.inbound.code_sent:
        _record(
            s,
            code,
            "withdrawn",
            _(
                "Your request to withdraw the account {reference} is recorded, and the team "
                "will remove it. If it was already shared with investigators or a court, they "
                "may not be able to take it back."
            ),
        )
    elif s.data.get(UNMATCHED) == _mark(code):
        _record(
            s,
            code,
            "withdrawal-requested",
            _(
                "Your request to withdraw the account {reference} is recorded. This service "
                "has no record of that code, so the team will look for an account it matches "
                "and remove it if they find one. If it was already shared with investigators "
                "or a court, they may not be able to take it back. To know whether it was "
                "found, you can write to {org_contact}."
            ),
        )
    else:
        s.set_data(**{UNMATCHED: _mark(code)})
        s.say_t(
            _(
                "We couldn't find an account sent with the code {reference}. A letter or "
                "number may be different: please check it and send it again. Nothing has "
                "been withdrawn yet. If you are sure the code is right (for example, someone "
                "recorded your account with you, or it was sent from another device), send the "
                "same code once more and we will pass your request to the team. You can also "
                "write to {org_contact}."
            ),
            reference=code,
        )
        s.reask()


# Also read by the dispatcher, which says it beside its own text for an unsent account.
UNFINISHED_DELETED = N_("The unfinished answers of this conversation have been deleted as well.")


def _record(s: Sprint, code: str, reason: EndReason, text: str) -> None:
    """Record the withdrawal request and end the conversation, saying what will happen.

    `reason` is "withdrawn" for a code this node sent, "withdrawal-requested" for one it
    has no record of (the console's end event tells them apart).
    """
    s.effects.append(RecordWithdrawal(code))
    language = s.flow.language_step
    if any(language is None or step != language.id for step in s.session.answers):
        # Withdrawing ends this conversation too; say so when it had answers (the choice
        # of language alone is not one, as /withdraw does not ask before deleting it).
        text += "\n\n" + s._(UNFINISHED_DELETED)
    s.close(reason, s.r.fill(text, s.session, {"reference": code}))
