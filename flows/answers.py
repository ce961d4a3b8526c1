"""Reading answers: choices by number, label or button, texts, files, engine-state choices.

`Answers` holds what one turn does with an answer; `flows.commands.Reading` adds the
commands on top. A person's mistakes become gentle re-prompts here, never exceptions.
"""

from __future__ import annotations

from dataclasses import replace

from babel.lists import format_list

from flows.confirm import answer_confirmation, ask_before_deleting, confirm_first
from flows.parse import clean_text, only_numbers, read_choices, split_long
from flows.spec import ENGINE_STATES, TEXT_KINDS, Step
from flows.sprint import Sprint
from flows.states import BACK_CHOICE, TOPIC_PREFIX, can_send, change_topic, engine_choices
from flows.types import (
    DONE,
    DONT_KNOW,
    KEEP_TEXT,
    PREFER_NOT,
    REMOVE_TEXT,
    Choice,
    MediaRef,
)
from flows.withdrawal import answer_code


class Answers:
    """What an inbound answer does to the sprint of one turn."""

    def __init__(self, sprint: Sprint) -> None:
        self.s = sprint
        self._ = sprint._

    # -- answers -------------------------------------------------------------------

    def answer(self) -> None:
        s = self.s
        state = s.session.state
        self.resolve_numbered_press()
        if state == "withdraw-code":
            self.withdraw_code()
        elif state in ENGINE_STATES:
            choices = engine_choices(s, state)
            picked = self.text_pick(choices) if state == "more" else self.pick(choices, multi=False)
            if state == "more" and picked is None and self.typed_other_number():
                # The terminal numbers "Add more" and "Done": a number not shown is a slip,
                # never words of the story (a tester's "9" was added to their account).
                s.say_t(
                    self._(
                        "Please reply with one of the numbers shown: {more} to add more, or "
                        "{done} if that is all. Nothing was added."
                    ),
                    **{c.value: str(c.n) for c in choices},
                )
                s.reask()
            elif state == "more" and picked is None and s.inbound.kind in ("text", "media"):
                # Words sent at "Add more / Done" are kept, and the person is told so:
                # a polite "ok" must not go into the account without a sign.
                self.text_answer(s.flow.step(s.session.history[-1]), appending=True, tell=True)
            elif picked is None:
                self.reprompt(multi=False)
            else:
                self.choose_engine(state, picked[0])
        else:
            self.step_answer(s.flow.step(state))

    def resolve_numbered_press(self) -> None:
        """A button that carries its option's number ("#3": the id was too long for the
        channel) is a press of that option, the same as one carrying the id: on a
        multiple-choice question it toggles the option, never commits the list."""
        s = self.s
        inbound = s.inbound
        number = (inbound.choice or "")[1:]
        if inbound.kind != "choice" or not (inbound.choice or "").startswith("#"):
            return
        if not number.isdigit():
            return
        state = s.session.state
        if state in ENGINE_STATES:
            choices = engine_choices(s, state)
        elif state != "new":
            choices = s.step_choices(s.flow.step(state))
        else:
            choices = ()
        value = next((c.value for c in choices if c.n == int(number)), "")
        s.inbound = replace(inbound, choice=value)

    def pick(self, choices: tuple[Choice, ...], *, multi: bool) -> tuple[str, ...] | None:
        """The values an inbound picks among `choices`; None if it picks nothing readable."""
        inbound = self.s.inbound
        if inbound.kind == "choice":
            valid = {c.value for c in choices}
            return (inbound.choice,) if inbound.choice in valid else None
        if inbound.kind == "text":
            return read_choices(inbound.text, choices, multi)
        return None

    def typed_other_number(self) -> bool:
        """A bare number (or list of numbers) typed where the channel shows numbered options."""
        inbound = self.s.inbound
        return inbound.kind == "text" and inbound.numbered and only_numbers(inbound.text)

    def text_pick(self, choices: tuple[Choice, ...]) -> tuple[str, ...] | None:
        """What an inbound picks where text is an answer too (a text question, "add more").

        A bare number is an option only where the channel shows the options' numbers (the
        terminal): on Telegram "1" typed in "How many others, and where" means one, never
        "Remove what I wrote". Buttons, and labels typed exactly, pick as anywhere.
        """
        inbound = self.s.inbound
        if inbound.kind == "text" and not inbound.numbered and only_numbers(inbound.text):
            return None
        return self.pick(choices, multi=False)

    def reprompt(self, *, multi: bool, text_step: bool = False) -> None:
        s, _ = self.s, self._
        media = s.inbound.media
        if s.inbound.kind == "media" and media is not None and voice_step(s, media.kind):
            s.say(
                _(
                    "I can't take photos, documents or videos here. Please write your "
                    "answer, or send a voice note."
                )
            )
        elif s.inbound.kind == "media":
            s.say(
                _(
                    "I can't take files or voice notes here. Please write your answer instead, or send /skip."
                )
            )
        elif text_step and s.session.state in s.flow_media_steps():
            s.say(_("Please send a file or a voice note here, or send /skip to move on."))
        elif text_step:
            s.say(_("Please write your answer in a message. You can also send /skip to move on."))
        elif not s.inbound.numbered:
            # Telegram: the buttons show no numbers, so none are asked for.
            if multi:
                s.say(
                    _(
                        "Sorry, I didn't understand that. Please tap the buttons that fit, "
                        "then Done."
                    )
                )
            else:
                s.say(_("Sorry, I didn't understand that. Please tap one of the buttons."))
        elif multi:
            s.say(
                _(
                    "Sorry, I didn't understand that. Please reply with the numbers of the options "
                    "that fit, separated by commas (for example: 1, 3)."
                )
            )
        elif self.choice_count() <= 1:
            s.say(_("Sorry, I didn't understand that. To answer, reply with 1."))
        else:
            text = _(
                "Sorry, I didn't understand that. Please reply with one number from 1 to {last}."
            )
            s.say_t(text, last=str(self.choice_count()))
        s.reask()

    def choice_count(self) -> int:
        """How many numbered choices the current question shows."""
        s = self.s
        state = s.session.state
        if state in ENGINE_STATES:
            return len(engine_choices(s, state))
        return len(s.step_choices(s.flow.step(state)))

    def step_answer(self, step: Step) -> None:
        if step.kind in TEXT_KINDS or step.kind == "media":
            self.text_answer(step, appending=self.s.data.get("appending") == step.id)
        elif step.kind == "multiple-choice":
            self.multi_answer(step)
        else:
            picked = self.pick(self.s.step_choices(step), multi=False)
            if picked is None:
                self.reprompt(multi=False)
            else:
                self.single_answer(step, picked[0])

    def single_answer(self, step: Step, value: str, *, confirmed: bool = False) -> None:
        s = self.s
        if step.kind == "review":
            if value == "send":
                s.go(s.next_of(step), "advance")
            else:
                s.place("review-change")
                s.reask()
            return
        if value in (DONT_KNOW, PREFER_NOT):
            if not confirmed and confirm_first(self, step, value, status=value):
                return
            s.record(step, value)  # type: ignore[arg-type]
            self.explain_unchecked(step)
            self.say_stand_in(step)
            self.after(step, self.status_target(step))
            return
        if not confirmed and confirm_first(self, step, value, status="answered"):
            return
        s.record(step, "answered", value=value, message_ids=self.message_ids())
        option = step.option(value)
        if option is not None and option.reply:
            s.say(s.r.text(option.reply, s.session))
        if option is not None and not option.correct and any(o.correct for o in step.options):
            s.say(s.r.text(step.explain or "", s.session))
        target = option.next if option is not None and option.next else s.next_of(step)
        self.after(step, target)

    def multi_answer(self, step: Step) -> None:
        s = self.s
        choices = s.step_choices(step)
        if s.inbound.kind == "choice" and s.inbound.choice in {o.id for o in step.options}:
            before = s.session.pending
            s.update(pending=toggle(step, before, s.inbound.choice or ""))
            self.say_cleared(step, before, (s.inbound.choice or "",))
            s.ask_step(step, keep_pending=True)
            return
        picked = self.pick(choices, multi=True)
        ticking = picked is not None and DONE not in picked and self.shows_ticks(step)
        if picked is not None and DONE in picked:
            picked = tuple(dict.fromkeys((*(v for v in picked if v != DONE), *s.session.pending)))
        statuses = [v for v in picked or () if v in (DONT_KNOW, PREFER_NOT)]
        alone = [v for v in picked or () if v in statuses or is_exclusive(step, v)]
        if picked is None and s.inbound.numbered and self.shows_ticks(step):
            # Ticks on the screen: the error says how ticking works, as the ticks' reply
            # does (it said "separated by commas", as if the list were answered at once).
            done = next(c.n for c in choices if c.value == DONE)
            s.say_t(
                self._(
                    "Sorry, I didn't understand that. You can send option numbers to tick or "
                    "untick them. When the ticks are right, send {done} for “Done”."
                ),
                done=str(done),
            )
            s.reask()
        elif picked is None:
            self.reprompt(multi=True)
        elif alone and len(picked) > 1:
            self.conflicting(step, picked, alone[0])
        elif ticking:
            self.tick_typed(step, picked or ())
        elif not picked:
            s.say(self._("Please choose at least one option first, or send /skip to move on."))
            s.reask()
        elif statuses:
            self.single_answer(step, statuses[0])
        else:
            chosen = select(step, picked)
            s.record(step, "answered", value=chosen, message_ids=self.message_ids())
            for option in step.options:
                if option.id in chosen and option.reply:
                    s.say(s.r.text(option.reply, s.session))
            self.after(step, s.next_of(step))

    def shows_ticks(self, step: Step) -> bool:
        """The question is on the screen with options ticked: some are pending, or it is
        asked again (from the review, after /back) with an earlier choice."""
        earlier = self.s.session.answers.get(step.id)
        return bool(self.s.session.pending) or (
            earlier is not None
            and (
                (earlier.status == "answered" and isinstance(earlier.value, tuple))
                or earlier.status in (DONT_KNOW, PREFER_NOT)
            )
        )

    def tick_typed(self, step: Step, picked: tuple[str, ...]) -> None:
        """Options typed where ticks are shown tick or untick, as their buttons do.

        A typed number used to replace the whole earlier choice: "2" typed beside a ticked
        "1. [x] Detention" dropped Detention. Now the list is shown again with the new
        ticks, and "Done" keeps them.
        """
        s, _ = self.s, self._
        pending = before = s.session.pending
        for value in picked:
            pending = toggle(step, pending, value)
        s.update(pending=pending)
        self.say_cleared(step, before, picked)
        if s.inbound.numbered:
            done = next(c.n for c in s.step_choices(step) if c.value == DONE)
            s.say_t(
                _(
                    "Changed. You can send more numbers to tick or untick options. When the "
                    "ticks are right, send {done} for “Done”."
                ),
                done=str(done),
            )
        else:
            s.say(
                _(
                    "Changed. You can tap options to tick or untick them. When the ticks are "
                    "right, tap “Done”."
                )
            )
        s.ask_step(step, keep_pending=True)

    def say_cleared(self, step: Step, before: tuple[str, ...], picked: tuple[str, ...]) -> None:
        """Ticking an option that goes on its own unticks the others: say so, never
        silently (a tester's ticks vanished when they chose "Prefer not to say")."""
        s = self.s
        alone = next(
            (
                v
                for v in picked
                if v in s.session.pending
                and (v in (DONT_KNOW, PREFER_NOT) or is_exclusive(step, v))
            ),
            None,
        )
        cleared = [v for v in before if v not in s.session.pending and v not in picked]
        if alone is None or not cleared:
            return
        labels = {c.value: c.label for c in s.step_choices(step)}
        s.say_t(
            self._("That clears the other ticks: “{choice}” can only be chosen on its own."),
            choice=labels.get(alone, alone),
        )

    def conflicting(self, step: Step, picked: tuple[str, ...], alone: str) -> None:
        """Choices that cannot go together are asked again, naming them; nothing is dropped.

        Typed "7, 8" (nothing + other) used to keep "nothing" alone and lose "other".
        """
        s, _ = self.s, self._
        labels = {c.value: c.label for c in s.step_choices(step)}
        order = [c.value for c in s.step_choices(step)]
        quoted = [
            s.r.fill(_("“{choice}”"), s.session, {"choice": labels.get(v, v)})
            for v in sorted(picked, key=lambda v: order.index(v) if v in order else len(order))
        ]
        s.say_t(
            _(
                "You chose {choices}. “{alone}” can only be chosen on its own, so I haven't "
                "saved this yet. Please choose again."
            ),
            choices=format_list(quoted, locale=s.r.language),
            alone=labels.get(alone, alone),
        )
        s.reask()

    def text_answer(self, step: Step, *, appending: bool, tell: bool = False) -> None:
        s, inbound = self.s, self.s.inbound
        if s.data.get("removing") == step.id:
            # Asked to confirm removing what was written: delete or keep, nothing else.
            # Anything else (a tester's "yes", "delete", "9") was added to the story and
            # the confirmation dropped; now it is refused and the confirmation asked again.
            choices = s.step_choices(step)
            picked = self.text_pick(choices)
            if picked and picked[0] == REMOVE_TEXT:
                self.remove_text(step)
            elif picked and picked[0] == KEEP_TEXT:
                s.set_data(removing=None)
                s.reask()
            else:
                self.refuse_at_confirmation(choices)
            return
        if inbound.kind == "choice" or (inbound.kind == "text" and step.kind == "media"):
            picked = self.pick(s.step_choices(step), multi=False)
            if picked and picked[0] == DONE and appending:
                self.choose_engine("more", DONE)
            elif picked and picked[0] == REMOVE_TEXT:
                s.ask_remove(step)
            elif picked and picked[0] in (DONT_KNOW, PREFER_NOT):
                self.single_answer(step, picked[0])
            else:
                self.reprompt(multi=False, text_step=True)
            return
        if (
            inbound.kind == "media"
            and inbound.media is not None
            and takes_file(step, inbound.media)
        ):
            new_parts: tuple[str, ...] = ()
            files: tuple[str, ...] = (inbound.media.file_id,)
        elif inbound.kind == "text" and clean_text(inbound.text):
            word = inbound.text.strip().casefold()
            if appending and word in (DONE, self._("Done").casefold()):  # typed after "add more"
                self.choose_engine("more", DONE)
                return
            # Remove what I wrote (by its number on the terminal) is confirmed first.
            status = self.text_pick(s.step_choices(step))
            if status and status[0] == DONE and appending:  # Done by its number
                self.choose_engine("more", DONE)
                return
            if appending and status is None and self.typed_other_number():
                # A number not shown (1, "Add more" a moment ago) is a slip, not words.
                done = next(c.n for c in s.step_choices(step) if c.value == DONE)
                s.say_t(
                    self._(
                        "Please write what you want to add, or reply {done} if that is all. "
                        "Nothing was added."
                    ),
                    done=str(done),
                )
                s.reask()
                return
            if status and status[0] == REMOVE_TEXT:
                s.ask_remove(step)
                return
            if status and not appending:  # the exact label "I don't know" / "Prefer not to say"
                self.single_answer(step, status[0])
                return
            new_parts, files = split_long(clean_text(inbound.text)), ()
            if len(new_parts) > 1:
                s.say_t(
                    self._(
                        "That was a long message, so I kept it in {parts} parts. Nothing was lost."
                    ),
                    parts=str(len(new_parts)),
                )
        else:
            self.reprompt(multi=False, text_step=True)
            return
        earlier = s.session.answers.get(step.id)
        keep = (
            earlier if appending and earlier is not None and earlier.status == "answered" else None
        )
        parts = (*(keep.parts if keep else ()), *new_parts)
        s.record(
            step,
            "answered",
            value="\n\n".join(parts),
            parts=parts,
            message_ids=(*(keep.message_ids if keep else ()), *self.message_ids()),
            files=(*(keep.files if keep else ()), *files),
        )
        if step.multi:
            s.set_data(appending=None)
            s.place("more")
            if tell:
                s.say(self._("Added to what you wrote."))
            s.reask()
        else:
            self.after(step, s.next_of(step))

    def refuse_at_confirmation(self, choices: tuple[Choice, ...]) -> None:
        """Something other than "Delete what I wrote" / "Go back, keep it": nothing is
        recorded, and the confirmation is asked again, naming how to answer it."""
        s, _ = self.s, self._
        delete, keep = choices[0], choices[1]
        if s.inbound.numbered:
            s.say_t(
                _(
                    "Nothing has been changed. Please reply {delete} to delete what you "
                    "wrote, or {keep} to keep it."
                ),
                delete=str(delete.n),
                keep=str(keep.n),
            )
        else:
            s.say_t(
                _("Nothing has been changed. Please tap “{delete}” or “{keep}”."),
                delete=delete.label,
                keep=keep.label,
            )
        s.reask()

    def remove_text(self, step: Step) -> None:
        """Remove what the person wrote at `step`, then ask it afresh (/skip moves on)."""
        s = self.s
        s.forget(step)
        s.set_data(appending=None)
        s.say(
            self._(
                "What you wrote here is removed. You can write something new, or send /skip "
                "to move on."
            )
        )
        s.ask_step(step)

    def record_skip(self, step: Step) -> None:
        """/skip on a question: recorded as skipped, going on as its `skip_as` says."""
        s = self.s
        s.record(step, "skip")
        self.explain_unchecked(step)
        self.say_stand_in(step)
        self.after(step, self.status_target(step))

    def say_stand_in(self, step: Step) -> None:
        """A question left unanswered shows the reply of the option it is taken as."""
        option = step.option(step.skip_as) if step.skip_as else None
        if option is not None and option.reply:
            self.s.say(self.s.r.text(option.reply, self.s.session))

    def explain_unchecked(self, step: Step) -> None:
        """An understanding check left unanswered gets its explanation, as a wrong answer does."""
        if step.explain is not None and any(o.correct for o in step.options):
            self.s.say(self.s.r.text(step.explain, self.s.session))

    def answered(self, step: Step) -> bool:
        answer = self.s.session.answers.get(step.id)
        return answer is not None and answer.status == "answered"

    def message_ids(self) -> tuple[int, ...]:
        mid = self.s.inbound.message_id
        return (mid,) if mid is not None else ()

    def status_target(self, step: Step) -> str:
        """Where a skip, "I don't know" or "Prefer not to say" leads: as `skip_as`, else on."""
        return self.s.route_on(step)

    def after(self, step: Step, target: str, *, check_in: bool = True) -> None:
        """Go on after `step` was answered: back from a detour or review, a check-in, or on."""
        s = self.s
        if s.data.get("language_return"):
            self.return_from_detour("language_return")
        elif s.session.return_to:
            # Back towards the review, asking on the way only what the change newly opened.
            s.go(target, "advance" if s.session.state == step.id else "jump")
        elif check_in and step.check_in and self.answered(step):
            s.set_data(after=target)
            s.place("check-in")
            s.reask()
        else:
            s.go(target, "advance" if s.session.state == step.id else "jump")

    def return_to_review(self) -> None:
        s = self.s
        review = s.flow.review_step
        s.update(return_to=None)
        s.set_data(change_topic=None, reopened=None)
        if review is None:  # only reachable through a review step; kept for safety
            s.reask()
            return
        dropped = s.data.get("dropped_request")
        s.set_data(dropped_request=None)
        missing = [
            step_id
            for step_id in (dropped if isinstance(dropped, list) else ())
            if isinstance(step_id, str)
            and s.flow.has_step(step_id)
            and step_id not in s.session.answers
        ]
        if missing:
            # The last consent check's "I want to change something" was dropped when an
            # answer was opened from the change list, and the answer was left unchanged:
            # the check is asked again before the review, never left out of the account.
            s.update(return_to=review.id)
            s.go(missing[0], "jump")
            return
        s.place(review.id)
        s.ask_step(review)

    def back_to_change_list(self) -> None:
        """/back at a question opened from the change list: back to that list (the same
        group's answers), changing nothing; ticks not yet kept with Done are dropped."""
        s = self.s
        opened = s.data.get("reopened")
        topic = opened.get("topic") if isinstance(opened, dict) else None
        history = list(s.session.history)
        while history and history[-1] == s.session.state:
            history.pop()
        s.update(history=tuple(history), return_to=None, pending=())
        s.set_data(
            reopened=None,
            appending=None,
            removing=None,
            change_topic=topic if isinstance(topic, str) else None,
        )
        s.place("review-change")
        s.reask()

    def leave_change_list(self) -> None:
        """Back from the change list, changing nothing: from a group's answers to the
        groups, from the groups (or a list without groups) to the review."""
        s = self.s
        if s.data.get("change_topic"):
            s.set_data(change_topic=None)
            s.reask()
        else:
            self.return_to_review()

    def choose_engine(self, state: str, value: str = "resume") -> None:
        """An answer to an engine state's question."""
        s = self.s
        if state == "resume":
            if value == "restart" and s.session.answers:
                ask_before_deleting(s, {"kind": "restart"})
            elif value == "restart":
                self.restart()
            else:
                self.return_from_detour("resume_state")
        elif state in ("check-in", "stop") and value == "continue":
            target = str(s.data.get("after"))
            s.set_data(after=None, stop_from=None)
            s.go(target, "jump")
        elif state == "check-in" and value == "break":
            s.pause()
        elif state == "check-in" and value == "stop":
            s.place("stop")
            s.reask()
        elif state == "stop" and value == "review" and can_send(s):
            stopped_before = s.data.get("after")
            s.set_data(after=None)
            if s.flow.closing is not None and isinstance(stopped_before, str):
                # Whoever stops early gets the whole closing: feeling, referrals, the
                # medical reminder, the consent summary, then the review.
                s.set_data(stop_from=stopped_before)
                s.go(s.flow.closing, "jump")
                return
            review = s.flow.review_step
            assert review is not None
            s.place(review.id)
            s.ask_step(review)
        elif state == "stop" and value == "delete":
            ask_before_deleting(s, {"kind": "stop"})
        elif state == "confirm-delete":
            answer_confirmation(self, value == "delete")
        elif state == "more" and value == "more":
            step = s.flow.step(s.session.history[-1])
            s.set_data(appending=step.id)
            s.place(step.id)
            s.reask()
        elif state == "more":
            step = s.flow.step(s.session.history[-1])
            s.set_data(appending=None)
            self.after(step, s.next_of(step))
        elif state == "review-change" and value == BACK_CHOICE:
            self.leave_change_list()  # its number or label typed: as the button, /back
        elif state == "review-change" and value.startswith(TOPIC_PREFIX):
            s.set_data(change_topic=value.removeprefix(TOPIC_PREFIX))
            s.reask()
        elif state == "review-change":
            # Kept while the question is open, so that /back returns to this same list.
            s.set_data(change_topic=None, reopened={"step": value, "topic": change_topic(s)})
            s.drop_change_request()
            step = s.flow.step(value)
            review = s.flow.review_step
            s.update(return_to=review.id if review else None)
            s.place(step.id)
            s.ask_step(step)

    def restart(self) -> None:
        """Start the interview again from nothing (after "Start again" was confirmed)."""
        s = self.s
        # Who records it (documenter mode) is not an answer: it stays.
        keep = {k: v for k, v in s.session.data.items() if k == "documenter"}
        s.update(answers={}, history=(), pending=(), flags=frozenset(), consent=None, data=keep)
        s.place("new")
        s.begin(None)

    def withdraw_code(self) -> None:
        answer_code(self.s)

    def return_from_detour(self, key: str) -> None:
        """Go back to the state saved under `key` when a detour began."""
        s = self.s
        target = str(s.data.get(key, "new"))
        s.set_data(**{key: None})
        s.place(target)
        s.reask()


