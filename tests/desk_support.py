"""A running reviewer desk for tests: a queue with accounts, a key on disk, a pinned node.

`running_desk` starts the real application under uvicorn on 127.0.0.1 in a thread (the
same ASGI app `attest desk` serves) and stops it after the test. The accounts: one in
Arabic with skipped, "I don't know" and "prefer not to say" answers, one urgent, one with
a voice note, and two that consented to nothing beyond the archive.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvicorn

from flows.account import answer_sha256
from review.desk.app import Desk, asgi
from storage.crypto import NodeKeys, seal_account, withdrawal_hash
from storage.queue.node_pins import NodePins
from storage.sync import OutgoingAccount
from tests.queue_support import (
    FULL_SCOPES,
    PASSPHRASE,
    T0,
    make_account,
    put_accounts,
    reviewer,
    save_reviewer,
)

RECALL = (
    "Take your time. In your own words, what happened? Start wherever you like. Small details can help. "
    "Share only what you want to. You can write it in several messages."
)
HARMS = (
    "Which of these happened to you, or were forced on you? Choose all that apply. For "
    "sexual violence, choosing it is enough: you don't need to say more."
)
ARABIC_STORY = "أغلقوا مدرسة البنات في حيّنا واعتقلوا المعلمة."
VOICE = b"OggS fake voice note " * 2000


def _answer(
    step: str, question: str, value: Any, status: str = "answered", **extra: Any
) -> dict[str, Any]:
    return {
        "step": step,
        "question": question,
        "kind": extra.pop("kind", "free-text"),
        "status": status,
        "value": value,
        "labels": extra.pop("labels", []),
        "section": "account",
        "identifying": extra.pop("identifying", False),
        "elements": ["E1"],
        "received_at": T0.isoformat(),
        "sha256": None
        if value is None
        else answer_sha256(tuple(value) if isinstance(value, list) else value),
        "message_ids": [7],
        "files": [],
    }


def arabic_account(node: NodeKeys, scopes: dict[str, str] | None = None) -> OutgoingAccount:
    """An account given in Arabic: a story, a choice, a skip, "I don't know", "prefer not"."""
    scopes = dict(scopes or FULL_SCOPES)
    answers = [
        _answer("recall", RECALL, ARABIC_STORY),
        _answer(
            "harms",
            HARMS,
            ["detention-arrest-abduction"],
            kind="multiple-choice",
            labels=["Detention, arrest or abduction"],
        ),
        _answer("when", "When did this happen?", None, status="dont-know"),
        _answer("where", "Where did it happen?", None, status="skip"),
        _answer("who", "Who did this?", None, status="prefer-not"),
    ]
    submitted = (T0 + timedelta(minutes=30)).isoformat()
    body = {
        "flow": "survivor",
        "flow_version": "1",
        "language": "ar",
        "mode": "survivor",
        "urgent": False,
        "consent": {
            "text_version": "abc123",
            "language": "ar",
            "given_at": T0.isoformat(),
            "scopes": scopes,
            "affirmed_by_documenter": False,
        },
        "answers": answers,
        "started_at": T0.isoformat(),
        "submitted_at": submitted,
        "custody": {"channel": "telegram", "files": []},
    }
    metadata = {
        "flow": "survivor",
        "flow_version": "1",
        "language": "ar",
        "channel": "telegram",
        "urgent": False,
        "scopes": scopes,
        "started_at": T0.isoformat(),
        "submitted_at": submitted,
        "withdrawal_hash": withdrawal_hash(node.withdrawal_secret(secrets.token_hex(6))),
    }
    return OutgoingAccount(seal_account(body, metadata, [reviewer("a").public], node), ())


@dataclass
class RunningDesk:
    url: str
    port: int
    desk: Desk
    queue_url: str
    node: NodeKeys
    env: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(url: str, node: NodeKeys) -> dict[str, str]:
    """The accounts every desk test sees, by role."""
    items = {
        "arabic": arabic_account(node),
        "urgent": make_account(node, [reviewer("a")], urgent=True),
        "voice": make_account(node, [reviewer("a")], attachments=[VOICE]),
        "archive-only-1": make_account(
            node, [reviewer("a")], scopes={"archive": "yes", "reports": "no", "mechanisms": "no"}
        ),
        "archive-only-2": make_account(
            node, [reviewer("a")], scopes={"archive": "yes", "reports": "no", "mechanisms": "no"}
        ),
    }
    for n, (_role, item) in enumerate(items.items()):
        put_accounts(url, node, [item], T0 + timedelta(minutes=n))
    return {role: item.sealed.account_id for role, item in items.items()}


def desk_env(tmp: Path, url: str, node: NodeKeys) -> dict[str, str]:
    key_path = save_reviewer(tmp / "reviewer.key")
    pins = tmp / "trusted-nodes.json"
    NodePins(pins).pin(node.public_key_bytes)
    return {
        "ATTEST_DATA_DIR": str(tmp / "data"),
        "ATTEST_QUEUE_URL": url,
        "ATTEST_REVIEWER_KEY": str(key_path),
        "ATTEST_TRUSTED_NODES": str(pins),
        "ATTEST_AUDIT_WITNESS": str(tmp / "witness.json"),
    }


@dataclass
class Served:
    server: uvicorn.Server
    thread: threading.Thread


def serve(desk: Desk, port: int) -> Served:
    config = uvicorn.Config(
        asgi(desk), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the desk did not start")
        time.sleep(0.02)
    return Served(server, thread)


def stop(served: Served) -> None:
    served.server.should_exit = True
    served.thread.join(timeout=10)


def running_desk(
    tmp: Path, url: str, *, idle_seconds: float = 900, language: str | None = None
) -> Iterator[RunningDesk]:
    node = NodeKeys.generate()
    ids = seed(url, node)
    env = desk_env(tmp, url, node)
    port = free_port()
    desk = Desk(env, port=port, idle_seconds=idle_seconds, language=language)
    served = serve(desk, port)
    try:
        yield RunningDesk(f"http://127.0.0.1:{port}", port, desk, url, node, env, ids)
    finally:
        stop(served)


__all__ = ["PASSPHRASE", "RunningDesk", "running_desk"]
