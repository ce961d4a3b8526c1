"""Load flow YAML into `flows.spec` values, failing with `FILE:LINE: reason`.

The YAML is composed (not constructed) so that every node keeps its line; each value is
checked where it is read, then `flows.validate` checks what spans steps (references,
reachability, placeholders). The first mistake found is raised as a `FlowError`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path

import yaml

from flows.errors import FlowError
from flows.spec import (
    CHOICE_KINDS,
    CONSENT_SECTION,
    CONSENT_VALUES,
    ELEMENTS,
    END_REASONS,
    ENGINE_STATES,
    KINDS,
    LABEL_CHARS,
    MODES,
    Condition,
    Flow,
    Option,
    Section,
    Step,
    Topic,
    placeholders_in,
)
from flows.validate import validate_flow

__all__ = ["DEFINITIONS_DIR", "FlowError", "load_flow", "load_flows"]

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"
ID_PATTERN = re.compile(r"^[a-z0-9-]+$")

FLOW_KEYS = ("id", "version", "mode", "start", "closing", "sections", "topics", "steps")
TOPIC_KEYS = ("id", "text")
SECTION_KEYS = ("id", "content_note")
STEP_KEYS = (
    "id", "kind", "text", "options", "next", "ask_if", "section", "check_in",
    "identifying", "elements", "consent", "skip_as", "dont_know", "prefer_not", "sets",
    "multi", "media", "quote_from", "explain", "skip_again", "reason", "remember",
    "source_of", "language_from", "process", "topic", "options_from", "label",
    "needs_answer",
)  # fmt: skip
OPTION_KEYS = (
    "id", "text", "next", "reply", "flags", "exclusive", "correct", "confirm", "ask_if",
    "elements",
)  # fmt: skip
CONDITION_KEYS = ("step", "in", "not_in", "answered", "flag")

_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"


def line_of(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class Fields(dict[str, yaml.Node]):
    """A mapping's values by key, with the line of each key."""

    key_lines: dict[str, int]


