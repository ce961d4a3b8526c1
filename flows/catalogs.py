"""Translation catalogs: re-extract the template, update every language, check completeness.

    python -m flows.catalogs update       # messages.pot, every messages.po and its .mo
    python -m flows.catalogs check        # non-zero exit if stale or incomplete
    python -m flows.catalogs init LANG    # start a catalog for a new language

Messages come from the Python sources (gettext, ngettext, _ and N_ calls) and from the
flow YAML texts (`flows.extract`), as `babel.cfg` maps them. English is the source
language: its catalog may leave every msgstr empty (gettext then shows the source text),
so it is complete by definition. Every other catalog must translate every message, with
nothing fuzzy, or `check` fails: a half-translated interview would switch language in
the middle of someone's account. A step's label (a button in the review's list of
answers to change) must stay within `LABEL_CHARS` in every language. In right-to-left catalogs (Arabic, Persian) `update`
wraps every /command and Latin word in direction isolates (`flows.bidi`), and `check`
fails on one left bare: unwrapped, "/exit" shows as "exit/".

`update` also compiles each messages.po into the messages.mo beside it, which every start
reads instead of parsing the .po (`flows.i18n`); `check` fails on a .mo compiled from an
older .po. Commit both.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from flows.bidi import LRI, PDI, is_rtl, isolate_latin, unisolated
from flows.extract import LABEL_NOTE
from flows.i18n import (
    LOCALES_DIR,
    SOURCE_LANGUAGE,
    compile_catalog,
    compiled_path,
    po_stamp,
    read_compiled,
)
from flows.spec import LABEL_CHARS

ROOT = LOCALES_DIR.parent
MAPPING = ROOT / "babel.cfg"
TEMPLATE_NAME = "messages.pot"
PROJECT = "Attest"
HEADER = (
    "# {what} of Attest.\n"
    "# Source texts are English; regenerate with `python -m flows.catalogs update`.\n"
    "# Keep {{placeholders}} unchanged. Plain, warm, non-judgmental words: see the\n"
    "# interview guide.\n"
    "#"
)

# A message's identity in a catalog: msgid (a tuple for plurals) and context.
MessageKey = tuple[str | tuple[str, ...], str | None]


@dataclass(frozen=True)
class Problem:
    """One reason `check` fails, in words a translator can act on."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


def extract_template(root: Path = ROOT, mapping: Path = MAPPING) -> Catalog:
    """A fresh template catalog extracted from the sources under `root`."""
    with mapping.open(encoding="utf-8") as handle:
        # babel ships this function without type hints.
        method_map, options_map = parse_mapping_cfg(handle, str(mapping))  # type: ignore[no-untyped-call]
    template = Catalog(
        project=PROJECT,
        header_comment=HEADER.format(what="Translation template"),
        charset="utf-8",
        fuzzy=False,
    )
    for filename, lineno, message, comments, context in extract_from_dir(
        root,
        method_map,
        options_map,
        keywords=DEFAULT_KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    ):
        location = (Path(filename).as_posix(), lineno)
        template.add(message, None, [location], auto_comments=comments, context=context)
    return template


def read_catalog(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def keys(catalog: Catalog) -> set[MessageKey]:
    """The msgids (with contexts) of a catalog, without the header entry."""
    return {_key(m) for m in catalog if m.id}


def _key(message: Message) -> MessageKey:
    msgid = message.id
    return (tuple(msgid) if isinstance(msgid, (list, tuple)) else str(msgid), message.context)


def _render(catalog: Catalog, *, ignore_obsolete: bool = False) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=88, ignore_obsolete=ignore_obsolete)
    return buffer.getvalue()


def _shape(catalog: Catalog) -> list[tuple[object, ...]]:
    """What a template says, minus its dates (so re-extracting unchanged sources is a no-op)."""
    return [
        (_key(m), tuple(sorted(m.locations)), tuple(m.auto_comments), tuple(sorted(m.flags)))
        for m in catalog
        if m.id
    ]


def languages(locales_dir: Path = LOCALES_DIR) -> tuple[str, ...]:
    """Languages with a catalog under `locales_dir`, sorted."""
    if not locales_dir.exists():
        return ()
    return tuple(
        sorted(p.name for p in locales_dir.iterdir() if (p / "LC_MESSAGES/messages.po").exists())
    )


