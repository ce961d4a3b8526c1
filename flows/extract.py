"""Babel extractor for flow YAML: every text a person reads becomes a catalog message.

`babel.cfg` names it as `flows.extract.extract_flow`, so `pybabel extract -F babel.cfg`
and `python -m flows.catalogs update` both find the flow texts next to the gettext
calls of the Python sources. Extracted: step `text`, `explain`, `skip_again` and `label`, option
`text` and `reply`, section `content_note`, topic `text`. The msgid is the string exactly as YAML reads it (the
engine looks texts up by the same string), with the YAML line as its location and a
comment naming the flow, step and field, for translators.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

import yaml

from flows.spec import LABEL_CHARS, placeholders_in

_STR_TAG = "tag:yaml.org,2002:str"
STEP_TEXT_KEYS: tuple[str, ...] = ("text", "explain", "skip_again", "label")
OPTION_TEXT_KEYS: tuple[str, ...] = ("text", "reply")
SECTION_TEXT_KEYS: tuple[str, ...] = ("content_note",)

# Told to translators beside every label, and how `flows.catalogs check` knows one.
# One line in the catalogs (a wrapped comment would read back as two).
LABEL_NOTE = f"A button in the list of answers to change: at most {LABEL_CHARS} characters."

# (line, funcname, message, comments), as babel's extractors yield them.
Extracted = tuple[int, str | None, str, list[str]]


def _items(node: yaml.Node) -> dict[str, yaml.Node]:
    """The key -> value nodes of a mapping node (empty for anything else)."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _entries(node: yaml.Node | None) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _scalar(node: yaml.Node | None) -> str | None:
    if isinstance(node, yaml.ScalarNode) and node.tag == _STR_TAG:
        return str(node.value)
    return None


def _message(node: yaml.Node | None, where: str, *notes: str) -> Extracted | None:
    text = _scalar(node)
    if node is None or text is None or not text.strip():
        return None
    comments = [where, *notes]
    names = placeholders_in(text)
    if names:
        kept = ", ".join("{" + name + "}" for name in dict.fromkeys(names))
        comments.append(f"Keep {kept} unchanged: filled in when shown.")
    return (node.start_mark.line + 1, None, text, comments)


def flow_messages(root: yaml.Node | None) -> Iterator[Extracted]:
    """Every person-facing text of one composed flow document, in file order."""
    if root is None:
        return
    top = _items(root)
    flow_id = _scalar(top.get("id")) or "flow"
    for section in _entries(top.get("sections")):
        fields = _items(section)
        where = f"{flow_id}: section {_scalar(fields.get('id')) or '?'}"
        for key in SECTION_TEXT_KEYS:
            found = _message(fields.get(key), f"{where}, {key}")
            if found:
                yield found
    for topic in _entries(top.get("topics")):
        fields = _items(topic)
        found = _message(fields.get("text"), f"{flow_id}: topic {_scalar(fields.get('id')) or '?'}")
        if found:
            yield found
    for step in _entries(top.get("steps")):
        fields = _items(step)
        where = f"{flow_id}: step {_scalar(fields.get('id')) or '?'}"
        for key in STEP_TEXT_KEYS:
            notes = (LABEL_NOTE,) if key == "label" else ()
            found = _message(fields.get(key), f"{where}, {key}", *notes)
            if found:
                yield found
        for option in _entries(fields.get("options")):
            option_fields = _items(option)
            option_where = f"{where}, option {_scalar(option_fields.get('id')) or '?'}"
            for key in OPTION_TEXT_KEYS:
                found = _message(option_fields.get(key), f"{option_where} {key}")
                if found:
                    yield found


def extract_flow(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[Extracted]:
    """Babel extraction method for flow YAML files (keywords and tags do not apply)."""
    del keywords, comment_tags  # YAML has no gettext calls or translator comments
    encoding = str(options.get("encoding", "utf-8"))
    root = yaml.compose(fileobj.read().decode(encoding), Loader=yaml.SafeLoader)
    yield from flow_messages(root)
