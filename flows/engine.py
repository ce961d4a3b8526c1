"""The interview engine: `Engine.handle(session, inbound, now, translator) -> Turn`, pure.

No I/O, no clock, no globals, no randomness but `inbound.entropy`. Each turn restores a
short-lived model on the flow's one shared `transitions` machine (`flows.machine`),
reads the inbound event (a start, a command, an answer), and lets a `Sprint` walk the
flow. A person's mistakes become gentle re-prompts, never exceptions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flows.commands import Reading
from flows.deployment import Deployment
from flows.machine import Rulebook
from flows.spec import Flow
from flows.sprint import Sprint
from flows.types import (
    Inbound,
    Session,
    Translator,
    Turn,
)


class Engine:
    """Runs one flow for any number of people; holds no per-person state."""

    def __init__(
        self,
        flow: Flow,
        deployment: Deployment,
        translators: Callable[[str], Translator] | None = None,
    ) -> None:
        """`translators` gives the translator of a language chosen during a turn."""
        self.flow = flow
        self.deployment = deployment
        self.translators = translators
        self.rulebook = Rulebook(flow)

    def new_session(self, respondent: str, now: datetime, language: str = "en") -> Session:
        """A fresh session; the first `Inbound(kind="start")` starts the flow."""
        return Session(
            respondent=respondent,
            flow=self.flow.id,
            flow_version=self.flow.version,
            language=language,
            state="new",
            updated_at=now,
        )

    def handle(
        self, session: Session, inbound: Inbound, now: datetime, translator: Translator
    ) -> Turn:
        """What `inbound` does to `session` at `now`: the next Turn."""
        state = session.state if session.state in self.rulebook.states else "new"
        session = session.evolve(state=state)
        with self.rulebook.position(state) as position:
            sprint = Sprint(
                self.flow,
                self.deployment,
                self.rulebook,
                position,
                session,
                inbound,
                now,
                translator,
                self.translators,
            )
            Reading(sprint).dispatch()
            return sprint.turn()