class _Reader:
    """Typed reads from composed YAML nodes, raising FlowError at the node's line."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, node: yaml.Node | int, reason: str) -> FlowError:
        line = node if isinstance(node, int) else line_of(node)
        return FlowError(self.path, line, reason)

    def mapping(self, node: yaml.Node, what: str, keys: tuple[str, ...]) -> Fields:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping of keys to values")
        found = Fields()
        found.key_lines = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str) or key not in keys:
                known = ", ".join(keys)
                raise self.fail(key_node, f"unknown key {key!r} in {what} (known: {known})")
            if key in found:
                raise self.fail(key_node, f"duplicate key {key!r} in {what}")
            found[key] = value_node
            found.key_lines[key] = line_of(key_node)
        return found

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def text(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            raise self.fail(node, f"{what} must be text")
        value = str(node.value).strip()
        if not value:
            raise self.fail(node, f"{what} is empty")
        return value

    def ident(self, node: yaml.Node, what: str) -> str:
        value = self.text(node, what)
        if not ID_PATTERN.match(value):
            raise self.fail(node, f"{what} {value!r} must use only a-z, 0-9 and '-'")
        return value

    def idents(self, node: yaml.Node, what: str) -> tuple[str, ...]:
        if isinstance(node, yaml.ScalarNode):
            return (self.ident(node, what),)
        return tuple(self.ident(item, what) for item in self.sequence(node, what))

    def flag(self, node: yaml.Node, what: str) -> bool:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _BOOL:
            raise self.fail(node, f"{what} must be true or false")
        return str(node.value).lower() in ("true", "yes", "on")

    def one_of(self, node: yaml.Node, what: str, allowed: tuple[str, ...]) -> str:
        value = self.text(node, what)
        if value not in allowed:
            raise self.fail(node, f"bad {what} {value!r} (one of: {', '.join(allowed)})")
        return value


def load_flow(path: str | Path) -> Flow:
    """Read, validate and return the flow in `path`; raise FlowError on any mistake."""
    path = Path(path)
    reader = _Reader(str(path))
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise FlowError(path, 1, f"cannot read the file ({error.__class__.__name__})") from None
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        raise FlowError(path, line, f"YAML syntax error: {error.problem}") from None
    if root is None:
        raise FlowError(path, 1, "the file is empty")
    flow = _read_flow(reader, root, path)
    validate_flow(flow)
    return flow


def load_flows(directory: str | Path = DEFINITIONS_DIR) -> dict[str, Flow]:
    """Every `*.yaml` flow in `directory`, by id."""
    return {flow.id: flow for flow in map(load_flow, sorted(Path(directory).glob("*.yaml")))}


def _read_flow(reader: _Reader, root: yaml.Node, path: Path) -> Flow:
    top = reader.mapping(root, "the flow", FLOW_KEYS)
    for key in ("id", "version", "start", "steps"):
        if key not in top:
            raise reader.fail(root, f"the flow needs `{key}`")
    flow_id = reader.ident(top["id"], "flow id")
    if flow_id != path.stem:
        raise reader.fail(top["id"], f"flow id {flow_id!r} must match the file name {path.stem!r}")
    version = reader.text(top["version"], "version")
    mode = reader.one_of(top["mode"], "mode", MODES) if "mode" in top else "survivor"
    sections = _read_sections(reader, top["sections"]) if "sections" in top else ()
    topics = _read_topics(reader, top["topics"]) if "topics" in top else ()
    step_nodes = reader.sequence(top["steps"], "steps")
    if not step_nodes:
        raise reader.fail(top["steps"], "the flow has no steps")
    steps = tuple(_read_step(reader, node) for node in step_nodes)
    start = reader.ident(top["start"], "start")
    closing = reader.ident(top["closing"], "closing") if "closing" in top else None
    flow = Flow(
        id=flow_id,
        version=version,
        mode=mode,
        start=start,
        sections=sections,
        steps=steps,
        path=str(path),
        consent_hash="",
        closing=closing,
        topics=topics,
    )
    if not flow.has_step(start):
        raise reader.fail(top["start"], f"start step {start!r} does not exist")
    if closing is not None and not flow.has_step(closing):
        raise reader.fail(top["closing"], f"closing step {closing!r} does not exist")
    return replace(flow, consent_hash=consent_hash(flow))


def _read_sections(reader: _Reader, node: yaml.Node) -> tuple[Section, ...]:
    sections: list[Section] = []
    for item in reader.sequence(node, "sections"):
        fields = reader.mapping(item, "a section", SECTION_KEYS)
        if "id" not in fields:
            raise reader.fail(item, "a section needs `id`")
        section_id = reader.ident(fields["id"], "section id")
        if any(s.id == section_id for s in sections):
            raise reader.fail(fields["id"], f"duplicate section id {section_id!r}")
        note = (
            reader.text(fields["content_note"], "content_note")
            if "content_note" in fields
            else None
        )
        sections.append(Section(id=section_id, line=line_of(item), content_note=note))
    return tuple(sections)


def _read_topics(reader: _Reader, node: yaml.Node) -> tuple[Topic, ...]:
    topics: list[Topic] = []
    for item in reader.sequence(node, "topics"):
        fields = reader.mapping(item, "a topic", TOPIC_KEYS)
        if "id" not in fields or "text" not in fields:
            raise reader.fail(item, "a topic needs `id` and `text`")
        topic_id = reader.ident(fields["id"], "topic id")
        if any(t.id == topic_id for t in topics):
            raise reader.fail(fields["id"], f"duplicate topic id {topic_id!r}")
        topics.append(Topic(topic_id, reader.text(fields["text"], "text"), line_of(item)))
    return tuple(topics)


def _read_step(reader: _Reader, node: yaml.Node) -> Step:
    f = reader.mapping(node, "a step", STEP_KEYS)
    if "id" not in f:
        raise reader.fail(node, "a step needs `id`")
    step_id = reader.ident(f["id"], "step id")
    if step_id in ENGINE_STATES:
        raise reader.fail(f["id"], f"step id {step_id!r} is reserved for the engine")
    if "kind" not in f:
        raise reader.fail(node, f"step {step_id!r} needs `kind`")
    kind = reader.one_of(f["kind"], "kind", KINDS)
    if "text" not in f:
        raise reader.fail(node, f"step {step_id!r} needs `text`")

    def opt_text(key: str) -> str | None:
        return reader.text(f[key], key) if key in f else None

    def opt_flag(key: str) -> bool:
        return reader.flag(f[key], key) if key in f else False

    options = _read_options(reader, f["options"], step_id) if "options" in f else ()
    ask_if = _read_conditions(reader, f["ask_if"]) if "ask_if" in f else ()
    step = Step(
        id=step_id,
        kind=kind,
        text=reader.text(f["text"], "text"),
        line=line_of(node),
        options=options,
        next=reader.ident(f["next"], "next") if "next" in f else None,
        ask_if=ask_if,
        section=reader.ident(f["section"], "section") if "section" in f else None,
        check_in=opt_flag("check_in"),
        identifying=opt_flag("identifying"),
        elements=tuple(reader.one_of(e, "element", ELEMENTS) for e in reader.sequence(f["elements"], "elements")) if "elements" in f else (),
        consent=reader.one_of(f["consent"], "consent scope", tuple(CONSENT_VALUES)) if "consent" in f else None,
        skip_as=reader.ident(f["skip_as"], "skip_as") if "skip_as" in f else None,
        dont_know=opt_flag("dont_know"),
        prefer_not=opt_flag("prefer_not"),
        sets=reader.one_of(f["sets"], "sets", ("language",)) if "sets" in f else None,
        multi=opt_flag("multi"),
        media=opt_flag("media"),
        quote_from=reader.ident(f["quote_from"], "quote_from") if "quote_from" in f else None,
        explain=opt_text("explain"),
        skip_again=opt_text("skip_again"),
        reason=reader.one_of(f["reason"], "reason", END_REASONS) if "reason" in f else None,
        remember=opt_flag("remember"),
        source_of=reader.ident(f["source_of"], "source_of") if "source_of" in f else None,
        language_from=reader.ident(f["language_from"], "language_from") if "language_from" in f else None,
        process=opt_flag("process"),
        needs_answer=opt_flag("needs_answer"),
        topic=reader.ident(f["topic"], "topic") if "topic" in f else None,
        label=opt_text("label"),
        options_from=reader.one_of(f["options_from"], "options_from", ("regions",))
        if "options_from" in f
        else None,
        key_lines=tuple(f.key_lines.items()),
    )  # fmt: skip
    _check_step_shape(reader, step, f, node)
    return step


def _check_step_shape(reader: _Reader, step: Step, f: Fields, node: yaml.Node) -> None:
    """Checks that need only the step itself: which fields fit which kind."""
    kind, sid = step.kind, step.id
    if kind in ("single-choice", "multiple-choice") and not step.options:
        raise reader.fail(node, f"{kind} step {sid!r} needs `options`")
    if kind not in CHOICE_KINDS and "options" in f:
        raise reader.fail(f.key_lines["options"], f"a {kind} step cannot have `options`")
    if kind == "yes-no" and step.options and sorted(o.id for o in step.options) != ["no", "yes"]:
        raise reader.fail(
            f.key_lines["options"], f"yes-no step {sid!r} options must be `yes` and `no`"
        )
    if kind == "end" and step.reason is None:
        raise reader.fail(node, f"end step {sid!r} needs `reason`")
    if kind != "end" and "reason" in f:
        raise reader.fail(f["reason"], "only an `end` step has a `reason`")
    if kind == "end" and "next" in f:
        raise reader.fail(f["next"], "an `end` step cannot have `next`")
    for key in ("multi", "media", "quote_from"):
        if key in f and kind != "free-text":
            raise reader.fail(f[key], f"`{key}` belongs on a free-text step")
    if "options_from" in f and kind != "single-choice":
        raise reader.fail(f["options_from"], "`options_from` belongs on a single-choice step")
    if "sets" in f and kind != "single-choice":
        raise reader.fail(f["sets"], "`sets: language` belongs on a single-choice step")
    if "check_in" in f and not step.asks:
        raise reader.fail(f["check_in"], "`check_in` belongs on a step that asks something")
    for o in step.options:
        if o.exclusive and kind != "multiple-choice":
            raise reader.fail(o.line, "`exclusive` belongs on a multiple-choice option")
        if o.next is not None and kind == "multiple-choice":
            raise reader.fail(o.line, "a multiple-choice option cannot have `next`")
    if any(o.correct for o in step.options) and step.explain is None:
        raise reader.fail(node, f"step {sid!r} has a `correct` option but no `explain` text")
    if step.explain is not None and not any(o.correct for o in step.options):
        raise reader.fail(f["explain"], "`explain` needs an option marked `correct: true`")
    if (
        step.skip_as is not None
        and step.option(step.skip_as) is None
        and not (kind == "yes-no" and step.skip_as in ("yes", "no"))
    ):
        raise reader.fail(
            f["skip_as"], f"skip_as {step.skip_as!r} is not an option of step {sid!r}"
        )
    if step.needs_answer and (step.skip_as is not None or step.skip_again is not None):
        raise reader.fail(
            f["needs_answer"], f"step {sid!r} needs an answer, so it cannot have `skip_as`"
        )
    if step.skip_again is not None and step.skip_as is None:
        raise reader.fail(f["skip_again"], "`skip_again` needs `skip_as`: what a second skip means")
    for o in step.options:
        if o.confirm and (kind == "multiple-choice" or o.next is None):
            raise reader.fail(
                o.line_of("confirm"), "`confirm` belongs on an option with `next` (to an end)"
            )
    if step.consent is not None:
        allowed = CONSENT_VALUES[step.consent]
        ids = [o.id for o in step.options] or ["yes", "no"]
        if kind not in ("yes-no", "single-choice") or any(i not in allowed for i in ids):
            raise reader.fail(
                f["consent"],
                f"a `{step.consent}` consent step must be a choice of {', '.join(allowed)}",
            )
    if step.sets == "language" and any(o.next or o.flags for o in step.options):
        raise reader.fail(f["sets"], "language options cannot have `next` or `flags`")
    if kind in ("info", "end", "review") and (step.dont_know or step.prefer_not):
        raise reader.fail(node, f"a {kind} step cannot offer `dont_know` or `prefer_not`")
    if step.label is not None:
        _check_label(reader, step, f["label"])


def _check_label(reader: _Reader, step: Step, node: yaml.Node) -> None:
    """A label is a few plain words on one button: short, and the same every time."""
    assert step.label is not None
    names = placeholders_in(step.label)
    if names:
        listed = ", ".join("{" + name + "}" for name in names)
        raise reader.fail(
            node, f"a label cannot use placeholders ({listed}): keep it to a few plain words"
        )
    if len(step.label) > LABEL_CHARS:
        raise reader.fail(
            node,
            f"the label of step {step.id!r} has {len(step.label)} characters; "
            f"at most {LABEL_CHARS} fit on a phone's button",
        )


def _read_options(reader: _Reader, node: yaml.Node, step_id: str) -> tuple[Option, ...]:
    options: list[Option] = []
    for item in reader.sequence(node, "options"):
        f = reader.mapping(item, "an option", OPTION_KEYS)
        if "id" not in f:
            raise reader.fail(item, f"an option of step {step_id!r} needs `id`")
        option_id = reader.ident(f["id"], "option id")
        if option_id in ("dont-know", "prefer-not", "done"):
            raise reader.fail(
                f["id"],
                f"option id {option_id!r} is reserved (use dont_know / prefer_not on the step)",
            )
        if any(o.id == option_id for o in options):
            raise reader.fail(f["id"], f"duplicate option id {option_id!r} in step {step_id!r}")
        if "text" not in f:
            raise reader.fail(item, f"option {option_id!r} needs `text`")
        options.append(
            Option(
                id=option_id,
                text=reader.text(f["text"], "text"),
                line=line_of(item),
                next=reader.ident(f["next"], "next") if "next" in f else None,
                reply=reader.text(f["reply"], "reply") if "reply" in f else None,
                flags=reader.idents(f["flags"], "flag") if "flags" in f else (),
                exclusive=reader.flag(f["exclusive"], "exclusive") if "exclusive" in f else False,
                correct=reader.flag(f["correct"], "correct") if "correct" in f else False,
                confirm=reader.flag(f["confirm"], "confirm") if "confirm" in f else False,
                ask_if=_read_conditions(reader, f["ask_if"]) if "ask_if" in f else (),
                elements=tuple(
                    reader.one_of(e, "element", ELEMENTS)
                    for e in reader.sequence(f["elements"], "elements")
                )
                if "elements" in f
                else None,
                key_lines=tuple(f.key_lines.items()),
            )
        )
    return tuple(options)


def _read_conditions(reader: _Reader, node: yaml.Node) -> tuple[Condition, ...]:
    items = reader.sequence(node, "ask_if") if isinstance(node, yaml.SequenceNode) else [node]
    conditions: list[Condition] = []
    for item in items:
        f = reader.mapping(item, "a condition", CONDITION_KEYS)
        tests = [k for k in ("in", "not_in", "answered") if k in f]
        if ("step" in f) == ("flag" in f):
            raise reader.fail(item, "a condition needs exactly one of `step` or `flag`")
        if "flag" in f:
            if tests:
                raise reader.fail(item, "a `flag` condition takes no `in`, `not_in` or `answered`")
            conditions.append(Condition(line=line_of(item), flag=reader.ident(f["flag"], "flag")))
            continue
        if len(tests) != 1:
            raise reader.fail(
                item, "a `step` condition needs exactly one of `in`, `not_in` or `answered`"
            )
        conditions.append(
            Condition(
                line=line_of(item),
                step=reader.ident(f["step"], "step"),
                in_=reader.idents(f["in"], "option id") if "in" in f else None,
                not_in=reader.idents(f["not_in"], "option id") if "not_in" in f else None,
                answered=reader.flag(f["answered"], "answered") if "answered" in f else None,
            )
        )
    return tuple(conditions)


def consent_hash(flow: Flow) -> str:
    """SHA-256 over the consent section's texts: the version a consent record cites."""
    section = flow.section(CONSENT_SECTION)
    parts: list[object] = [section.content_note if section else None]
    for step in flow.steps:
        if step.section == CONSENT_SECTION:
            parts.append(
                [step.id, step.text, step.explain, [[o.id, o.text, o.reply] for o in step.options]]
            )
    canonical = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
