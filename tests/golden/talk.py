"""A scripted conversation with the engine, for engine tests and golden transcripts."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flows.deployment import Deployment, demo_deployment
from flows.engine import Engine
from flows.i18n import translator
from flows.loader import load_flow
from flows.spec import Flow
from flows.types import Inbound, MediaRef, Outbound, Session, Translator, Turn

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def flow_path(name: str) -> Path:
    """A test flow (tests/flows/) or else a shipped one (flows/definitions/)."""
    test_flow = ROOT / "tests" / "flows" / f"{name}.yaml"
    return test_flow if test_flow.exists() else ROOT / "flows" / "definitions" / f"{name}.yaml"


def entropy_for(index: int) -> bytes:
    return hashlib.sha256(f"golden-entropy-{index}".encode()).digest()


@dataclass
class Talk:
    """One person talking to one engine; every send is one turn, one minute apart."""

    flow: Flow
    deployment: Deployment = field(default_factory=demo_deployment)
    translators: Callable[[str], Translator] = translator
    session: Session | None = None
    turns: list[Turn] = field(default_factory=list)
    numbered: bool = True  # the terminal's numbered choices; False: a chat's buttons

    @classmethod
    def of(cls, name: str, **kwargs: object) -> Talk:
        return cls(load_flow(flow_path(name)), **kwargs)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        self.engine = Engine(self.flow, self.deployment, translators=self.translators)

    @property
    def now(self) -> datetime:
        return START + timedelta(minutes=len(self.turns))

    def send(self, inbound: Inbound | str) -> Turn:
        index = len(self.turns)
        if isinstance(inbound, str):
            inbound = Inbound(kind="text", text=inbound, message_id=index + 1)
        if not inbound.entropy:
            inbound = Inbound(**{**inbound.__dict__, "entropy": entropy_for(index)})
        if inbound.numbered != self.numbered:
            inbound = Inbound(**{**inbound.__dict__, "numbered": self.numbered})
        if self.session is None:
            self.session = self.engine.new_session("person-1", self.now)
        turn = self.engine.handle(
            self.session, inbound, self.now, self.translators(self.session.language)
        )
        self.turns.append(turn)
        self.session = turn.session
        return turn

    def start(self, hint: str | None = None) -> Turn:
        return self.send(Inbound(kind="start", language_hint=hint))

    def press(self, value: str) -> Turn:
        return self.send(Inbound(kind="choice", choice=value))

    def command(self, word: str) -> Turn:
        return self.send(Inbound(kind="command", command=word))

    def media(self, kind: str = "voice") -> Turn:
        ref = MediaRef(file_id=f"file-{len(self.turns)}", kind=kind, sha256="0" * 64, size=1)
        return self.send(Inbound(kind="media", media=ref, message_id=len(self.turns) + 1))

    def run(self, *inputs: str) -> Turn:
        """Send several typed messages; the last turn."""
        turn = None
        for text in inputs:
            turn = self.send(text)
        assert turn is not None
        return turn

    @property
    def state(self) -> str | None:
        return self.session.state if self.session else None

    @property
    def last(self) -> Turn:
        return self.turns[-1]

    @property
    def ask(self) -> Outbound:
        """The last message of the last turn, which should be asking something."""
        message = self.last.messages[-1]
        assert message.ask is not None, message.text
        return message

    def texts(self) -> list[str]:
        return [m.text for m in self.last.messages]
