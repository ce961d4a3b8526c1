"""This machine's record of the audit log's end: the witness file outside the queue.

Nothing inside the database can show that the newest audit entries were cut off or
rewritten consistently (`storage.queue.audit`), so every reviewer's machine keeps the
newest (seq, hash) it saw and checks it on every command. Reading the chain's end is the
caller's (`ChainEnd`): a SQLAlchemy connection (`audit.ChainReader`) or the read-only
listing (`storage.queue.readonly`), which is why this module imports neither.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from storage.crypto.keyfiles import PRIVATE_FILE_MODE, replace_file


class ChainEnd(Protocol):
    """The audit chain's end, as a witness reads it."""

    def head(self) -> tuple[int, str]:
        """The newest entry's (seq, hash), or (0, GENESIS) for an empty log."""
        ...

    def hash_at(self, seq: int) -> str | None:
        """The hash of entry `seq`, None if there is none."""
        ...


class Witness:
    """The newest (seq, hash) this machine saw, per queue, kept in a file outside the queue.

    The file is JSON: {"queues": {queue_id: {"seq": n, "hash": h}}, "places": {where:
    queue_id}}. It only moves forward, and only when the entry it remembered is still in
    the chain unchanged, so evidence of a cut is never overwritten by the cut chain's new
    head. `places` remembers which queue id lived at which URL: replacing a queue's id (to
    look like a queue never seen before) is itself reported.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load_all(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        return {"queues": dict(data.get("queues", {})), "places": dict(data.get("places", {}))}

    def seen(self, queue_id: str) -> tuple[int, str] | None:
        entry = self._load_all()["queues"].get(queue_id)
        if not isinstance(entry, dict):
            return None
        return int(entry["seq"]), str(entry["hash"])

    def same_queue(self, where: str, queue_id: str) -> bool:
        """False when this place held a queue with another id last time (a swapped identity)."""
        known = self._load_all()["places"].get(where)
        return known is None or known == queue_id

    def advance(self, chain: ChainEnd, queue_id: str, where: str) -> bool:
        """Remember the chain's current head; False (file untouched) if what was remembered changed."""
        if not self.same_queue(where, queue_id):
            return False
        seen = self.seen(queue_id)
        if seen is not None and seen[0] > 0 and chain.hash_at(seen[0]) != seen[1]:
            return False
        seq, digest = chain.head()
        data = self._load_all()
        if seen is not None and seq <= seen[0] and data["places"].get(where) == queue_id:
            return True
        if seen is None or seq > seen[0]:
            data["queues"][queue_id] = {"seq": seq, "hash": digest}
        data["places"][where] = queue_id
        # Owner-only: the file says which queues this machine reviews, and where.
        replace_file(
            self.path, json.dumps(data, indent=1, sort_keys=True).encode(), PRIVATE_FILE_MODE
        )
        return True
