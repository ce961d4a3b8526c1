"""Translations: gettext over English source strings, read from `locales/*/LC_MESSAGES/`.

Each language ships its catalog twice: `messages.po`, which translators edit, and
`messages.mo`, compiled from it by `python -m flows.catalogs update` and stamped with the
.po's SHA-256 (a context entry, see `PO_STAMP`). A start reads the .mo with the standard
library's gettext, which takes a millisecond; parsing the .po with babel took ~40 ms of
every command (issue 16: start-up). A .mo that is missing, damaged, or compiled from
another version of the .po is not used: the .po is compiled in memory instead, so a
fresh checkout or a hand-edited catalog still shows exactly what its .po says.

A missing or fuzzy translation falls back to the English source. `N_` marks strings for
extraction (`pybabel extract`, see README).
"""

from __future__ import annotations

import gettext
import hashlib
import io
import struct
from functools import cache
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SOURCE_LANGUAGE = "en"
# The entry of a compiled catalog that names the .po it was compiled from: a message
# context no source text uses, so no lookup can meet it.
PO_STAMP = ("attest-build", "po-sha256")


def N_(message: str) -> str:
    """Mark a string for extraction without translating it here."""
    return message


class Catalog:
    """A `Translator` for one language."""

    def __init__(self, language: str, translations: gettext.NullTranslations) -> None:
        self.language = language
        self._translations = translations

    def gettext(self, message: str) -> str:
        return self._translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._translations.ngettext(singular, plural, n)


def catalog_path(language: str, locales_dir: Path = LOCALES_DIR) -> Path:
    return locales_dir / language / "LC_MESSAGES" / "messages.po"


def compiled_path(language: str, locales_dir: Path = LOCALES_DIR) -> Path:
    return locales_dir / language / "LC_MESSAGES" / "messages.mo"


@cache
def translator(language: str) -> Catalog:
    """The translator for `language` (English source strings when it has no catalog)."""
    return load_translator(language)


def load_translator(language: str, locales_dir: Path = LOCALES_DIR) -> Catalog:
    """`language`'s catalog: its .mo when compiled from the .po as it is now, else the .po."""
    po = catalog_path(language, locales_dir)
    if not po.exists():
        return Catalog(language, gettext.NullTranslations())
    source = po.read_bytes()
    shipped = read_compiled(compiled_path(language, locales_dir))
    if shipped is not None and po_stamp(shipped) == hashlib.sha256(source).hexdigest():
        return Catalog(language, shipped)
    return Catalog(language, gettext.GNUTranslations(io.BytesIO(compile_catalog(source, language))))


def read_compiled(path: Path) -> gettext.GNUTranslations | None:
    """A compiled catalog; None if it is missing or not a catalog."""
    try:
        return gettext.GNUTranslations(io.BytesIO(path.read_bytes()))
    except (OSError, ValueError, struct.error):  # missing, or not a catalog
        return None


def po_stamp(translations: gettext.GNUTranslations) -> str | None:
    """The SHA-256 of the .po a compiled catalog was made from (None if it names none)."""
    stamp = translations.pgettext(*PO_STAMP)
    return None if stamp == PO_STAMP[1] else stamp


def compile_catalog(source: bytes, language: str) -> bytes:
    """The .mo of a .po's bytes, fuzzy entries left out, stamped with the .po's SHA-256."""
    # babel only here: a start with a fresh .mo never loads it.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    catalog = read_po(io.BytesIO(source), locale=language)
    context, msgid = PO_STAMP
    catalog.add(msgid, hashlib.sha256(source).hexdigest(), context=context)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def available_languages() -> tuple[str, ...]:
    """Languages with a shipped catalog, English first."""
    found = (
        sorted(p.name for p in LOCALES_DIR.iterdir() if catalog_path(p.name).exists())
        if LOCALES_DIR.exists()
        else []
    )
    return (SOURCE_LANGUAGE, *(lang for lang in found if lang != SOURCE_LANGUAGE))
