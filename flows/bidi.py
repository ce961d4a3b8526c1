"""Commands, Latin words and phone numbers inside right-to-left texts, kept the right way round.

Inside Arabic or Persian text a bare "/exit" is displayed as "exit/" (the slash is a
neutral character and takes the paragraph's direction), and a person who types what they
see types it reversed. Wrapping every command and every run of Latin script in
left-to-right isolates (U+2066 … U+2069) shows it as written. The catalogs of
right-to-left languages are wrapped on `python -m flows.catalogs update`, and `check`
fails on a token left bare.
"""

from __future__ import annotations

import re
import unicodedata

LRI = "\u2066"  # left-to-right isolate
PDI = "\u2069"  # pop directional isolate
RLM = "\u200f"  # right-to-left mark: starts a line right to left whatever follows
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "ps", "ckb", "sd", "ug", "yi", "dv"})

# A run of Latin-script word characters (with the signs commands, codes and addresses
# use), holding at least one Latin letter; runs joined by single spaces are one token.
_LATIN = "A-Za-z\u00c0-\u024f"
_RUN = rf"[{_LATIN}0-9/@+_\-.']*[{_LATIN}][{_LATIN}0-9/@+_\-.']*"
_TOKEN = re.compile(rf"{_RUN}(?: {_RUN})*")
# A phone number or other long run of digits (Western, Arabic-Indic or Persian) with the
# signs between its groups: in a right-to-left line its groups are laid out right to left
# ("+964 770 123 4567" shows as "4567 123 770 964+"), and a person dialling it by eye
# dials a wrong number. At least seven digits, so "72 hours" or "2023" stay as they are.
_DIGIT = "0-9\u0660-\u0669\u06f0-\u06f9"
_NUMBER = re.compile(rf"\+?[{_DIGIT}](?:[ \-.()/]?[{_DIGIT}]){{6,}}")
# A placeholder or format field, such as {org_name} or {delay:.0f}: filled in later.
_PLACEHOLDER = re.compile(r"\{[^{}\s]*\}")
_ISOLATED = re.compile(f"{LRI}[^{LRI}{PDI}]*{PDI}")


def without_invisible(text: str) -> str:
    """`text` without invisible format characters (Unicode category Cf).

    Direction marks and isolates (U+200E/F, U+061C, U+202A–202E, U+2066–2069), zero-width
    spaces and joiners, the byte-order mark: a code or command copied out of a message —
    above all a right-to-left one, which shows codes inside LRI … PDI — carries them, and
    the person cannot see them to take them out. Every reader of a typed code, command or
    invite word strips them here, the same way.
    """
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def is_rtl(language: str) -> bool:
    return language.split("_")[0].split("-")[0].lower() in RTL_LANGUAGES


def _tokens(segment: str) -> list[tuple[int, int]]:
    """Spans of Latin tokens, without the sentence punctuation that may end them."""
    spans = []
    for match in _TOKEN.finditer(segment):
        start, end = match.span()
        while end > start and segment[end - 1] in ".-'":
            end -= 1
        spans.append((start, end))
    return spans


def _isolated_spans(segment: str) -> list[tuple[int, int]]:
    """Latin tokens and long numbers, in order; a number inside a Latin token is left to it."""
    latin = _tokens(segment)
    numbers = [
        m.span()
        for m in _NUMBER.finditer(segment)
        if not any(s <= m.start() < e or s < m.end() <= e for s, e in latin)
    ]
    return sorted([*latin, *numbers])


def isolate_latin(text: str) -> str:
    """`text` with every command and Latin token wrapped in LRI … PDI (idempotent).

    Placeholders and format fields (`{org_name}`, `{delay:.0f}`) are left as they are.
    """
    bare = text.replace(LRI, "").replace(PDI, "")
    out: list[str] = []
    at = 0
    for placeholder in [*_PLACEHOLDER.finditer(bare), None]:
        stop = placeholder.start() if placeholder else len(bare)
        segment = bare[at:stop]
        cursor = 0
        for start, end in _isolated_spans(segment):
            out.append(segment[cursor:start] + LRI + segment[start:end] + PDI)
            cursor = end
        out.append(segment[cursor:])
        if placeholder is not None:
            out.append(placeholder.group(0))
            at = placeholder.end()
    return "".join(out)


def unisolated(text: str) -> list[str]:
    """Commands and Latin tokens of `text` not inside an LRI … PDI isolate."""
    outside = _PLACEHOLDER.sub(" ", _ISOLATED.sub(" ", text))
    return [outside[start:end] for start, end in _tokens(outside)]
