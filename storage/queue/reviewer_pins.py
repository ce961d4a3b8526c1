"""The reviewer keys a reviewer trusts to sign, pinned in a file on their own machine.

Kept like node pins (`storage.queue.node_pins`): never in the queue, owner-only, written
atomically. The file (`ATTEST_TRUSTED_REVIEWERS`, default
DATA_DIR/trusted-reviewers.json) holds each pinned public key file whole:

    {"reviewers": {"<fingerprint>": {"key": {reviewer.pub document}, "pinned_at": "..."}}}

An entry is used only when its key parses and hashes to the fingerprint it is filed
under; anything else in the file is ignored, not trusted. Only version 2 keys (which
carry a signing key) can be pinned: a version 1 key signs nothing.

A demo reviewer key (the first run's, passphrase `demo`, on the node's disk) is refused,
except with `demo_recovery`: then its entry says `"demo_recovery": true`, and it is
returned only by `load_demo`, never by `load`. Its one use is to let a reviewer open
accounts that were sealed to the demo key alone, resealed with it; its signature proves
nothing about who made a reseal, so what it opens is marked, its audit entries are
reported apart, and it counts nowhere a trusted reviewer's signature is needed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from storage.crypto import CryptoError
from storage.crypto.keyfiles import PRIVATE_FILE_MODE, replace_file
from storage.errors import N_
from storage.queue.node_pins import PinError

PINS_FILE = "trusted-reviewers.json"

if TYPE_CHECKING:
    from storage.crypto import ReviewerPublicKey


def reviewer_pins_path_from_env(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    configured = env.get("ATTEST_TRUSTED_REVIEWERS")
    if configured:
        return Path(configured).expanduser()
    return Path(env.get("ATTEST_DATA_DIR", "attest-data")).expanduser() / PINS_FILE


class ReviewerPins:
    """The pinned reviewer keys in one file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _document(self) -> dict[str, dict[str, object]]:
        try:
            document = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError:
            raise PinError(N_("The trusted reviewers file is damaged (not valid JSON).")) from None
        reviewers = document.get("reviewers", {}) if isinstance(document, dict) else {}
        return dict(reviewers) if isinstance(reviewers, dict) else {}

    def _usable(self, *, demo: bool) -> dict[str, ReviewerPublicKey]:
        pinned: dict[str, ReviewerPublicKey] = {}
        for fingerprint, entry in self._document().items():
            document = entry.get("key") if isinstance(entry, dict) else None
            if not isinstance(document, dict):
                continue
            try:
                from storage.crypto import ReviewerPublicKey

                key = ReviewerPublicKey.from_dict(document)
            except CryptoError:
                continue
            if key.fingerprint != fingerprint or key.signing_key is None:
                continue
            marked = isinstance(entry, dict) and entry.get("demo_recovery") is True
            # A demo key only when asked for demo pins and marked as one; never otherwise.
            if key.demo == demo and marked == demo:
                pinned[fingerprint] = key
        return pinned

    def load(self) -> dict[str, ReviewerPublicKey]:
        """Fingerprint -> public key (with its signing key) of every trusted reviewer pin.

        Never a demo key, even one pinned for recovery (`load_demo`).
        """
        return self._usable(demo=False)

    def load_demo(self) -> dict[str, ReviewerPublicKey]:
        """Demo keys pinned with `demo_recovery`: accepted on reseals only, and marked."""
        return self._usable(demo=True)

    def demo_fingerprints(self) -> set[str]:
        """The fingerprints of demo keys pinned for recovery, read without `cryptography`.

        For marking a listing only; opening an account checks the key (`load_demo`).
        """
        return {
            fingerprint
            for fingerprint, entry in self._document().items()
            if isinstance(entry, dict) and entry.get("demo_recovery") is True
        }

    def unpin(self, fingerprint: str) -> str:
        """Stop trusting the pin whose fingerprint is (or starts with, 8+ characters) this."""
        reviewers = self._document()
        wanted = fingerprint.strip().lower()
        found = [fp for fp in reviewers if len(wanted) >= 8 and fp.lower().startswith(wanted)]
        if len(found) != 1:
            raise PinError(
                N_("No reviewer key you trust has that fingerprint (give at least 8 characters).")
                if not found
                else N_("More than one trusted reviewer key starts with that; give more of it.")
            )
        del reviewers[found[0]]
        replace_file(
            self.path,
            json.dumps({"reviewers": reviewers}, indent=1, sort_keys=True).encode(),
            PRIVATE_FILE_MODE,
        )
        return found[0]

    def pin(self, key: ReviewerPublicKey, *, demo_recovery: bool = False) -> str:
        """Trust this reviewer's signatures from now on; its fingerprint.

        A demo key only with `demo_recovery` (and only a demo key with it): see the module.
        """
        if key.signing_key is None:
            raise PinError(
                N_(
                    "This reviewer key is of the old kind and cannot sign, so there is nothing "
                    "to trust it for. Ask its owner to run 'attest keys upgrade' and send the "
                    "new reviewer.pub."
                )
            )
        if key.demo and not demo_recovery:
            raise PinError(
                N_(
                    "This is a demo reviewer key; it cannot be trusted. Only to open accounts "
                    "that were sealed to the demo key alone and resealed with it, pin it with "
                    "--demo-recovery."
                )
            )
        if demo_recovery and not key.demo:
            raise PinError(N_("This is not a demo reviewer key: pin it without --demo-recovery."))
        document = {"reviewers": self._document()}
        entry: dict[str, object] = {
            "key": key.to_dict(),
            "pinned_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if demo_recovery:
            entry["demo_recovery"] = True
        document["reviewers"][key.fingerprint] = entry
        replace_file(
            self.path, json.dumps(document, indent=1, sort_keys=True).encode(), PRIVATE_FILE_MODE
        )
        return key.fingerprint
