"""Golden transcripts: scripted conversations, run through the engine and compared to files.

A transcript is `tests/golden/<flow>/<name>.yaml`:

    flow: tiny                      # tests/flows/<flow>.yaml, else flows/definitions/
    about: what this conversation shows
    turns:
      - in: {start: true}           # or "text", {choice: ID}, {command: WORD},
                                    #    {start: true, hint: fr}, {media: voice},
                                    #    {text: CODE, code_sent: true}: a reference
                                    #    code the dispatcher found (or not) on the node
        out:                        # recorded: what the person is sent
          - text: ...
            ask: STEP               # when the message waits for an answer
            choices: ["1. Yes [yes]", ...]
        state: STEP                 # recorded: session state afterwards (None: nothing kept)
        end: REASON                 # recorded, when the turn ended the conversation
    result: {...}                   # recorded: the final session or the submitted account

Only `flow`, `about` and each turn's `in` are written by hand; `pytest --record` (or
ATTEST_RECORD_GOLDEN=1) fills in the rest. Time, message ids and entropy are fixed per turn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from flows.loader import load_flow
from flows.spec import Flow
from flows.types import Inbound, MediaRef, Outbound, Session, Turn
from tests.golden.talk import Talk, entropy_for, flow_path

GOLDEN_DIR = Path(__file__).resolve().parent


def inbound_of(spec: Any, index: int) -> Inbound:
    entropy = entropy_for(index)
    if isinstance(spec, str):
        return Inbound(kind="text", text=spec, message_id=index + 1, entropy=entropy)
    if "text" in spec:
        return Inbound(
            kind="text",
            text=spec["text"],
            message_id=index + 1,
            entropy=entropy,
            code_sent=spec.get("code_sent"),
        )
    if "start" in spec:
        return Inbound(kind="start", language_hint=spec.get("hint"), entropy=entropy)
    if "choice" in spec:
        return Inbound(kind="choice", choice=spec["choice"], entropy=entropy)
    if "command" in spec:
        return Inbound(kind="command", command=spec["command"], entropy=entropy)
    if "media" in spec:
        media = MediaRef(file_id=f"file-{index}", kind=spec["media"], sha256="0" * 64, size=1234)
        return Inbound(kind="media", media=media, message_id=index + 1, entropy=entropy)
    raise ValueError(f"unknown golden input {spec!r}")


def show_message(message: Outbound) -> dict[str, Any]:
    shown: dict[str, Any] = {"text": message.text}
    if message.ask is not None:
        shown["ask"] = message.ask
    if message.choices:
        shown["choices"] = [f"{c.n}. {c.label} [{c.value}]" for c in message.choices]
    if message.selected:
        shown["selected"] = list(message.selected)
    return shown


def show_result(turn: Turn | None, session: Session | None) -> dict[str, Any]:
    if turn is not None and turn.account is not None:
        account = turn.account
        return {
            "account": {
                "urgent": account.urgent,
                "reference": account.reference_code,
                "consent": dict(account.consent.scopes),
                "answers": [
                    {
                        "step": a.step,
                        "status": a.status,
                        **(
                            {"value": list(a.value) if isinstance(a.value, tuple) else a.value}
                            if a.value is not None
                            else {}
                        ),
                        **({"labels": list(a.labels)} if a.labels else {}),
                        **({"source": a.source} if a.source else {}),
                    }
                    for a in account.answers
                ],
            }
        }
    if session is None:
        return {"kept": None}
    return {
        "session": {
            "state": session.state,
            "status": session.status,
            "language": session.language,
            "flags": sorted(session.flags),
            "answers": {
                k: (
                    a.status
                    if a.status != "answered"
                    else a.value
                    if not isinstance(a.value, tuple)
                    else list(a.value)
                )
                for k, a in session.answers.items()
            },
        }
    }


def run(flow: Flow, inputs: list[Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Play `inputs` through a fresh engine; the recorded turns and the final result."""
    talk = Talk(flow)
    turns: list[dict[str, Any]] = []
    for index, spec in enumerate(inputs):
        turn = talk.send(inbound_of(spec, index))
        recorded: dict[str, Any] = {"in": spec, "out": [show_message(m) for m in turn.messages]}
        recorded["state"] = turn.session.state if turn.session else None
        if turn.end is not None:
            recorded["end"] = turn.end
        if turn.effects:
            recorded["effects"] = [type(e).__name__ for e in turn.effects]
        turns.append(recorded)
    return turns, show_result(talk.turns[-1] if talk.turns else None, talk.session)


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def transcripts() -> list[Path]:
    return sorted(GOLDEN_DIR.glob("*/*.yaml"))


def replay(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stored transcript and the one the engine produces now, as documents."""
    stored = yaml.safe_load(path.read_text(encoding="utf-8"))
    flow = load_flow(flow_path(stored["flow"]))
    turns, result = run(flow, [t["in"] for t in stored["turns"]])
    fresh = {
        "flow": stored["flow"],
        "about": stored.get("about", ""),
        "turns": turns,
        "result": result,
    }
    return stored, fresh
