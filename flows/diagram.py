"""A Mermaid state diagram of a flow (`attest flows diagram NAME`)."""

from __future__ import annotations

from flows.spec import Condition, Flow, Step


def _node(step_id: str) -> str:
    return "s_" + step_id.replace("-", "_")


def _condition(condition: Condition) -> str:
    if condition.flag is not None:
        return f"flag {condition.flag}"
    if condition.in_ is not None:
        return f"{condition.step} in {'/'.join(condition.in_)}"
    if condition.not_in is not None:
        return f"{condition.step} not in {'/'.join(condition.not_in)}"
    return f"{condition.step} answered" if condition.answered else f"{condition.step} unanswered"


def _label(step: Step) -> str:
    details = [step.kind]
    if step.ask_if:
        details.append("if " + " and ".join(_condition(c) for c in step.ask_if))
    if step.quote_from:
        details.append(f"if {step.quote_from} answered")
    if step.check_in:
        details.append("then check-in")
    if step.reason:
        details.append(step.reason)
    return f"{step.id} ({', '.join(details)})".replace('"', "'")


def mermaid(flow: Flow) -> str:
    """The flow as `stateDiagram-v2` text: steps, their edges, and option routes labelled."""
    lines = ["stateDiagram-v2", f"    %% flow {flow.id}, version {flow.version}"]
    for step in flow.steps:
        lines.append(f'    state "{_label(step)}" as {_node(step.id)}')
    lines.append(f"    [*] --> {_node(flow.start)}")
    for step in flow.steps:
        if step.kind == "end":
            lines.append(f"    {_node(step.id)} --> [*]")
            continue
        routed = {o.next for o in step.options if o.next}
        for option in step.options:
            if option.next:
                lines.append(f"    {_node(step.id)} --> {_node(option.next)} : {option.id}")
        default = flow.default_next(step.id)
        if default is not None and (default not in routed or len(routed) < len(step.options)):
            lines.append(f"    {_node(step.id)} --> {_node(default)}")
    return "\n".join(lines) + "\n"
