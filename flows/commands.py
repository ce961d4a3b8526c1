"""Commands (skip, back, pause, resume, help, language, exit, withdraw) and the way in.

`Reading.dispatch` is where every inbound event enters: a start, a command (as `/word`,
a command event, or the bare word in any language), or an answer for `Answers`.
"""

from __future__ import annotations

from flows.answers import Answers
from flows.confirm import answer_confirmation, ask_before_deleting, confirm_first
from flows.parse import read_command
from flows.spec import ENGINE_STATES


class Reading(Answers):
    """Reads one inbound event and drives the sprint accordingly."""

    # -- entry ---------------------------------------------------------------------

    def dispatch(self) -> None:
        s, inbound = self.s, self.s.inbound
        command = read_command(inbound, s.r.translator)
        if s.session.status == "paused":
            s.update(status="active")  # anything the person sends ends the pause (/pause too)
        if inbound.kind == "start" or command == "start":
            words = inbound.text.split()
            hint = words[-1] if words and not words[-1].startswith("/") else None
            self.start(inbound.language_hint or hint)
        elif command is not None:
            self.command(command)
        elif s.session.state == "new":
            s.begin(inbound.language_hint)
        else:
            self.answer()

    def start(self, hint: str | None) -> None:
        s = self.s
        if s.session.state == "new":
            s.begin(hint)
            return
        if s.session.state != "resume":
            s.set_data(resume_state=s.session.state)
            s.place("resume")
        s.reask()

    # -- commands ------------------------------------------------------------------

    def command(self, name: str) -> None:
        s, _ = self.s, self._
        if name == "exit":
            s.quick_exit()
        elif name == "pause":
            s.pause()
        elif name == "hide":
            s.hide()
        elif name == "resume":
            self.choose_engine("resume") if s.session.state == "resume" else s.reask()
        elif name == "help":
            s.say_t(_("If you need support, you can contact:\n{referrals}"))
            s.say(
                _(
                    "You can send /skip to skip a question, /back to go back, /pause to take a "
                    "break, /hide to clear this chat's messages but keep your answers, "
                    "/language to change the language, and /exit to leave at once: it deletes "
                    "your answers and this chat's recent messages (older ones you may need to "
                    "delete yourself). Instead of /exit you can also type just the word “exit”."
                )
            )
            s.reask()
        elif name == "language":
            self.change_language()
        elif name == "withdraw":
            self.withdraw()
        elif name == "back":
            self.back()
        elif name == "skip":
            self.skip()
        else:
            s.say(
                _(
                    "I don't know that command. You can use /skip, /back, /pause, /resume, "
                    "/hide, /help, /language, /exit or /withdraw."
                )
            )
            s.reask()

    def withdraw(self) -> None:
        """/withdraw: ask for the code; in the middle of an interview, confirm first.

        Withdrawing ends this conversation and deletes what the person wrote in it, so that
        is said, and asked, before the code is.
        """
        s = self.s
        state = s.session.state
        if state in ("withdraw-code", "confirm-delete"):
            s.reask()
            return
        language = s.flow.language_step
        written = [k for k in s.session.answers if language is None or k != language.id]
        if written and state != "new":
            ask_before_deleting(s, {"kind": "withdraw", "return": state})
            return
        s.set_data(withdraw_return=state)
        s.place("withdraw-code")
        s.reask()

    def change_language(self) -> None:
        s = self.s
        step = s.flow.language_step
        if step is None or len(step.options) < 2 or s.session.state == step.id:
            if step is None or len(step.options) < 2:
                s.say(self._("This interview is available in one language only."))
            s.reask()
            return
        s.set_data(language_return=s.session.state)
        s.place(step.id)
        s.ask_step(step, keep_history=True)

    def back(self) -> None:
        s, state = self.s, self.s.session.state
        if state == "confirm-delete":
            answer_confirmation(self, delete=False)
        elif state == "withdraw-code":
            self.return_from_detour("withdraw_return")
        elif s.data.get("language_return"):
            self.return_from_detour("language_return")
        elif state == "resume":
            self.choose_engine("resume")
        elif state == "new":
            s.reask()
        elif state == "review-change":
            self.leave_change_list()
        elif self.opened_from_change_list(state):
            self.back_to_change_list()
        elif state in ENGINE_STATES:
            s.set_data(appending=None)
            last = s.session.history[-1]
            s.place(last)
            s.ask_step(s.flow.step(last))
        else:
            self.back_from_step(state)

    def opened_from_change_list(self, state: str) -> bool:
        """`state` is the question just picked from the review's change list."""
        opened = self.s.data.get("reopened")
        return (
            isinstance(opened, dict)
            and opened.get("step") == state
            and self.s.session.return_to is not None
        )

    def back_from_step(self, state: str) -> None:
        s = self.s
        history = list(s.session.history)
        while history and history[-1] == state:
            history.pop()
        if not history:
            s.say(self._("This is the first question, so there is nothing to go back to."))
            s.reask()
            return
        previous = history.pop()
        # Still inside a change made from the review (the review is further back): keep the
        # way back to it, so answered questions are passed over again on the way.
        return_to = s.session.return_to if s.session.return_to in history else None
        s.update(history=tuple(history), return_to=return_to, pending=())
        s.set_data(appending=None)
        s.place(previous)
        s.ask_step(s.flow.step(previous))

    def skip(self) -> None:
        s, state = self.s, self.s.session.state
        if state in ("check-in", "stop"):
            self.choose_engine(state, "continue")
        elif state == "more":
            self.choose_engine(state, "done")
        elif state == "review-change":
            self.return_to_review()
        elif state in ("resume", "withdraw-code", "new", "confirm-delete") or s.data.get(
            "language_return"
        ):
            self.back()
        else:
            step = s.flow.step(state)
            if step.kind == "review":
                s.say(self._("Please choose whether to send your account or change an answer."))
                s.reask()
            elif step.needs_answer:
                # Consent is never assumed: a skip here would send the account as if "yes".
                s.say(
                    self._(
                        "This one needs an answer, so it can't be skipped. Please choose "
                        "one of the options. You can also send /pause to take a break."
                    )
                )
                s.reask()
            elif s.data.get("appending") == step.id:
                self.choose_engine("more", "done")
            elif step.id in s.session.answers:
                # Asked again (after /back, or from the review): /skip leaves the earlier
                # answer as it was, so stepping back to look and forward again loses nothing.
                s.say(self._("Your earlier answer is kept."))
                s.update(pending=())
                self.after(step, s.route_on(step), check_in=False)
            elif step.skip_again and s.data.get("skipped_once") != step.id:
                # A question whose skip would be taken as an answer is asked once more.
                s.set_data(skipped_once=step.id)
                s.say(s.r.text(step.skip_again, s.session))
                s.reask()
            elif not confirm_first(self, step, None, status="skip"):
                self.record_skip(step)
