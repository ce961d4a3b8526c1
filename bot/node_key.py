"""The node key as every command opens it: the file, and the passphrase if it is protected.

The passphrase of a protected node key (`attest keys protect-node`) comes from
`ATTEST_NODE_PASSPHRASE`, or from the systemd credential `attest-node-passphrase`
(`LoadCredential=attest-node-passphrase:/etc/attest/node-passphrase` in the unit; systemd
puts it in `$CREDENTIALS_DIRECTORY`, readable by the service alone). The environment
variable wins when both are set. A trailing newline in the credential file is dropped.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from storage.crypto import NodeKeys
from storage.intake.keyring import node_key_path

PASSPHRASE_ENV = "ATTEST_NODE_PASSPHRASE"
CREDENTIAL_NAME = "attest-node-passphrase"


def node_passphrase(env: Mapping[str, str] | None = None) -> str | None:
    """The node key's passphrase from the environment or a systemd credential, or None."""
    env = os.environ if env is None else env
    from_env = env.get(PASSPHRASE_ENV)
    if from_env:
        return from_env
    directory = env.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    path = Path(directory) / CREDENTIAL_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return text.rstrip("\r\n") or None


def load_node_keys(
    data_dir: Path, env: Mapping[str, str] | None = None, *, create: bool = False
) -> NodeKeys:
    """The node's keys (created on first use when `create`); errors from storage.crypto."""
    env = os.environ if env is None else env
    path = node_key_path(data_dir, env)
    passphrase = node_passphrase(env)
    if create:
        return NodeKeys.load_or_create(path, passphrase)
    return NodeKeys.load(path, passphrase)
