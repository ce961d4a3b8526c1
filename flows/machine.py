"""The rulebook: one `transitions` Machine per flow, shared by every conversation.

The only module that imports `transitions`. States are the flow's step ids plus the
engine's own states (`flows.spec.ENGINE_STATES`). Triggers:

    advance:<step>   an edge of the flow graph (next, an option's next, file order);
                     only from the steps that lead there, so a wrong move is a bug
    jump:<step>      back, resume, a change from the review, leaving a check-in: any state
    detour:<state>   into an engine state (check-in, more, resume, ...): any state

A turn restores a short-lived model with `add_model(model, initial=state)`, moves it,
and removes it again: no Machine and no model outlives the turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from transitions import Machine, MachineError

from flows.spec import ENGINE_STATES, Flow


class Position:
    """A conversation's place in the rulebook for the length of one turn."""

    state: str

    def move(self, trigger: str) -> None:
        """Fire `trigger` on this model (added by the machine)."""
        fire = getattr(self, "trigger")  # noqa: B009 — bound by transitions at add_model
        fire(trigger)


class IllegalMove(Exception):
    """The engine tried a move its flow does not allow: a bug, never a person's mistake."""


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
                transitions.append({"trigger": f"advance:{step}", "source": sources, "dest": step})
            transitions.append({"trigger": f"jump:{step}", "source": "*", "dest": step})
        for state in ENGINE_STATES:
            transitions.append({"trigger": f"detour:{state}", "source": "*", "dest": state})
        self.machine = Machine(
            model=None,
            states=list(self.states),
            transitions=transitions,
            initial="new",
            auto_transitions=False,
            send_event=False,
        )

    @contextmanager
    def position(self, state: str) -> Iterator[Position]:
        """A model placed at `state` for one turn, removed from the machine afterwards."""
        if state not in self.states:
            raise IllegalMove(f"flow {self.flow.id!r} has no state {state!r}")
        model = Position()
        self.machine.add_model(model, initial=state)
        try:
            yield model
        finally:
            self.machine.remove_model(model)

    def move(self, model: Position, how: str, target: str) -> None:
        """Move `model` to `target` by `how` (advance, jump or detour)."""
        try:
            model.move(f"{how}:{target}")
        except (MachineError, AttributeError) as error:
            raise IllegalMove(
                f"flow {self.flow.id!r}: no {how} from {model.state!r} to {target!r}"
            ) from error

    def edges(self) -> tuple[tuple[str, str], ...]:
        """The flow graph's edges (source, destination), for the diagram."""
        return tuple(
            (source, successor)
            for source in (s.id for s in self.flow.steps)
            for successor in self.flow.successors(source)
        )
