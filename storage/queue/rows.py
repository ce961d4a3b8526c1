"""How a sealed account becomes a queue row, and how to check a row against its signature.

The queue's plaintext columns (flow, language, channel, urgent, consent scopes, times,
withdrawal hash) are copies of the node-signed metadata so the queue can sort and filter
without opening anything. They are not themselves signed, so `metadata_mismatches` compares
them with the verified metadata before a reviewer relies on them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from storage.crypto.digests import withdrawal_hash
from storage.queue.items import QueueItem

if TYPE_CHECKING:
    from storage.crypto import SealedAccount


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def scopes_json(scopes: object) -> str:
    return json.dumps(scopes if isinstance(scopes, dict) else {}, sort_keys=True)


def queue_row(sealed: SealedAccount, received_at: datetime | None) -> dict[str, Any]:
    """The columns the node inserts for one account (exactly NODE_ACCOUNT_COLUMNS)."""
    meta = sealed.metadata
    hashed = meta.get("withdrawal_hash")
    clear = meta.get("withdrawal_tag")
    if hashed is None and isinstance(clear, str):
        # Sealed before 0003 and sent knowingly (`--send-old-format`): the clear tag is
        # the secret, so its hash is what a request will match.
        hashed = withdrawal_hash(clear)
    return {
        "id": sealed.account_id,
        "received_at": received_at,
        "submitted_at": _time(meta.get("submitted_at")),
        "flow": str(meta.get("flow"))[:64] if meta.get("flow") is not None else None,
        "language": str(meta.get("language"))[:16] if meta.get("language") is not None else None,
        "channel": str(meta.get("channel"))[:32] if meta.get("channel") is not None else None,
        "urgent": meta.get("urgent") is True,
        "scopes": scopes_json(meta.get("scopes")),
        "mode": "documenter" if meta.get("mode") == "documenter" else "survivor",
        "documenter": str(meta["documenter"])[:32] if meta.get("documenter") else None,
        "withdrawal_hash": hashed if isinstance(hashed, str) else None,
        "node_fingerprint": sealed.node_fingerprint,
        "sealed": json.dumps(sealed.to_dict(), sort_keys=True),
    }


def carries_clear_tag(sealed: SealedAccount) -> bool:
    """Whether the account was sealed before withdrawal secrets were hashed (old format).

    Its signed metadata holds the clear withdrawal tag, which is the withdrawal secret:
    stored in the queue, it would let anyone who reads the queue withdraw the account. It
    cannot be taken out without breaking the signature, so such an account is refused.
    """
    return "withdrawal_tag" in sealed.metadata


def metadata_mismatches(item: QueueItem, sealed: SealedAccount) -> list[str]:
    """Names of plaintext columns that differ from the signed metadata (empty when all agree)."""
    expected = queue_row(sealed, item.received_at)
    shown = {
        "id": item.account_id,
        "submitted_at": item.submitted_at,
        "flow": item.flow,
        "language": item.language,
        "channel": item.channel,
        "urgent": item.urgent,
        "scopes": scopes_json(item.scopes),
        "mode": item.mode,
        "documenter": item.documenter,
        "node_fingerprint": item.node_fingerprint,
    }
    return [name for name, value in shown.items() if value != expected[name]]
