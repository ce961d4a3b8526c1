"""Nothing irreversible on one tap: "This deletes everything you wrote." Delete / Go back.

An answer that ends the interview and deletes it (an option marked `confirm`, or a skip
taken as one), "delete everything" at a stop, "start again" and /withdraw in the middle
of an interview are not done at once: the engine state `confirm-delete` asks first and
keeps what is pending in the session's data. Nothing is recorded or deleted until
"Delete"; "Go back" (or /back, /skip) returns to the question and keeps everything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flows.spec import Step
from flows.states import confirming
from flows.types import DONT_KNOW, PREFER_NOT

if TYPE_CHECKING:
    from flows.answers import Answers
    from flows.sprint import Sprint


def ask_before_deleting(sprint: Sprint, pending: dict[str, Any]) -> None:
    """Ask `confirm-delete`, keeping `pending` (its "kind" and what to do) until answered."""
    sprint.set_data(confirm=pending)
    sprint.update(pending=())
    sprint.place("confirm-delete")
    sprint.reask()


def confirm_first(answers: Answers, step: Step, value: str | None, *, status: str) -> bool:
    """Ask once more if this answer to `step` deletes everything; True when asked."""
    lands_on = value if status == "answered" else step.skip_as
    option = step.option(lands_on) if lands_on else None
    if option is None or not option.confirm:
        return False
    pending = {"kind": "answer", "step": step.id, "value": value, "status": status}
    ask_before_deleting(answers.s, pending)
    return True


def answer_confirmation(answers: Answers, delete: bool) -> None:
    """The answer to "This deletes everything you wrote": delete, or go back keeping all."""
    s = answers.s
    found = s.data.get("confirm")
    pending: dict[str, Any] = found if isinstance(found, dict) else {}
    kind = confirming(s)
    s.set_data(confirm=None)
    if kind == "restart":
        _back_or(s, "resume", delete, answers.restart)
    elif kind == "stop":
        _back_or(s, "stop", delete, lambda: _delete_everything(answers))
    elif kind == "withdraw":
        back_to = str(pending.get("return") or "new")
        if delete:
            s.set_data(withdraw_return=back_to)
        s.place("withdraw-code" if delete else back_to)
        s.reask()
    else:
        _answer(answers, pending, delete)


def _back_or(s: Sprint, back_to: str, delete: bool, action: Callable[[], None]) -> None:
    if delete:
        action()
    else:
        s.place(back_to)
        s.reask()


def _delete_everything(answers: Answers) -> None:
    answers.s.close(
        "exited",
        answers._("Everything you wrote here has been deleted. Take care of yourself."),
        erase=True,
    )


def _answer(answers: Answers, pending: dict[str, Any], delete: bool) -> None:
    """The confirmed (or withdrawn) answer to a step, as `confirm_first` kept it."""
    s = answers.s
    step_id = pending.get("step")
    if not isinstance(step_id, str) or not s.flow.has_step(step_id):
        s.place("new")  # nothing to confirm any more (a damaged draft): ask to /start
        s.reask()
        return
    step = s.flow.step(step_id)
    status, value = pending.get("status"), pending.get("value")
    if not delete:
        s.place(step.id)
        s.ask_step(step)
    elif status == "skip":
        answers.record_skip(step)
    elif status in (DONT_KNOW, PREFER_NOT):
        answers.single_answer(step, str(status), confirmed=True)
    else:
        answers.single_answer(step, str(value), confirmed=True)