def toggle(step: Step, pending: tuple[str, ...], value: str) -> tuple[str, ...]:
    """A multiple-choice selection after pressing `value`'s button.

    "I don't know" and "Prefer not to say" go on their own, as an exclusive option does.
    """
    if value in pending:
        return tuple(v for v in pending if v != value)
    option = step.option(value)
    if value in (DONT_KNOW, PREFER_NOT) or (option is not None and option.exclusive):
        return (value,)
    exclusive = {o.id for o in step.options if o.exclusive}
    return select(step, (*(v for v in pending if v not in exclusive), value))


def is_exclusive(step: Step, value: str) -> bool:
    option = step.option(value)
    return option is not None and option.exclusive


def select(step: Step, values: tuple[str, ...]) -> tuple[str, ...]:
    """Chosen option ids in option order; an exclusive option clears the others."""
    exclusive = [o.id for o in step.options if o.exclusive and o.id in values]
    if exclusive:
        return (exclusive[-1],)
    return tuple(o.id for o in step.options if o.id in values)


# What a free-text step with `media: true` takes: the person's own voice, nothing else.
# Photos, documents and videos carry metadata (places, faces, names) and are taken only
# at `media` steps, which a flow turns on deliberately.
VOICE_KINDS = ("voice", "audio")


def takes_file(step: Step, media: MediaRef) -> bool:
    """Whether `step` keeps a file of this kind."""
    return step.kind == "media" or (step.media and media.kind in VOICE_KINDS)


def voice_step(sprint: Sprint, kind: str) -> bool:
    """The question asked now takes voice notes, but not a file of `kind`."""
    state = sprint.session.state
    if state == "more" and sprint.session.history:
        state = sprint.session.history[-1]
    if not sprint.flow.has_step(state):
        return False
    step = sprint.flow.step(state)
    return step.media and step.kind != "media" and kind not in VOICE_KINDS