def po_path(language: str, locales_dir: Path = LOCALES_DIR) -> Path:
    return locales_dir / language / "LC_MESSAGES" / "messages.po"


def write_template(fresh: Catalog, locales_dir: Path = LOCALES_DIR) -> bool:
    """Write the template if its messages, places or comments changed; True if written."""
    path = locales_dir / TEMPLATE_NAME
    if path.exists() and _shape(read_catalog(path)) == _shape(fresh):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_render(fresh))
    return True


def update_catalog(language: str, template: Catalog, locales_dir: Path = LOCALES_DIR) -> bool:
    """Merge the template into one language's catalog; True if the file changed."""
    path = po_path(language, locales_dir)
    catalog = read_catalog(path, language)
    source = language == SOURCE_LANGUAGE
    # English translates nothing, so fuzzy guesses and obsolete entries are only noise.
    catalog.update(template, no_fuzzy_matching=source)
    if source:
        catalog.obsolete.clear()
    if is_rtl(language):
        for message in catalog:
            _isolate(message)
    rendered = _render(catalog, ignore_obsolete=source)
    if path.read_bytes() == rendered:
        return False
    path.write_bytes(rendered)
    return True


def _isolate(message: Message) -> None:
    """Commands and Latin words of a right-to-left translation wrapped in isolates.

    A msgstr equal to its msgid (a language's own name, kept unchanged) stays as it is.
    """
    if not message.id or message.string == message.id:
        return
    if isinstance(message.string, (list, tuple)):
        message.string = tuple(isolate_latin(s) if s else s for s in message.string)
    elif message.string:
        message.string = isolate_latin(message.string)


def _language_name(language: str) -> str:
    try:
        return str(Locale.parse(language).english_name)
    except (ValueError, UnknownLocaleError):
        return language


def init_catalog(language: str, locales_dir: Path = LOCALES_DIR) -> Path:
    """Start the catalog of a new language from the template (every message untranslated)."""
    path = po_path(language, locales_dir)
    if path.exists():
        raise FileExistsError(f"{path} already exists; use `update` instead.")
    template = read_catalog(locales_dir / TEMPLATE_NAME)
    catalog = Catalog(
        locale=language,
        project=PROJECT,
        header_comment=HEADER.format(what=f"The {_language_name(language)} catalog"),
        charset="utf-8",
        fuzzy=False,
    )
    catalog.update(template, no_fuzzy_matching=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_render(catalog))
    return path


def update(root: Path = ROOT, locales_dir: Path = LOCALES_DIR) -> list[str]:
    """Re-extract the template and merge it into every catalog; the files that changed."""
    changed: list[str] = []
    if write_template(extract_template(root), locales_dir):
        changed.append(TEMPLATE_NAME)
    # Merge from the file on disk, so catalogs only change when the template did.
    template = read_catalog(locales_dir / TEMPLATE_NAME)
    for language in languages(locales_dir):
        if update_catalog(language, template, locales_dir):
            changed.append(str(po_path(language, locales_dir).relative_to(locales_dir)))
    return changed


def compile_all(locales_dir: Path = LOCALES_DIR) -> list[str]:
    """Compile every messages.po into the messages.mo beside it; the .mo files that changed."""
    changed: list[str] = []
    for language in languages(locales_dir):
        path = compiled_path(language, locales_dir)
        compiled = compile_catalog(po_path(language, locales_dir).read_bytes(), language)
        if path.exists() and path.read_bytes() == compiled:
            continue
        path.write_bytes(compiled)
        changed.append(str(path.relative_to(locales_dir)))
    return changed


def stale_compiled(locales_dir: Path = LOCALES_DIR) -> list[Problem]:
    """Shipped .mo files compiled from another version of their .po (never used as they are)."""
    problems: list[Problem] = []
    for language in languages(locales_dir):
        path = compiled_path(language, locales_dir)
        if not path.exists():
            continue  # nothing shipped to go wrong: the .po is read instead (slower)
        shipped = read_compiled(path)
        source = sha256(po_path(language, locales_dir).read_bytes()).hexdigest()
        if shipped is None or po_stamp(shipped) != source:
            problems.append(
                Problem(
                    str(path.relative_to(locales_dir)),
                    "compiled from an older messages.po; run `python -m flows.catalogs update`",
                )
            )
    return problems


