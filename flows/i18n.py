"""Translations: gettext over English source strings, read from `locales/*/messages.po`.

Catalogs are read with babel straight from the `.po` files and compiled in memory (no
build step, so a fresh checkout works). A missing or fuzzy translation falls back to the
English source. `N_` marks strings for extraction (`pybabel extract`, see README).
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SOURCE_LANGUAGE = "en"


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


def catalog_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"


@cache
def translator(language: str) -> Catalog:
    """The translator for `language` (English source strings when it has no catalog)."""
    path = catalog_path(language)
    if not path.exists():
        return Catalog(language, gettext.NullTranslations())
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Catalog(language, gettext.GNUTranslations(buffer))


def available_languages() -> tuple[str, ...]:
    """Languages with a shipped catalog, English first."""
    found = (
        sorted(p.name for p in LOCALES_DIR.iterdir() if catalog_path(p.name).exists())
        if LOCALES_DIR.exists()
        else []
    )
    return (SOURCE_LANGUAGE, *(lang for lang in found if lang != SOURCE_LANGUAGE))
