"""The reviewer keys a reviewer trusts to sign, pinned in a file on their own machine.

Kept like node pins (`storage.queue.node_pins`): never in the queue, owner-only, written
atomically. The file (`ATTEST_TRUSTED_REVIEWERS`, default
DATA_DIR/trusted-reviewers.json) holds each pinned public key file whole:

    {"reviewers": {"<fingerprint>": {"key": {reviewer.pub document}, "pinned_at": "..."}}}

An entry is used only when its key parses and hashes to the fingerprint it is filed
under; anything else in the file is ignored, not trusted. Only version 2 keys (which
carry a signing key) can be pinned: a version 1 key signs nothing.
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

    def load(self) -> dict[str, ReviewerPublicKey]:
        """Fingerprint -> public key (with its signing key) of every usable pin."""
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
            if key.fingerprint == fingerprint and key.signing_key is not None and not key.demo:
                pinned[fingerprint] = key
        return pinned

    def pin(self, key: ReviewerPublicKey) -> str:
        """Trust this reviewer's signatures from now on; its fingerprint."""
        if key.signing_key is None:
            raise PinError(
                N_(
                    "This reviewer key is of the old kind and cannot sign, so there is nothing "
                    "to trust it for. Ask its owner to run 'attest keys upgrade' and send the "
                    "new reviewer.pub."
                )
            )
        if key.demo:
            raise PinError(N_("This is a demo reviewer key; it cannot be trusted."))
        document = {"reviewers": self._document()}
        document["reviewers"][key.fingerprint] = {
            "key": key.to_dict(),
            "pinned_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        replace_file(
            self.path, json.dumps(document, indent=1, sort_keys=True).encode(), PRIVATE_FILE_MODE
        )
        return key.fingerprint
