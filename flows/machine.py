"""The rulebook: one `transitions` Machine per flow, shared by every conversation.

The only module that imports `transitions`. States are the flow's step ids plus the
engine's own states (`flows.spec.ENGINE_STATES`). Three triggers, each taking the
destination as its argument and guarded by a condition on it:

    advance(step)   an edge of the flow graph (next, an option's next, file order);
                    defined only from the steps that lead there, so a wrong move is a bug
    jump(step)      back, resume, a change from the review, leaving a check-in: any state
    detour(state)   into an engine state (check-in, more, resume, ...): from any state

A turn takes a model from a small pool, sets it to the session's state, moves it and
hands it back: no Machine per person, and no model holds anything of a person between
turns (the session is the state; a pooled model only remembers a state name).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from transitions import Machine, MachineError

from flows.errors import IllegalMove
from flows.spec import ENGINE_STATES, Flow

__all__ = ["IllegalMove", "Position", "Rulebook"]


class Position:
    """A conversation's place in the rulebook for the length of one turn."""

    state: str

    def move(self, how: str, target: str) -> bool:
        """Fire trigger `how` towards `target`; False when no transition allowed it."""
        fire = getattr(self, "trigger")  # noqa: B009 — bound by transitions at add_model
        return bool(fire(how, target))


def _guarded(trigger: str, source: str | list[str], dest: str) -> dict[str, object]:
    """A transition taken only when the trigger's argument names its destination."""

    def to_dest(target: str) -> bool:
        return target == dest

    return {"trigger": trigger, "source": source, "dest": dest, "conditions": [to_dest]}


class _LeanMachine(Machine):
    """A Machine that binds no per-state helpers to its models.

    Extends `Machine._add_model_to_state`, which gives every model an `is_<state>` method
    and looks for `on_enter_<state>` callbacks on it, for each state. Our models are
    short-lived positions that use neither, and doing it for every state on every
    `add_model` would cost more than the rest of a turn.
    """

    def _add_model_to_state(self, state: object, model: object) -> None:
        return None


class Rulebook:
    """The shared machine of one flow."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        steps = [s.id for s in flow.steps]
        self.states: tuple[str, ...] = (*steps, *ENGINE_STATES)
        transitions: list[dict[str, object]] = []
        predecessors: dict[str, list[str]] = {s: [] for s in steps}
        for step in steps:
            for successor in flow.successors(step):
                predecessors[successor].append(step)
        for step, sources in predecessors.items():
            if sources:
                transitions.append(_guarded("advance", sources, step))
            transitions.append(_guarded("jump", "*", step))
        for state in ENGINE_STATES:
            transitions.append(_guarded("detour", "*", state))
        self._free: list[Position] = []
        self.machine = _LeanMachine(
            model=None,
            states=list(self.states),
            transitions=transitions,
            initial="new",
            auto_transitions=False,
            send_event=False,
        )

    @contextmanager
    def position(self, state: str) -> Iterator[Position]:
        """A model placed at `state` for one turn, handed back to a small pool afterwards.

        Models are reused (set to the turn's state) instead of added to and removed from
        the machine every turn; the pool holds as many as turns ever ran at once, and a
        model carries nothing of a person but the state name it was last set to.
        """
        if state not in self.states:
            raise IllegalMove(f"flow {self.flow.id!r} has no state {state!r}")
        try:
            model = self._free.pop()
        except IndexError:
            model = Position()
            self.machine.add_model(model, initial=state)
        else:
            self.machine.set_state(state, model=model)
        try:
            yield model
        finally:
            self._free.append(model)

    def move(self, model: Position, how: str, target: str) -> None:
        """Move `model` to `target` by `how` (advance, jump or detour)."""
        try:
            moved = model.move(how, target)
        except MachineError as error:
            raise IllegalMove(f"flow {self.flow.id!r}: no {how} from {model.state!r}") from error
        if not moved:
            raise IllegalMove(f"flow {self.flow.id!r}: no {how} from {model.state!r} to {target!r}")

    def edges(self) -> tuple[tuple[str, str], ...]:
        """The flow graph's edges (source, destination), for the diagram."""
        return tuple(
            (source, successor)
            for source in (s.id for s in self.flow.steps)
            for successor in self.flow.successors(source)
        )
