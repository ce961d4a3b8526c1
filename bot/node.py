"""Opening a node: data directory, keys, reviewer keys, settings, flows, store, dispatcher.

Everything a channel needs, put together in one place so that `attest console` and
`attest run` start the same way. First run needs no setup: the data directory, the node
key and (if no reviewer key is configured) a demo reviewer key pair are created, the
latter with a loud warning on stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import load_deployment
from bot.dispatcher import Dispatcher
from bot.node_key import load_node_keys
from bot.settings import Settings, ensure_data_dir
from flows.deployment import Deployment
from flows.engine import Engine
from flows.i18n import translator
from flows.loader import load_flows
from storage.crypto import NodeKeys
from storage.errors import NodeKeyLocked, StorageError, WrongPassphrase
from storage.intake.keyring import (
    DEMO_WARNING,
    SINGLE_KEY_WARNING,
    LiveReviewerKeys,
    ensure_demo_reviewer,
    is_demo_only,
    load_reviewer_keys,
    node_key_path,
)
from storage.intake.store import open_intake_store

DEFAULT_FLOW = "survivor"


class NodeError(Exception):
    """The node cannot start; the message says what to do."""


@dataclass
class Node:
    settings: Settings
    deployment: Deployment
    keys: NodeKeys
    reviewers: list[Any]  # at start (for the warnings); sealing reads the current ones
    demo_only: bool
    engines: dict[str, Engine]
    store: Any
    dispatcher: Dispatcher

    async def close(self) -> None:
        await self.store.close()


def load_engines(deployment: Deployment, flows_dir: Path | None = None) -> dict[str, Engine]:
    """One engine per flow definition (each with its one shared state machine)."""
    flows = load_flows(flows_dir) if flows_dir else load_flows()
    return {name: Engine(flow, deployment, translator) for name, flow in flows.items()}


async def open_node(
    settings: Settings,
    *,
    allow_demo: bool = True,
    env: Mapping[str, str] | None = None,
    warn: Any = None,
) -> Node:
    """Open everything under the data directory; create what is missing on first run."""
    env = os.environ if env is None else env
    warn = warn or sys.stderr
    try:
        data_dir = ensure_data_dir(settings)
    except OSError as exc:
        # Plain English like ConfigError: for whoever runs the node, before any language.
        raise NodeError(
            f"Cannot create the data directory {settings.data_dir} ({type(exc).__name__}). "
            "Check ATTEST_DATA_DIR and that this user may write there."
        ) from None
    deployment = load_deployment(settings.config_file)
    if settings.draft_days:
        from dataclasses import replace

        deployment = replace(deployment, draft_days=settings.draft_days)
    key_path = node_key_path(data_dir, env)
    try:
        # A protected key with a missing or wrong passphrase stops here, before anything
        # (demo key, store, migrations) is written.
        keys = load_node_keys(data_dir, env, create=True)
    except WrongPassphrase:
        raise NodeError(
            translator("en")
            .gettext(
                "The node key passphrase (ATTEST_NODE_PASSPHRASE or the systemd credential) "
                "does not open {path}. Nothing was started."
            )
            .format(path=key_path)
        ) from None
    except NodeKeyLocked as exc:
        raise NodeError(translator("en").gettext(str(exc))) from None
    except StorageError as exc:  # damaged or not a node key: the message names the file
        raise NodeError(str(exc)) from None
    except OSError as exc:
        raise NodeError(
            f"Cannot read or create the node key {key_path} ({type(exc).__name__})."
        ) from None
    try:
        reviewers = list(load_reviewer_keys(data_dir, env))
    except StorageError as exc:
        raise NodeError(str(exc)) from None
    if not reviewers:
        if not allow_demo:
            raise NodeError(
                translator("en").gettext(
                    "No reviewer key is configured. Add one with "
                    "'attest keys add-reviewer FILE' before starting the bot."
                )
            )
        demo = ensure_demo_reviewer(data_dir)
        if demo is not None:
            reviewers = [demo]
    demo_only = is_demo_only(reviewers)
    if demo_only:
        if not allow_demo:
            raise NodeError(
                translator("en").gettext(
                    "Only the demo reviewer key is configured, so anyone with this machine "
                    "could read the accounts. Add a real reviewer key with "
                    "'attest keys add-reviewer FILE' first."
                )
            )
        print(translator("en").gettext(DEMO_WARNING), file=warn)
    elif len(reviewers) == 1:
        print(translator("en").gettext(SINGLE_KEY_WARNING), file=warn)
    engines = load_engines(deployment)
    # The keys checked above are those at start; each account is sealed to the keys
    # current when it is sealed (a key added while the node runs counts at once; the demo
    # key stops counting once a real one exists, and `attest run` never falls back to it).
    store = await open_intake_store(
        settings.database_url or settings.intake_path,
        keys,
        LiveReviewerKeys(data_dir, env, allow_demo=allow_demo),
        data_dir=data_dir,
        draft_days=deployment.draft_days,
    )
    dispatcher = Dispatcher(
        engines=engines,
        default_flow=DEFAULT_FLOW if DEFAULT_FLOW in engines else next(iter(engines)),
        store=store,
        pseudonym=keys.pseudonym,
    )
    return Node(settings, deployment, keys, reviewers, demo_only, engines, store, dispatcher)
