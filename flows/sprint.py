"""One turn in progress: the session as it changes and the messages, effects and end it yields.

A Sprint walks the flow (passing over steps whose conditions do not hold, showing
content notes and info steps), asks questions, records answers and ends conversations.
`flows.engine` reads the inbound event and decides which of these to call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from flows.account import build_account, consent_scopes, make_answer, stop_from
from flows.deployment import Deployment, pick
from flows.machine import IllegalMove, Position, Rulebook
from flows.path import Walked, closed_off, offered, route, should_ask, walk_on
from flows.reference import reference_code
from flows.render import Renderer, SourceLanguage, pack_items, split_message
from flows.spec import CONSENT_SECTION, ENGINE_STATES, TEXT_KINDS, Flow, Step
from flows.states import engine_ask, engine_choices
from flows.types import (
    DONE,
    DONT_KNOW,
    HIDE_BUTTON,
    KEEP_TEXT,
    PREFER_NOT,
    REMOVE_TEXT,
    Answer,
    AnswerStatus,
    Choice,
    ConsentRecord,
    Effect,
    EndReason,
    EraseChat,
    FinishedAccount,
    Inbound,
    Outbound,
    Session,
    ShredDraft,
    Translator,
    Turn,
)

# Answers given by a status choice, shown ticked when a multiple-choice question opens again.
STATUS_TICKS = (DONT_KNOW, PREFER_NOT)

# How far back a chat's messages can be deleted (Telegram's limit for bots).
ERASE_LIMIT = timedelta(hours=48)


class Sprint:
    """The mutable working state of one `Engine.handle` call; gone when the turn is built."""

    def __init__(
        self,
        flow: Flow,
        deployment: Deployment,
        rulebook: Rulebook,
        position: Position,
        session: Session,
        inbound: Inbound,
        now: datetime,
        translator: Translator,
        translators: Callable[[str], Translator] | None,
    ) -> None:
        self.flow = flow
        self.deployment = deployment
        self.rulebook = rulebook
        self.position = position
        self.session = session
        self.inbound = inbound
        self.now = now
        self.translators = translators
        self.r = Renderer(flow, deployment, translator)
        self._walk: Walked | None = None  # the walk of the current answers, or earlier ones
        self.messages: list[Outbound] = []
        self.effects: list[Effect] = []
        self.account: FinishedAccount | None = None
        self.end: EndReason | None = None
        self.reference: str | None = None
        self.closed = False  # nothing of the session is kept

    # -- small helpers -------------------------------------------------------------

    @property
    def _(self) -> Callable[[str], str]:
        return self.r.translator.gettext

    @property
    def data(self) -> dict[str, Any]:
        return self.session.data

    def update(self, **changes: Any) -> None:
        self.session = self.session.evolve(**changes)

    def set_data(self, **changes: Any) -> None:
        data = {k: v for k, v in {**self.session.data, **changes}.items() if v is not None}
        self.update(data=data)

    def say(self, text: str) -> None:
        self.messages.extend(Outbound(text=chunk) for chunk in split_message(text))

    def say_t(self, source: str, **extra: str) -> None:
        """Say an already translated engine text, with placeholders filled."""
        self.say(self.r.fill(source, self.session, extra))

    def place(self, state: str) -> None:
        """Put the conversation at `state` outside the flow graph (jump or detour)."""
        how = "detour" if state in ENGINE_STATES else "jump"
        self.rulebook.move(self.position, how, state)
        self.update(state=state)

    def set_language(self, language: str) -> None:
        self.update(language=language)
        if self.translators is not None:
            self.r = Renderer(self.flow, self.deployment, self.translators(language))

    # -- answers -------------------------------------------------------------------

    def record(self, step: Step, status: AnswerStatus, **fields: Any) -> Answer:
        """Keep an answer to `step`; update consent, flags and language that follow from it."""
        answer = make_answer(step.id, status, self.now, **fields)
        answers = {**self.session.answers, step.id: answer}
        self.update(answers=answers, pending=())
        if self.data.get("skipped_once") == step.id:
            self.set_data(skipped_once=None)
        if step.consent is not None:
            self._record_consent()
        if step.sets == "language" and status == "answered" and isinstance(answer.value, str):
            self.set_language(answer.value)
        self._drop_closed_identifying()
        self.update(flags=self._flags())
        return answer

    def _drop_closed_identifying(self) -> None:
        """Delete what could identify or endanger the person once its question is closed off.

        "Contacting you again" set to No drops the contact way and the code word: someone
        who turned contact off because that number is no longer safe must never get it
        back, unasked, by turning contact on again; the questions are asked afresh. Other
        answers off the path are kept aside (a change back loses nothing); these are not.
        """
        answers = self.session.answers
        closed = [
            s.id
            for s in self.flow.identifying_conditional
            if s.id in answers and closed_off(s, answers)
        ]
        if closed:
            kept = {k: a for k, a in answers.items() if k not in closed}
            self.update(answers=kept)

    def _record_consent(self) -> None:
        """The consent record as the answers on the path give it, stamped now, in this language."""
        scopes = consent_scopes(self.flow, self.session)
        consent = ConsentRecord(
            text_version=self.flow.consent_hash,
            language=self.session.language,
            given_at=self.now,
            scopes=scopes,
            affirmed_by_documenter=self.flow.mode == "documenter",
        )
        self.update(consent=consent)

    def walked(self) -> tuple[list[tuple[Step, Answer]], frozenset[str]]:
        """The path and flags of the current answers (walked once per set of answers)."""
        answers, stopped = self.session.answers, stop_from(self.session)
        last = self._walk
        if last is None or last.answers is not answers or last.stop_from != stopped:
            last = self._walk = walk_on(self.flow, answers, stopped, last)
        return last.path, last.flags

    def _path_answers(self) -> tuple[dict[str, Answer], frozenset[str]]:
        """The answers on the path by step id, and the flags (kept with the walk)."""
        self.walked()
        assert self._walk is not None
        return self._walk.on_path, self._walk.flags

    def _flags(self) -> frozenset[str]:
        """Flags follow from the answers on the path, so changing an answer unsets them."""
        return self.walked()[1]

    def should_ask(self, step: Step) -> bool:
        on_path, flags = self._path_answers()
        return should_ask(step, on_path, flags)

    # -- walking -------------------------------------------------------------------

    def go(self, target: str, how: str) -> None:
        """Walk from the current state to `target` and on, until a step asks or ends."""
        self.set_data(reopened=None)  # moving on: no longer just opened from the change list
        for _ in range(len(self.flow.steps) + 1):
            step = self.flow.step(target)
            self.rulebook.move(self.position, how, target)
            self.update(state=target)
            how = "advance"
            preset = step.sets == "language" and self.data.get("language_preset")
            if step.id not in self.session.answers and self.flow.passed_by_stop(
                step.id, stop_from(self.session)
            ):
                # The person stopped early: on to the closing, sparing them the rest.
                target, how = self.flow.closing or self.next_of(step), "jump"
                continue
            if preset or not self.should_ask(step):
                if preset:
                    self.set_data(language_preset=None)
                    self.update(history=(*self.session.history, step.id))
                target = self.next_of(step)
                continue
            if self.session.return_to and self._pass_answered(step):
                target = self.route_on(step)
                continue
            if step.remember and step.id in self.session.answers and not self.session.return_to:
                # The documenter's profile, kept from an earlier account: not asked again.
                self.update(history=(*self.session.history, step.id))
                target = self.route_on(step)
                continue
            if self.session.return_to == step.id:
                self.update(return_to=None)
            self._show_note(step)
            if step.kind == "info":
                self.say(self._info_text(step))
                shown = list(self.data.get("info_shown", []))
                self.set_data(info_shown=[*shown, step.id] if step.id not in shown else shown)
                target = self.next_of(step)
                continue
            if step.kind == "end":
                self.finish(step)
                return
            self.ask_step(step)
            return
        raise IllegalMove(f"flow {self.flow.id!r} passes over steps in a circle")

    def _info_text(self, step: Step) -> str:
        """An info step's text; with `language_from`, in the language chosen there."""
        answer = self.session.answers.get(step.language_from or "")
        language = answer.value if answer is not None and answer.status == "answered" else None
        if (
            isinstance(language, str)
            and self.flow.language_step is not None
            and language != self.session.language
            and self.translators is not None
            and language in {o.id for o in self.flow.language_step.options}
        ):
            other = Renderer(self.flow, self.deployment, self.translators(language))
            return other.text(step.text, self.session)
        return self.r.text(step.text, self.session)

    def _pass_answered(self, step: Step) -> bool:
        """While returning to the review after a change: pass what was answered or shown.

        An info step the change newly opened (medical information after a change to
        "recent") is shown; one the person has seen is not repeated.
        """
        if step.kind == "info":
            return step.id in self.data.get("info_shown", [])
        return step.kind != "review" and step.id in self._path_answers()[0]

    def route_on(self, step: Step) -> str:
        answer = self.session.answers.get(step.id)
        target = route(self.flow, step, answer) if answer is not None else None
        return target if target is not None else self.next_of(step)

    def answered_path(self) -> list[tuple[Step, Answer]]:
        return self.walked()[0]

    def flow_media_steps(self) -> set[str]:
        """Steps that take only files (kind `media`)."""
        return {s.id for s in self.flow.steps if s.kind == "media"}

    def next_of(self, step: Step) -> str:
        target = self.flow.default_next(step.id)
        if target is None:
            raise IllegalMove(f"flow {self.flow.id!r} runs off its end after {step.id!r}")
        return target

    def _show_note(self, step: Step) -> None:
        section = self.flow.section(step.section) if step.section else None
        shown = list(self.data.get("notes", []))
        if section is None or section.content_note is None or section.id in shown:
            return
        self.say(self.r.text(section.content_note, self.session))
        self.set_data(notes=[*shown, section.id])

    def step_choices(self, step: Step) -> tuple[Choice, ...]:
        _ = self._
        if step.kind == "review":
            if self.nothing_recorded():
                return (
                    Choice(1, "send", _("Send it anyway")),
                    Choice(2, "change", _("Change an answer")),
                )
            return (
                Choice(1, "send", _("Send my account")),
                Choice(2, "change", _("Change an answer")),
            )
        if self.data.get("removing") == step.id:
            return (
                Choice(1, REMOVE_TEXT, _("Delete what I wrote")),
                Choice(2, KEEP_TEXT, _("Go back, keep it")),
            )
        on_path, flags = self._path_answers()
        shown = offered(step, on_path, flags)
        choices = self.r.choices(step, self.session, shown)
        if self.data.get("appending") == step.id:
            # After "Add more" too: the way to finish is on the screen (a button on Telegram),
            # with the number it had at "Add more / Done", so that a number learned there
            # never leads anywhere else (2 was once "Remove what I wrote" here).
            at_more = next(c.n for c in engine_choices(self, "more") if c.value == DONE)
            choices = (*choices, Choice(max(len(choices) + 1, at_more), DONE, _("Done")))
        elif step.kind == "multiple-choice":
            choices = (*choices, Choice(len(choices) + 1, DONE, _("Done")))
        if self.can_remove(step):
            after = max((c.n for c in choices), default=0) + 1
            choices = (*choices, Choice(after, REMOVE_TEXT, _("Remove what I wrote")))
        return choices

    def can_remove(self, step: Step) -> bool:
        """A text answer asked again can be removed, not only added to or replaced."""
        earlier = self.session.answers.get(step.id)
        return (
            step.kind in TEXT_KINDS
            and earlier is not None
            and earlier.status == "answered"
            and self.session.state == step.id
        )

    def ask_remove(self, step: Step) -> None:
        """Nothing irreversible on one tap: confirm before removing what was written."""
        self.set_data(removing=step.id)
        self.messages.append(
            Outbound(
                text=self._("This deletes what you wrote for this question."),
                ask=step.id,
                kind=step.kind,
                choices=self.step_choices(step),
            )
        )

    def forget(self, step: Step) -> None:
        """Drop the answer to `step` as if it had never been given."""
        answers = {k: a for k, a in self.session.answers.items() if k != step.id}
        self.update(answers=answers, pending=())
        self.update(flags=self._flags())

    def review_items(self) -> list[str]:
        """One entry a listed answer: its short label (as in the change list, never a
        question cut to fit), then the answer as shown, after an arrow pointing at it."""
        return [
            self.r.review_item(step, answer, self.session) for step, answer in self.changeable()
        ]

    def nothing_recorded(self) -> bool:
        """True when no answer about what happened was given (every one skipped).

        Consent answers do not count: they say what may be done with the account, not
        what happened.
        """
        return all(
            answer.status == "skip"
            for step, answer in self.changeable()
            if step.consent is None and step.section != CONSENT_SECTION
        )

    def review_messages(self, step: Step) -> tuple[str, ...]:
        """The review as messages, split only between answers, each within one message."""
        if self.nothing_recorded():
            return (
                self._(
                    "You skipped every question, so nothing about what happened was "
                    "recorded. That's okay. Do you want to send it anyway?"
                ),
            )
        head, _sep, tail = self._(step.text).partition("{answers}")
        return pack_items(
            self.r.fill(head, self.session),
            self.review_items(),
            self.r.fill(tail, self.session),
        )

    def drop_change_request(self) -> None:
        """A change is being made: "I want to change something" is no longer the answer.

        The answer of a `process` step that asked for the change (option id `change`, the
        last consent check) is dropped, so the account never keeps it once the change is
        made: the question is asked again, with the new summary, before the review.
        """
        asked = [
            s
            for s, a in self.walked()[0]
            if s.process and a.status == "answered" and a.value == "change"
        ]
        for step in asked:
            self.forget(step)
        if asked:  # asked again before the review even if no change is made after all
            self.set_data(dropped_request=[step.id for step in asked])

    def changeable(self) -> list[tuple[Step, Answer]]:
        """Answers the review lists and lets the person change.

        Not the language, not a one-button pacing step, not an understanding check and
        not a `process` step (safety, pace, the last consent check): they say nothing
        about what happened. They still travel in
        the account (the checks are part of the consent record).
        """
        return [(s, a) for s, a in self.walked()[0] if s.listed]

    def ask_step(
        self,
        step: Step,
        *,
        keep_history: bool = False,
        keep_pending: bool = False,
        lead: str | None = None,
    ) -> None:
        """Ask `step` (the model is already there), showing any earlier answer.

        A multiple-choice step asked afresh starts from its earlier selection, so that
        changing one option does not mean choosing all the others again.
        """
        _ = self._
        self.set_data(removing=None)
        earlier = self.session.answers.get(step.id)
        pending: tuple[str, ...] = ()
        if step.kind == "multiple-choice" and keep_pending:
            pending = self.session.pending
        elif step.kind == "multiple-choice" and earlier and isinstance(earlier.value, tuple):
            pending = earlier.value
        elif step.kind == "multiple-choice" and earlier and earlier.status in STATUS_TICKS:
            # "Prefer not to say" (or "I don't know") ticked, as a choice would be: the
            # question opens in the same tick mode, and Done keeps it.
            pending = (earlier.status,)
        self.update(state=step.id, pending=pending)
        if step.kind == "review" and lead is None:
            *before_review, text = self.review_messages(step)
            for chunk in before_review:
                self.messages.append(Outbound(text=chunk))
        else:
            text = lead or self.question_text(step)
        if lead is None and earlier is not None and step.kind != "review":
            typed = step.kind in TEXT_KINDS or step.kind == "media"
            if step.multi and earlier.status == "answered":
                # Asked again, a story told in several messages is added to, never replaced;
                # and never quoted back (the guide: no step repeats what the person typed).
                self.set_data(appending=step.id)
                note = _("(What you wrote before is kept. Anything you send now is added to it.)")
            elif typed and earlier.status == "answered":
                note = _("(You answered this before. What you send now takes its place.)")
            else:
                note = _("(Your answer was: {answer})")
            shown = self.r.answer_text(step, earlier, self.session)
            text += "\n\n" + self.r.fill(note, self.session, {"answer": shown})
        history = self.session.history
        if not keep_history and (not history or history[-1] != step.id):
            self.update(history=(*history, step.id))
        *before, text = split_message(text)
        for chunk in before:
            self.say(chunk)
        self.messages.append(
            Outbound(
                text=text,
                ask=step.id,
                kind=step.kind,
                choices=self.step_choices(step),
                multi=step.kind == "multiple-choice",
                selected=pending,
                allows_media=step.media or step.kind == "media",
            )
        )

    def question_text(self, step: Step) -> str:
        """A step's question, filled (with the person's words where it quotes them)."""
        extra: dict[str, str] = {}
        if step.quote_from is not None:
            extra["quote"] = self.r.quote(self.session, step.quote_from)
        return self.r.text(step.text, self.session, extra)

    def ask_state(self, state: str) -> None:
        """Ask the question of an engine state (the model is already there)."""
        self.update(state=state)
        self.messages.append(engine_ask(self, state))

    def reask(self) -> None:
        """Ask again whatever the conversation is waiting for."""
        state = self.session.state
        if state == "new":
            # Nothing asked yet (or a conversation just ended): never start on a command's say-so.
            self.say(self._("When you are ready to begin, send /start."))
        elif state in ENGINE_STATES:
            self.ask_state(state)
        else:
            step = self.flow.step(state)
            if self.data.get("removing") == state:
                # Waiting for "This deletes what you wrote": asked again (after /pause and
                # /resume, /help), after the question it is about, never dropped.
                self.say(self.question_text(step))
                self.ask_remove(step)
                return
            appending = self.data.get("appending") == state
            lead = (
                self._(
                    "Please go on. Send your next message whenever you are ready. When that "
                    "is all, choose “Done”."
                )
                if appending
                else None
            )
            self.ask_step(
                step,
                keep_history=bool(self.data.get("language_return")),
                keep_pending=True,
                lead=lead,
            )

    def begin(self, language_hint: str | None) -> None:
        """Start the flow from its first step (a language hint may answer the language step)."""
        self.update(started_at=self.now, status="active")
        language_step = self.flow.language_step
        if language_hint and language_step is not None and language_step.option(language_hint):
            self.record(language_step, "answered", value=language_hint)
            self.set_data(language_preset=True)
        self.go(self.flow.start, "jump")

    # -- endings -------------------------------------------------------------------

    def finish(self, step: Step) -> None:
        """An `end` step: submit, or close kindly with nothing kept."""
        if step.reason != "submitted":
            self.close(step.reason or "declined", self.r.text(step.text, self.session))  # type: ignore[arg-type]
            return
        scopes = consent_scopes(self.flow, self.session)
        consent = self.session.consent
        if consent is None or scopes.get("archive") != "yes":
            # Safety net: without consent to keep it, nothing is sent, whatever the flow says.
            declined = next((s for s in self.flow.steps if s.reason == "declined"), None)
            text = (
                self.r.text(declined.text, self.session)
                if declined
                else self._(
                    "Nothing was sent, because you chose not to have your account kept. "
                    "Nothing you wrote has been kept."
                )
            )
            self.close("declined", text)
            return
        # A scope the flow has but the person never reached counts as "no".
        unasked = {s.consent: "no" for s in self.flow.steps if s.consent is not None}
        consent = replace(consent, scopes={**unasked, **scopes})
        code = reference_code(self.inbound.entropy)
        self.reference = code
        english = Renderer(self.flow, self.deployment, SourceLanguage())
        self.account = build_account(
            self.flow,
            self.session,
            consent,
            code,
            self.now,
            question=lambda s: english.question(s, self.session),
            regions={
                c: self.deployment.region_name(c, "en") for c in self.deployment.region_codes()
            },
        )
        erase = self.flow.mode == "documenter" and self.deployment.documenter_erase_chat
        if erase:
            self._say_erased()
        self.close(
            "submitted", self.r.text(step.text, self.session, {"reference": code}), erase=erase
        )

    def _say_erased(self) -> None:
        """Documenter mode: the interview is erased; name the answers too old to erase."""
        _ = self._
        limit = self.now - ERASE_LIMIT
        old = [
            self.r.short_question(step, self.session)
            for step, answer in self.walked()[0]
            if answer.received_at is not None and answer.received_at < limit and step.asks
        ]
        self.say(_("This interview is now deleted from this chat, on both sides."))
        if old:
            listed = "\n".join(f"• {q}" for q in old)
            self.say_t(
                _(
                    "Messages older than 48 hours cannot be deleted by me. These answers, and "
                    "the questions before them, stay in this chat:\n{questions}\nTo remove "
                    "them, press and hold each message and choose Delete, or delete the whole "
                    "chat from the chat menu."
                ),
                questions=listed,
            )

    def close(self, reason: EndReason, text: str, *, erase: bool = False) -> None:
        """End the conversation; the draft is shredded and nothing of it is kept."""
        self.rulebook.move(self.position, "detour", "new")
        self.say(text)
        self.effects.append(ShredDraft())
        if erase:
            self.effects.append(EraseChat())
        self.end = reason
        self.closed = True

    def pause(self) -> None:
        """Keep everything as it is and say for how long it is kept."""
        self.update(status="paused")
        self.say_t(
            self.r.translator.ngettext(
                "I've paused here. Your unfinished answers are kept for {draft_days} day, "
                "then deleted. Send /resume when you want to go on.",
                "I've paused here. Your unfinished answers are kept for {draft_days} days, "
                "then deleted. Send /resume when you want to go on.",
                self.deployment.draft_days,
            )
        )
        if self.inbound.numbered:
            # A terminal: the conversation ends here, so no button could be answered.
            self.say(
                self._(
                    "What was written stays on this screen until you close this window or clear it."
                )
            )
            self.end = "paused"
            return
        self.say(
            self._(
                "This chat stays visible on your phone while you are away. To clear its "
                "messages and keep your answers, tap the button below or send /hide."
            )
        )
        # The button (a command, read as /hide) belongs to the question left open.
        self.messages[-1] = replace(
            self.messages[-1],
            ask=self.session.state,
            choices=(Choice(1, HIDE_BUTTON, self._("Hide this chat")),),
        )
        self.end = "paused"

    def hide(self) -> None:
        """Erase the chat's messages where the channel can; keep the encrypted draft."""
        self.effects.append(EraseChat())
        if self.session.state == "new":
            # Nothing asked (or a conversation already ended): there is no draft to keep.
            if not self.inbound.numbered:  # a terminal says itself what it could clear
                self.say(self._("Done: this chat's messages are cleared."))
            return
        self.update(status="paused")
        if self.inbound.numbered:
            # A terminal says itself what it could clear (bot/console.py).
            self.say(self._("Your answers are kept. Send /resume when you want to go on."))
        else:
            self.say(
                self._(
                    "Done: this chat's messages are cleared, and your answers are kept. "
                    "Send /resume when you want to go on."
                )
            )
        self.end = "paused"

    def quick_exit(self) -> None:
        self.close("exited", pick(self.deployment.neutral_line, self.session.language), erase=True)

    def turn(self) -> Turn:
        session = None if self.closed else self.session.evolve(updated_at=self.now)
        return Turn(
            session=session,
            messages=tuple(self.messages),
            account=self.account,
            effects=tuple(self.effects),
            end=self.end,
            reference=self.reference,
        )
