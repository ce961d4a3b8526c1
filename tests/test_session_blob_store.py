"""Drafts in segments, through the store: an interview begun before the change ends after it.

An interview whose draft was saved in the earlier form (one blob, the whole session) goes
on and is sent with today's store: the first save writes the segmented form, later
turns append to it, and the sealed account carries every answer, those from before too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import select, update

from flows.deployment import demo_deployment
from flows.engine import Engine
from flows.i18n import translator
from flows.loader import load_flows
from flows.types import DONE, Inbound, Turn
from storage.crypto import NodeKeys, ReviewerPrivateKey, encrypt_value, open_account
from storage.intake import drafts
from storage.intake.rows import sealed_from_row
from storage.intake.session_blob import MAGIC
from storage.intake.store import open_intake_store
from storage.intake.tables import outbox, sessions
from tests.console_driver import PREFERRED
from tests.intake_support import T0, data_dir, database, node, reviewer

__all__ = ["data_dir", "database", "node", "reviewer"]  # fixtures used below

SAID_BEFORE = "Written before the change of storage"
SAID_AFTER = "Written after it"


def reply_to(turn: Turn, text: str) -> Inbound:
    """A cooperative answer to the last question asked."""
    entropy = os.urandom(16)
    ask = [m for m in turn.messages if m.ask][-1]
    values = [c.value for c in ask.choices]
    if not values or ask.kind in ("free-text", "approximate-date", "place"):
        return Inbound(kind="text", text=text, entropy=entropy)
    if ask.multi:
        pending = turn.session.pending if turn.session else ()
        pick = DONE if pending else next(v for v in values if v != DONE)
    else:
        pick = next((v for v in PREFERRED if v in values), values[0])
    return Inbound(kind="choice", choice=pick, entropy=entropy)


async def test_an_interview_saved_in_the_earlier_form_finishes_in_the_new_one(
    database: str | None, node: NodeKeys, reviewer: ReviewerPrivateKey, data_dir: Path
) -> None:
    engine = Engine(load_flows()["survivor"], demo_deployment())
    en = translator("en")
    store = await open_intake_store(database, node, [reviewer.public], data_dir=data_dir)
    try:
        # The first part of the interview, saved as the code before the change saved it.
        turn = engine.handle(engine.new_session("resp-a", T0), Inbound(kind="start"), T0, en)
        while turn.session is not None and len(turn.session.answers) < 12:
            turn = engine.handle(turn.session, reply_to(turn, SAID_BEFORE), T0, en)
        assert turn.session is not None and turn.end is None
        before = turn.session
        await store.commit_turn("resp-a", turn, update_key="u0", channel="t", now=T0)
        with store.engine.begin() as conn:
            (wrapped,) = conn.execute(select(sessions.c.wrapped_key)).one()
            key = drafts.open_draft_key(node.master_key, "resp-a", wrapped)
            legacy = encrypt_value(
                key, json.dumps(before.to_dict()).encode(), b"sessions|resp-a|blob"
            )
            conn.execute(update(sessions).values(blob=legacy))
        del before, turn

        # Today's code takes it from there, turn by turn through the store, to the end.
        reopened = await store.load_session("resp-a")
        assert reopened is not None and len(reopened.answers) == 12
        session = reopened
        turn = engine.handle(session, Inbound(kind="command", command="resume"), T0, en)
        forms = []
        for n in range(1, 200):
            assert await store.commit_turn("resp-a", turn, update_key=f"u{n}", channel="t", now=T0)
            if turn.account is not None or turn.session is None:
                break
            with store.engine.connect() as conn:
                forms.append(bytes(conn.execute(select(sessions.c.blob)).scalar_one()[:4]))
            session = await store.load_session("resp-a")
            assert session == turn.session
            turn = engine.handle(session, reply_to(turn, SAID_AFTER), T0, en)
        assert turn.account is not None and turn.end == "submitted"
        assert forms and all(form == MAGIC for form in forms)

        with store.engine.connect() as conn:
            row = conn.execute(select(outbox)).one()
        body = open_account(
            sealed_from_row(row), reviewer, {node.fingerprint: node.public_key_bytes}
        )
        texts = [a["value"] for a in body["answers"] if isinstance(a["value"], str)]
        assert SAID_BEFORE in texts and SAID_AFTER in texts
    finally:
        await store.close()
