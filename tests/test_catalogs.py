"""Translation catalogs: the template matches the sources and every language is complete.

If the first test fails after you added or changed a text, run
`python -m flows.catalogs update` and commit locales/.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import textwrap
from gettext import GNUTranslations
from pathlib import Path

import pytest

from flows import catalogs, i18n
from flows.catalogs import ROOT, TEMPLATE_NAME, keys, read_catalog
from flows.i18n import (
    LOCALES_DIR,
    catalog_path,
    compile_catalog,
    compiled_path,
    po_stamp,
    translator,
)
from flows.loader import load_flow

DEFINITIONS = ROOT / "flows" / "definitions"
PYBABEL = (sys.executable, "-m", "babel.messages.frontend")  # the `pybabel` command


def pybabel_extract(tmp_path: Path) -> Path:
    """Extract with the plain pybabel command and babel.cfg, as a translator would."""
    out = tmp_path / "fresh.pot"
    subprocess.run(
        [*PYBABEL, "-q", "extract", "-F", "babel.cfg", "-o", str(out), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return out


def test_the_checked_in_template_has_exactly_the_messages_of_the_sources(tmp_path: Path) -> None:
    fresh = keys(read_catalog(pybabel_extract(tmp_path)))
    shipped = keys(read_catalog(LOCALES_DIR / TEMPLATE_NAME))
    assert sorted(fresh - shipped, key=str) == [], "run `python -m flows.catalogs update`"
    assert sorted(shipped - fresh, key=str) == [], "run `python -m flows.catalogs update`"


def flow_texts(path: Path) -> set[str]:
    flow = load_flow(path)
    texts = {s.content_note for s in flow.sections if s.content_note}
    texts.update(t.text for t in flow.topics)
    for step in flow.steps:
        texts.add(step.text)
        texts.update(t for t in (step.explain, step.label) if t)
        for option in step.options:
            texts.add(option.text)
            texts.update(t for t in (option.reply,) if t)
    return texts


@pytest.mark.parametrize("path", sorted(DEFINITIONS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_text_of_every_flow_is_in_the_template_as_the_engine_looks_it_up(
    path: Path,
) -> None:
    shipped = {k[0] for k in keys(read_catalog(LOCALES_DIR / TEMPLATE_NAME))}
    assert sorted(flow_texts(path) - shipped) == []


@pytest.mark.parametrize("language", catalogs.languages())
def test_every_shipped_language_is_complete(language: str) -> None:
    assert [str(p) for p in catalogs.incomplete(language)] == []


def test_the_language_choice_offers_exactly_the_shipped_languages() -> None:
    language_step = load_flow(DEFINITIONS / "survivor.yaml").language_step
    assert language_step is not None
    offered = [o.id for o in language_step.options]
    assert offered[0] == "en"
    assert sorted(offered) == sorted(catalogs.languages())


def test_english_is_shipped_and_shows_the_source_text() -> None:
    assert "en" in catalogs.languages()
    question = "Are you somewhere you can write privately right now?"
    assert translator("en").gettext(question) == question


# A small project of its own, so the workflow can be shown end to end without touching
# the real catalogs.
SOURCE = 'def greet(t):\n    return t.gettext("Hello")\n'
FLOW = textwrap.dedent(
    """\
    id: tiny
    steps:
      - id: ask
        kind: yes-no
        text: "Are you safe?"
        options:
          - id: "no"
            text: "No"
            reply: "Please come back later."
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "greeting.py").write_text(SOURCE)
    (tmp_path / "flows" / "definitions").mkdir(parents=True)
    (tmp_path / "flows" / "definitions" / "tiny.yaml").write_text(FLOW)
    (tmp_path / "locales").mkdir()
    return tmp_path


def test_update_extracts_python_and_flow_texts(project: Path) -> None:
    locales = project / "locales"
    assert catalogs.update(project, locales) == [TEMPLATE_NAME]
    found = {k[0] for k in keys(read_catalog(locales / TEMPLATE_NAME))}
    assert found == {"Hello", "Are you safe?", "No", "Please come back later."}
    assert catalogs.update(project, locales) == []  # nothing changed, nothing rewritten


def test_check_fails_until_a_new_language_is_fully_translated(project: Path) -> None:
    locales = project / "locales"
    catalogs.update(project, locales)
    catalogs.init_catalog("xx", locales)
    problems = [str(p) for p in catalogs.check(project, locales)]
    assert len(problems) == 4
    assert all(p.startswith("xx/LC_MESSAGES/messages.po: untranslated") for p in problems)

    path = catalogs.po_path("xx", locales)
    catalog = read_catalog(path, "xx")
    for message in catalog:
        if message.id:
            message.string = f"[xx] {message.id}"
    next(m for m in catalog if m.id == "Hello").flags.add("fuzzy")
    path.write_bytes(catalogs._render(catalog))
    assert [str(p) for p in catalogs.check(project, locales)] == [
        "xx/LC_MESSAGES/messages.po: fuzzy 'Hello'"
    ]

    next(m for m in catalog if m.id == "Hello").flags.discard("fuzzy")
    path.write_bytes(catalogs._render(catalog))
    assert catalogs.check(project, locales) == []


