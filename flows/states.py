"""The questions of the engine's own states: resume, check-in, stop, more, review-change,
withdraw-code, confirm-delete. Their texts are English literals inside gettext calls (for
extraction).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flows.types import Choice, Outbound

if TYPE_CHECKING:
    from flows.sprint import Sprint


def _numbered(*pairs: tuple[str, str]) -> tuple[Choice, ...]:
    return tuple(Choice(n=i, value=v, label=label) for i, (v, label) in enumerate(pairs, 1))


def engine_choices(sprint: Sprint, state: str) -> tuple[Choice, ...]:
    """The choices an engine state offers (empty for withdraw-code, which takes text)."""
    _ = sprint._
    if state == "resume":
        return _numbered(
            ("resume", _("Continue where I left off")),
            ("restart", _("Start again and delete my answers")),
        )
    if state == "check-in":
        return _numbered(
            ("continue", _("Go on")), ("break", _("Take a break")), ("stop", _("Stop here"))
        )
    if state == "stop":
        pairs = [
            ("delete", _("Delete everything I wrote")),
            ("continue", _("Go back to the questions")),
        ]
        if can_send(sprint):
            pairs.insert(0, ("review", _("Look over what I shared and send it")))
        return _numbered(*pairs)
    if state == "more":
        return _numbered(("more", _("Add more")), ("done", _("Done")))
    if state == "confirm-delete":
        if confirming(sprint) == "withdraw":
            return _numbered(("delete", _("Delete and withdraw")), ("back", _("Go back")))
        return _numbered(("delete", _("Delete")), ("back", _("Go back")))
    if state == "review-change":
        # Last, a way out on the screen (Telegram shows one button a row and no numbers):
        # from a group's answers back to the groups, from the groups back to the review.
        back = (BACK_CHOICE, _("Go back"))
        topic = change_topic(sprint)
        if topic is None and sprint.flow.topics:
            # First the group ("When and where"), then its answers: a short list each.
            present = {step.topic for step, _a in sprint.changeable()}
            return _numbered(
                *(
                    (TOPIC_PREFIX + t.id, sprint.r.text(t.text, sprint.session))
                    for t in sprint.flow.topics
                    if t.id in present
                ),
                back,
            )
        return _numbered(
            *(
                (step.id, sprint.r.label(step))
                for step, _a in sprint.changeable()
                if topic is None or step.topic == topic
            ),
            back,
        )
    return ()


TOPIC_PREFIX = "topic:"
# The change list's "Go back": a choice read as the /back command (as the pause message's
# "/hide"), so a button, its number and a typed /back all do the same.
BACK_CHOICE = "/back"


def change_topic(sprint: Sprint) -> str | None:
    """The group of the change list chosen so far (None: the groups are asked first)."""
    topic = sprint.data.get("change_topic")
    return topic if isinstance(topic, str) else None


def can_send(sprint: Sprint) -> bool:
    """True when what was shared so far may be sent: a review step and consent to keep it."""
    consent = sprint.session.consent
    return (
        sprint.flow.review_step is not None
        and consent is not None
        and consent.scopes.get("archive") == "yes"
    )


def confirming(sprint: Sprint) -> str:
    """What the confirm-delete question is about: "answer", "stop", "restart" or "withdraw"."""
    pending = sprint.data.get("confirm")
    kind = pending.get("kind") if isinstance(pending, dict) else None
    return kind if kind in ("answer", "stop", "restart", "withdraw") else "answer"


def engine_ask(sprint: Sprint, state: str) -> Outbound:
    """The message that asks an engine state's question."""
    _ = sprint._
    texts = {
        "resume": _("Welcome back. Would you like to continue where you left off, or start again?"),
        "check-in": _(
            "Thank you for sharing this. Take a moment if you need it. "
            "Would you like to go on, take a break, or stop here?"
        ),
        "stop": _(
            "That's completely fine. What would you like to do with what you've shared so far?"
        ),
        "more": _("Thank you. Would you like to add more, or is that all for this question?"),
        "review-change": _("Which part would you like to change?")
        if sprint.flow.topics and change_topic(sprint) is None
        else _("Which answer would you like to change?"),
        "withdraw-code": _(
            "To withdraw an account given earlier, please send its reference code. "
            "It looks like K7QM-4TXA-9XP. Send /back to return."
        ),
        "confirm-delete": _(
            "This deletes everything you wrote, and it cannot be undone. "
            "Do you want to delete it, or go back?"
        )
        if confirming(sprint) != "withdraw"
        else _(
            "Withdrawing an earlier account also ends this conversation and deletes "
            "everything you wrote in it. Do you want to go on, or go back?"
        ),
    }
    choices = engine_choices(sprint, state)
    return Outbound(
        text=texts[state],
        ask=state,
        kind="free-text" if state == "withdraw-code" else "single-choice",
        choices=choices,
    )
