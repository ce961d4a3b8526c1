"""The interview engine: `Engine.handle(session, inbound, now, translator) -> Turn`, pure.

No I/O, no clock, no globals, no randomness but `inbound.entropy`. Each turn restores a
short-lived model on the flow's one shared `transitions` machine (`flows.machine`),
reads the inbound event (a start, a command, an answer), and lets a `Sprint` walk the
flow. A person's mistakes become gentle re-prompts, never exceptions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from flows.account import stop_from
from flows.commands import Reading
from flows.deployment import Deployment
from flows.machine import Rulebook
from flows.path import next_unanswered
from flows.render import Renderer, SourceLanguage
from flows.spec import Flow
from flows.sprint import Sprint
from flows.types import (
    Inbound,
    Session,
    Translator,
    Turn,
)
from flows.withdrawal import code_to_look_up

# Session data naming a state to return to, and naming a step (dropped when it is gone).
_STATE_KEYS = ("resume_state", "withdraw_return", "language_return", "after")
_STEP_KEYS = ("appending", "stop_from", "skipped_once")


def for_deployment(flow: Flow, deployment: Deployment) -> Flow:
    """`flow` as this deployment runs it: a region question only where there are regions."""
    if deployment.region_codes():
        return flow
    steps = tuple(s for s in flow.steps if s.options_from != "regions")
    return flow if len(steps) == len(flow.steps) else replace(flow, steps=steps)


class Engine:
    """Runs one flow for any number of people; holds no per-person state."""

    def __init__(
        self,
        flow: Flow,
        deployment: Deployment,
        translators: Callable[[str], Translator] | None = None,
    ) -> None:
        """`translators` gives the translator of a language chosen during a turn."""
        self.flow = for_deployment(flow, deployment)
        self.deployment = deployment
        self.translators = translators
        self.rulebook = Rulebook(self.flow)

    def script(self, session: Session, translator: Translator) -> tuple[str, ...]:
        """The texts of the flow's `script` section (documenter mode), in `translator`'s language."""
        renderer = Renderer(self.flow, self.deployment, translator)
        return tuple(
            renderer.text(step.text, session)
            for step in self.flow.steps
            if step.section == "script"
        )

    def remembered(self, session: Session) -> dict[str, str]:
        """The answers of `remember` steps (documenter mode: the documenter's profile)."""
        found: dict[str, str] = {}
        for step in self.flow.steps:
            answer = session.answers.get(step.id)
            if step.remember and answer is not None and isinstance(answer.value, str):
                found[step.id] = answer.value
        return found

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

    def fit(self, session: Session) -> Session:
        """A draft saved under another version of the flow, made to fit this one.

        A step the new version no longer has (a follow-up that was removed) must not end
        the interview or start it over: the person is asked to resume, at the first
        question on their path still without an answer, and nothing they wrote is lost.
        The same when the draft waits at a question that this version asks after one
        still unanswered (questions reordered).
        """
        known = set(self.rulebook.states)
        resume_at = (
            next_unanswered(self.flow, session.answers, stop_from(session)) or self.flow.start
        )
        data = dict(session.data)
        for key in _STATE_KEYS:
            if isinstance(data.get(key), str) and data[key] not in known:
                data[key] = resume_at
        for key in _STEP_KEYS:
            if isinstance(data.get(key), str) and not self.flow.has_step(data[key]):
                data.pop(key)
        state, pending = session.state, session.pending
        reordered = (
            self.flow.has_step(state)
            and state not in session.answers
            and resume_at != state
            and self.flow.has_step(resume_at)
        )
        if state not in known or reordered:
            # A step unknown here, or a question this version asks earlier (the contact
            # scope now comes before the mechanisms scope): resume at the first question
            # on the path without an answer, so the path never has a gap.
            state, pending = ("resume", ()) if session.answers else ("new", ())
            data["resume_state"] = resume_at
        return session.evolve(
            flow_version=self.flow.version,
            state=state,
            pending=pending,
            history=tuple(h for h in session.history if self.flow.has_step(h)),
            data=data,
        )

    def code_to_look_up(
        self, session: Session, inbound: Inbound, translator: Translator | None = None
    ) -> str | None:
        """The reference code the caller must look up before `handle`, or None.

        Set `inbound.code_sent` to whether this node sent an account with it; without
        that, the engine never tells the person a withdrawal is recorded for it.
        """
        if translator is None:
            translator = (
                self.translators(session.language) if self.translators else SourceLanguage()
            )
        return code_to_look_up(session, inbound, translator)

    def handle(
        self, session: Session, inbound: Inbound, now: datetime, translator: Translator
    ) -> Turn:
        """What `inbound` does to `session` at `now`: the next Turn."""
        if session.flow_version != self.flow.version:
            session = self.fit(session)
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