def stale_template(root: Path = ROOT, locales_dir: Path = LOCALES_DIR) -> list[Problem]:
    """Messages the sources have and the template lacks, or the other way round."""
    where = TEMPLATE_NAME
    path = locales_dir / TEMPLATE_NAME
    if not path.exists():
        return [Problem(where, "missing; run `python -m flows.catalogs update`")]
    fresh, shipped = keys(extract_template(root)), keys(read_catalog(path))
    problems = [Problem(where, f"missing {_short(k)}") for k in sorted(fresh - shipped, key=str)]
    problems += [
        Problem(where, f"no longer used {_short(k)}") for k in sorted(shipped - fresh, key=str)
    ]
    return problems


def incomplete(language: str, locales_dir: Path = LOCALES_DIR) -> list[Problem]:
    """Untranslated, fuzzy or missing messages of one language (none for English)."""
    if language == SOURCE_LANGUAGE:
        return []
    where = f"{language}/LC_MESSAGES/messages.po"
    template = read_catalog(locales_dir / TEMPLATE_NAME)
    catalog = read_catalog(po_path(language, locales_dir), language)
    problems = [
        Problem(where, f"missing {_short(k)}")
        for k in sorted(keys(template) - keys(catalog), key=str)
    ]
    labels = {m.id for m in template if m.id and LABEL_NOTE in m.auto_comments}
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if message.fuzzy:
            problems.append(Problem(where, f"fuzzy {_short(_key(message))}"))
        elif not all(strings):
            problems.append(Problem(where, f"untranslated {_short(_key(message))}"))
        elif message.id in labels and _too_long(str(message.string)):
            problems.append(
                Problem(
                    where,
                    f"the label {_short(_key(message))} is translated with "
                    f"{len(_visible(str(message.string)))} characters; at most {LABEL_CHARS} "
                    "fit on a phone's button",
                )
            )
        elif is_rtl(language) and message.string != message.id:
            bare = [token for text in strings for token in unisolated(text or "")]
            if bare:
                problems.append(
                    Problem(
                        where,
                        f"{bare[0]!r} not in direction isolates (run update) in "
                        f"{_short(_key(message))}",
                    )
                )
    return problems


def _visible(text: str) -> str:
    """A text as it is seen: the direction isolates take no room."""
    return text.replace(LRI, "").replace(PDI, "")


def _too_long(label: str) -> bool:
    return len(_visible(label)) > LABEL_CHARS


def check(root: Path = ROOT, locales_dir: Path = LOCALES_DIR) -> list[Problem]:
    """Everything `check` complains about: a stale template, incomplete languages."""
    problems = stale_template(root, locales_dir)
    for language in languages(locales_dir):
        problems += incomplete(language, locales_dir)
    return problems + stale_compiled(locales_dir)


def _short(key: MessageKey) -> str:
    msgid, context = key
    text = msgid[0] if isinstance(msgid, tuple) else msgid
    text = " ".join(text.split())
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{text!r}" + (f" (context {context!r})" if context else "")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flows.catalogs", description="Translation catalogs of Attest."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("update", help="re-extract messages.pot and update every catalog")
    commands.add_parser("check", help="fail if messages.pot is stale or a catalog is incomplete")
    init = commands.add_parser("init", help="start a catalog for a new language")
    init.add_argument("language", help="a locale code such as ar, fa, uk or pt_BR")
    args = parser.parse_args(argv)
    if args.command == "update":
        changed = update()
        changed += compile_all()
        print("updated: " + ", ".join(changed) if changed else "catalogs already up to date")
        return 0
    if args.command == "init":
        print(f"created {init_catalog(args.language)}")
        return 0
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(
            f"{len(problems)} catalog problem(s). Run `python -m flows.catalogs update`, "
            "then translate what is missing.",
            file=sys.stderr,
        )
        return 1
    print("catalogs up to date and complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