def test_a_new_source_text_makes_the_template_stale_until_updated(project: Path) -> None:
    locales = project / "locales"
    catalogs.update(project, locales)
    catalogs.init_catalog("en", locales)
    (project / "bot" / "farewell.py").write_text('N_("Goodbye")\n')
    assert [str(p) for p in catalogs.check(project, locales)] == ["messages.pot: missing 'Goodbye'"]
    assert catalogs.update(project, locales) == [TEMPLATE_NAME, "en/LC_MESSAGES/messages.po"]
    # English needs no translations: empty strings fall back to the source text.
    assert catalogs.check(project, locales) == []


def test_a_label_is_extracted_with_its_limit_and_checked_in_every_language(
    project: Path,
) -> None:
    """Issue 14: a label is a button in the list of answers to change; it must stay short."""
    (project / "flows" / "definitions" / "labelled.yaml").write_text(
        textwrap.dedent(
            """\
            id: labelled
            steps:
              - id: when
                kind: approximate-date
                text: "About when did it start?"
                label: "When it started"
            """
        )
    )
    locales = project / "locales"
    catalogs.update(project, locales)
    template = read_catalog(locales / TEMPLATE_NAME)
    label = template.get("When it started")
    assert label is not None
    assert "labelled: step when, label" in label.auto_comments
    assert any("at most 40 characters" in c for c in label.auto_comments)

    catalogs.init_catalog("xx", locales)
    path = catalogs.po_path("xx", locales)
    catalog = read_catalog(path, "xx")
    for message in catalog:
        if message.id:
            message.string = f"[xx] {message.id}"
    catalog.get("When it started").string = "The moment in time when all of it first started"
    path.write_bytes(catalogs._render(catalog))
    assert [str(p) for p in catalogs.check(project, locales)] == [
        "xx/LC_MESSAGES/messages.po: the label 'When it started' is translated with 47 "
        "characters; at most 40 fit on a phone's button"
    ]


def test_the_check_command_passes_on_the_shipped_catalogs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flows.catalogs", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


# Compiled catalogs (issue 16: start-up). Every command translates; parsing a .po with
# babel cost ~40 ms of each start, so the .mo compiled from it ships beside it, stamped
# with the .po's SHA-256, and a .mo that is missing or stale is never used.


@pytest.mark.parametrize("language", catalogs.languages())
def test_each_shipped_mo_is_its_po_compiled(language: str) -> None:
    po, mo = catalog_path(language), compiled_path(language)
    assert mo.exists(), "run `python -m flows.catalogs update` and commit locales/"
    shipped = GNUTranslations(io.BytesIO(mo.read_bytes()))
    fresh = GNUTranslations(io.BytesIO(compile_catalog(po.read_bytes(), language)))
    assert po_stamp(shipped) == hashlib.sha256(po.read_bytes()).hexdigest()
    # The translations, not the bytes: the header names the babel version that wrote it.
    assert _messages(shipped) == _messages(fresh)


def _messages(translations: GNUTranslations) -> dict[object, str]:
    return {k: v for k, v in translations._catalog.items() if k != ""}  # type: ignore[attr-defined]


def _tiny_catalog(locales: Path, translation: str) -> Path:
    po = locales / "xx" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True, exist_ok=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        f'msgid "Hello"\nmsgstr "{translation}"\n',
        encoding="utf-8",
    )
    return po


def test_a_fresh_mo_is_read_without_parsing_the_po(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tiny_catalog(tmp_path, "Bonjour")
    assert catalogs.compile_all(tmp_path) == ["xx/LC_MESSAGES/messages.mo"]
    assert catalogs.compile_all(tmp_path) == []  # unchanged, not rewritten

    def parse_po(*_args: object) -> bytes:
        raise AssertionError("the .po was parsed although its .mo is fresh")

    monkeypatch.setattr(i18n, "compile_catalog", parse_po)
    assert i18n.load_translator("xx", tmp_path).gettext("Hello") == "Bonjour"


def test_a_stale_or_missing_mo_is_not_used(tmp_path: Path) -> None:
    _tiny_catalog(tmp_path, "Bonjour")
    catalogs.compile_all(tmp_path)
    _tiny_catalog(tmp_path, "Salut")  # edited after compiling: the .mo is stale
    assert i18n.load_translator("xx", tmp_path).gettext("Hello") == "Salut"
    compiled_path("xx", tmp_path).unlink()
    assert i18n.load_translator("xx", tmp_path).gettext("Hello") == "Salut"
    compiled_path("xx", tmp_path).write_bytes(b"not a catalog")
    assert i18n.load_translator("xx", tmp_path).gettext("Hello") == "Salut"


def test_check_names_a_stale_mo(project: Path) -> None:
    locales = project / "locales"
    catalogs.update(project, locales)
    catalogs.init_catalog("en", locales)
    assert catalogs.compile_all(locales) == ["en/LC_MESSAGES/messages.mo"]
    assert catalogs.check(project, locales) == []
    po = catalogs.po_path("en", locales)
    po.write_bytes(po.read_bytes() + b"\n")
    assert [str(p) for p in catalogs.check(project, locales)] == [
        "en/LC_MESSAGES/messages.mo: compiled from an older messages.po; "
        "run `python -m flows.catalogs update`"
    ]
