"""The node signing keys a reviewer trusts, pinned in a file on the reviewer's machine.

Pins never live in the queue: whoever can write the queue could otherwise add their own
node. The file (`ATTEST_TRUSTED_NODES`, default DATA_DIR/trusted-nodes.json) is JSON:

    {"nodes": {"<fingerprint>": {"public_key": "<base64 raw Ed25519>", "pinned_at": "...",
                                 "untrusted_after": "<ISO time>" | "always" (optional),
                                 "via": "<fingerprint it rotated from>" (optional)}}}

`attest keys untrust-node FP [--after TIME]` sets `untrusted_after`: "always" takes the
key out of the trusted set; a time keeps it for accounts the queue received (its own
`received` audit entry, see `storage.queue.untrust`) up to then. A key that rotated from
a pinned one (`storage.crypto.rotation`) is pinned when its certificate verifies
(`follow_rotations`), unless the old key was untrusted.

A node is pinned from its public key (the line `attest keys node` prints, or a file with
it), or by its full fingerprint when sync has already recorded that node's public key in
the queue. The queue's row is not trusted for sitting under that fingerprint: the key is
hashed, and pinned only when its fingerprint is exactly the one typed (no prefixes: a
prefix would let whoever writes the queue pick which key answers it).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.crypto.digests import FINGERPRINT_CHARS, fingerprint_of
from storage.crypto.keyfiles import PRIVATE_FILE_MODE, replace_file
from storage.errors import N_, StorageError

PINS_FILE = "trusted-nodes.json"
ALWAYS = "always"

if TYPE_CHECKING:
    from storage.crypto.rotation import Rotation


class PinError(StorageError):
    """A node key could not be pinned; the message says what to give instead."""


def pins_path_from_env(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    configured = env.get("ATTEST_TRUSTED_NODES")
    if configured:
        return Path(configured).expanduser()
    return Path(env.get("ATTEST_DATA_DIR", "attest-data")).expanduser() / PINS_FILE


def parse_node_public_key(text: str) -> bytes:
    """A raw Ed25519 public key from base64 text, JSON with "public_key", or `attest keys node` output."""
    candidates = [text.strip()]
    try:
        document = json.loads(text)
        if isinstance(document, dict) and isinstance(document.get("public_key"), str):
            candidates.insert(0, document["public_key"])
    except ValueError:
        pass
    # The line `attest keys node` prints ends with the key.
    candidates += [line.rsplit(" ", 1)[-1] for line in text.splitlines() if line.strip()]
    for candidate in candidates:
        try:
            raw = base64.b64decode(candidate.strip(), validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) == 32:
            return raw
    raise PinError(
        N_(
            "That is not a node public key. Give the file with the key that "
            "`attest keys node` prints on the node, or the node's fingerprint."
        )
    )


def full_fingerprint(text: str) -> str:
    """A node fingerprint as typed (spaces, case ignored), if it is a whole one; PinError if not."""
    fingerprint = "".join(text.split()).lower()
    hexadecimal = all(c in "0123456789abcdef" for c in fingerprint)
    if hexadecimal and len(fingerprint) > FINGERPRINT_CHARS:
        raise PinError(
            N_(
                "That fingerprint is too long: a node's fingerprint has 32 characters (as "
                "`attest keys node` prints it on the node). Check it for a character typed "
                "twice or copied with it."
            )
        )
    if len(fingerprint) != FINGERPRINT_CHARS or not hexadecimal:
        raise PinError(
            N_(
                "Give the node's whole fingerprint (32 characters, as `attest keys node` prints "
                "it on the node), not a part of it."
            )
        )
    return fingerprint


def close_fingerprints(typed: str, synced: Iterable[str], most: int = 2) -> list[str]:
    """The synced fingerprints at most `most` characters away from `typed` (a typo)."""

    def distance(a: str, b: str) -> int:  # Levenshtein, row by row
        row = list(range(len(b) + 1))
        for i, ca in enumerate(a, 1):
            previous, row[0] = row[0], i
            for j, cb in enumerate(b, 1):
                previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
        return row[-1]

    return sorted(f for f in synced if distance(typed, f) <= most)


def replaced_node_keys(
    pinned: Mapping[str, bytes], rows: Iterable[tuple[str, bytes]]
) -> list[tuple[str, str]]:
    """(pinned fingerprint, what the queue's key hashes to) for each pinned node whose row
    in the queue holds another key.

    The column a row sits in proves nothing: each stored key is hashed. A key always
    hashes to its own fingerprint, so a row under a pinned fingerprint holding a key that
    does not was changed by someone who can write the queue (sync and import refuse such
    rows, and on PostgreSQL a CHECK does). The pin still protects: accounts signed by the
    planted key are refused; this is for telling the reviewer.
    """
    found: set[tuple[str, str]] = set()
    for fingerprint, key in rows:
        if fingerprint not in pinned:
            continue
        actual = fingerprint_of(key)
        if actual != fingerprint or key != pinned[fingerprint]:
            found.add((fingerprint, actual))
    return sorted(found)


class NodePins:
    """The pinned node keys in one file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, bytes]:
        """Fingerprint -> raw public key, for `open_account`'s trusted_nodes."""
        try:
            document = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError:
            raise PinError(N_("The trusted nodes file is damaged (not valid JSON).")) from None
        pinned: dict[str, bytes] = {}
        for fingerprint, entry in dict(document.get("nodes", {})).items():
            if entry.get("untrusted_after") == ALWAYS:
                continue  # untrusted for every account
            key = base64.b64decode(entry["public_key"])
            # A hand-edited entry whose key does not match its name is ignored, not trusted.
            if fingerprint_of(key) == fingerprint:
                pinned[fingerprint] = key
        return pinned

    def _document(self) -> dict[str, Any]:
        try:
            document = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {"nodes": {}}
        except ValueError:
            raise PinError(N_("The trusted nodes file is damaged (not valid JSON).")) from None
        if not isinstance(document, dict) or not isinstance(document.get("nodes", {}), dict):
            raise PinError(N_("The trusted nodes file is damaged (not valid JSON)."))
        document.setdefault("nodes", {})
        return document

    def _write(self, document: dict[str, Any]) -> None:
        # Owner-only, written atomically: another local user must not add a pin.
        replace_file(
            self.path, json.dumps(document, indent=1, sort_keys=True).encode(), PRIVATE_FILE_MODE
        )

    def cutoffs(self) -> dict[str, datetime]:
        """Pinned keys untrusted after a time: fingerprint -> that time (UTC)."""
        found: dict[str, datetime] = {}
        for fingerprint, entry in self._document()["nodes"].items():
            after = entry.get("untrusted_after") if isinstance(entry, dict) else None
            if isinstance(after, str) and after != ALWAYS:
                try:
                    found[fingerprint] = datetime.fromisoformat(after).astimezone(UTC)
                except ValueError:
                    continue
        return found

    def untrusted(self) -> set[str]:
        """Fingerprints untrusted at any time (never followed through a rotation)."""
        return {
            fingerprint
            for fingerprint, entry in self._document()["nodes"].items()
            if isinstance(entry, dict) and entry.get("untrusted_after")
        }

    def untrust(self, fingerprint: str, after: datetime | None) -> None:
        """Refuse accounts from this pinned key (all, or those received after `after`)."""
        document = self._document()
        entry = document["nodes"].get(fingerprint)
        if not isinstance(entry, dict):
            raise PinError(N_("That node key is not pinned here, so there is nothing to untrust."))
        entry["untrusted_after"] = (
            ALWAYS if after is None else after.astimezone(UTC).isoformat(timespec="seconds")
        )
        self._write(document)

    def may_follow(self, rotations: Iterable[tuple[bytes, bytes]]) -> bool:
        """Whether `follow_rotations` could pin a new key from these (old key, new key) pairs.

        The same conditions without checking a certificate (that needs `cryptography`):
        True sends a listing down the full path, which checks them and pins.
        """
        nodes = self._document()["nodes"]
        for old_key, new_key in rotations:
            entry = nodes.get(fingerprint_of(old_key))
            if fingerprint_of(new_key) in nodes or not isinstance(entry, dict):
                continue
            if entry.get("untrusted_after"):
                continue
            if base64.b64decode(str(entry.get("public_key", ""))) == old_key:
                return True
        return False

    def follow_rotations(self, rotations: Sequence[Rotation]) -> list[str]:
        """Pin every key a trusted, never-untrusted pinned key certified; the new fingerprints."""
        added: list[str] = []
        document = self._document()
        nodes = document["nodes"]
        changed = True
        while changed:
            changed = False
            trusted = {
                fp: entry
                for fp, entry in nodes.items()
                if isinstance(entry, dict) and not entry.get("untrusted_after")
            }
            for rotation in rotations:
                old, new = rotation.old_fingerprint, rotation.new_fingerprint
                entry = trusted.get(old)
                if new in nodes or entry is None:
                    continue
                pinned_key = base64.b64decode(str(entry.get("public_key", "")))
                if pinned_key != rotation.old_key or not rotation.verifies():
                    continue
                nodes[new] = {
                    "public_key": base64.b64encode(rotation.new_key).decode("ascii"),
                    "pinned_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "via": old,
                }
                added.append(new)
                changed = True
        if added:
            self._write(document)
        return added

    def pin(self, public_key: bytes, expected: str | None = None) -> str:
        """Trust this node key from now on; its fingerprint.

        With `expected` (the fingerprint a person typed), the key is pinned only if it
        hashes to exactly that fingerprint.
        """
        if len(public_key) != 32:
            raise PinError(N_("A node public key is 32 bytes; this one is not."))
        fingerprint = fingerprint_of(public_key)
        if expected is not None and fingerprint != expected:
            raise PinError(
                N_(
                    "The key the queue holds for that fingerprint is a different key: "
                    "someone who can write the queue may have planted it. Nothing was "
                    "pinned. Pin the node from its public key file instead, and tell your "
                    "administrator."
                )
            )
        try:
            document = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            document = {"nodes": {}}
        document.setdefault("nodes", {})[fingerprint] = {
            "public_key": base64.b64encode(public_key).decode("ascii"),
            "pinned_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        # Owner-only, written atomically: another local user must not add a pin.
        replace_file(
            self.path, json.dumps(document, indent=1, sort_keys=True).encode(), PRIVATE_FILE_MODE
        )
        return fingerprint
