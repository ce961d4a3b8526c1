"""Approximate dates as people type them, read down to a coarse year or season of a year.

`read_approximate_date(text) -> CoarseDate | None` is pure (no clock, no locale): the one
reader of `approximate-date` answers, for anonymised exports (which keep only this) and
for the reviewer desk's pattern charts. It reads what it can be sure of and gives nothing
otherwise; nothing is the safe answer, since an export then withholds the typed text.

    "spring 2023, when they came to X"   -> 2023 spring
    "2021", "12/2021", "around 2021"     -> 2021
    "March 2022", "в березні 2022"       -> 2022   (a month keeps only its year, see below)
    "بهار ۱۴۰۱" (Persian, Solar Hijri)     -> 2022 spring
    "last winter", "two years ago"       -> nothing (relative: see below)
    "2019-2021", "2019 or 2020"          -> nothing (more than one year)

The rules:

- Digits of any script count (Arabic-Indic ٠١٢…, Persian ۰۱۲…, full-width …). A year is a
  run of exactly four digits standing alone ("1990s" and "12345" are not years), from 1900
  to 2100. Exactly one distinct year must be named; two or more (a range, a doubt) give
  nothing. Words around the year ("around", "before", "since") are not read.
- A season (winter, spring, summer, autumn, named in English, French, Spanish, Ukrainian,
  Russian, Arabic or Persian) is kept only when it stands right before or after the year,
  or one joining word away ("summer of 2022", "l'été 2022", "2022 року влітку"), and no
  other season is named anywhere in the text ("spring or summer 2022" keeps the year only).
  A season is the person's own: "winter 2023" is kept as they said it, in whatever
  hemisphere and whichever winter they meant.
- A month keeps only its year: months would have to become seasons, and which season a
  month is depends on the hemisphere the person lives in.
- Solar Hijri (the civil calendar of Iran and Afghanistan): a year from 1300 to 1479 is read
  as Solar Hijri when the text is Persian (Persian digits ۰۱۲… or letters, a Persian season
  or month name, "شمسی", or the suffix ش), and becomes the Gregorian year most of it falls in (+621; winter,
  Dey, Bahman and Esfand fall mostly in the next year: +622). Other calendars (Lunar Hijri
  1444, ...) give nothing, as does a year of that range without a Persian text.
- Relative phrases ("last winter", "last year", "when I was 15", "پارسال") give nothing: the
  reader has no "now", and reading them against the submission time would put a guess in
  a report as if the person had said it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Season = Literal["winter", "spring", "summer", "autumn"]
SEASONS: tuple[Season, ...] = ("winter", "spring", "summer", "autumn")
FIRST_YEAR, LAST_YEAR = 1900, 2100
SOLAR_FIRST, SOLAR_LAST = 1300, 1479
SOLAR_OFFSET = 621


@dataclass(frozen=True, order=True)
class CoarseDate:
    """A year, or a season of a year: all that an approximate date keeps when anonymised."""

    year: int
    season: Season | None = None

    def __str__(self) -> str:
        """`2023` or `2023-spring`."""
        return str(self.year) if self.season is None else f"{self.year}-{self.season}"


def _words(*groups: str) -> frozenset[str]:
    return frozenset(word for group in groups for word in group.split())


_SEASON_WORDS: dict[Season, frozenset[str]] = {
    # "fall" is left out: "after the fall of the city in 2021" is no autumn.
    "winter": _words(
        "winter hiver invierno",
        "зима зими зимі зиму зимою взимку узимку зимой зиме",
        "شتاء الشتاء شتا",
        "زمستان",
    ),
    "spring": _words(
        "spring printemps primavera",
        "весна весни весні весну весною навесні весной весне",
        "ربيع الربيع",
        "بهار",
    ),
    "summer": _words(
        "summer été ete verano",
        "літо літа літі літом влітку улітку лето летом лете",
        "صيف الصيف",
        "تابستان",
    ),
    "autumn": _words(
        "autumn automne otoño otono",
        "осінь осені осінню восени осень осенью осени",
        "خريف الخريف",
        "پاییز پائیز پاييز",
    ),
}
_SEASON_OF = {word: season for season, words in _SEASON_WORDS.items() for word in words}
# Words that may stand between a season and its year.
_JOINING = _words("of in the de del du d en у в року рік р році года году год г عام سنة في سال در")

# Solar Hijri months (Iranian and Dari names) by number; Dey, Bahman, Esfand (10-12) fall
# mostly in the next Gregorian year.
_SOLAR_MONTHS = {
    word: number
    for number, names in enumerate(
        (
            "فروردین حمل",
            "اردیبهشت ثور",
            "خرداد جوزا",
            "تیر سرطان",
            "مرداد امرداد اسد",
            "شهریور سنبله",
            "مهر میزان",
            "آبان عقرب",
            "آذر قوس",
            "دی جدی",
            "بهمن دلو",
            "اسفند حوت",
        ),
        start=1,
    )
    for word in names.split()
}
_PERSIAN_SEASONS = frozenset({"زمستان", "بهار", "تابستان", "پاییز", "پائیز", "پاييز"})
_PERSIAN_LETTERS = frozenset("پچژگکی")  # not in Arabic (which writes ك and ي)
_SOLAR_MARKERS = frozenset({"شمسی", "شمسي", "ش", "هش", "خورشیدی"})

_IGNORED = dict.fromkeys(
    [0x0640, 0x200C, 0x200D, 0x200E, 0x200F, *range(0x2066, 0x206A), *range(0x064B, 0x0660)]
)
_TOKENS = re.compile(r"\d+|[^\W\d_]+")
_CALENDAR_SUFFIXES = frozenset({"م", "ش", "ه", "هش"})


def _digits(text: str) -> str:
    """Every decimal digit as ASCII (Arabic-Indic, Persian, full-width, ...)."""
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def _normalised(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_IGNORED)
    return _digits(text).casefold()


def _season_word(word: str) -> Season | None:
    season = _SEASON_OF.get(word)
    if season is None and word.startswith("ال"):  # the Arabic article, on any season word
        season = _SEASON_OF.get(word[2:])
    return season


def _standing_alone(text: str, start: int, end: int) -> bool:
    """A number not glued to letters or digits ("1990s", "A2023"); a calendar suffix may
    follow it ("2023م" Gregorian, "1401ش" Solar Hijri)."""
    if start > 0 and text[start - 1].isalnum():
        return False
    if end < len(text) and text[end].isalnum():
        suffix = _TOKENS.match(text, end)
        return suffix is not None and suffix.group() in _CALENDAR_SUFFIXES
    return True


def _tokens(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The words and numbers of `text`, and (token index, value) of each year-like number."""
    tokens: list[str] = []
    found: list[tuple[int, int]] = []
    for match in _TOKENS.finditer(text):
        token = match.group()
        if len(token) == 4 and token.isdigit() and _standing_alone(text, *match.span()):
            found.append((len(tokens), int(token)))
        tokens.append(token)
    return tokens, found


def read_approximate_date(text: str) -> CoarseDate | None:
    """The coarse year (and season, when sure) of a typed approximate date; None otherwise."""
    normalised = _normalised(text)
    tokens, found = _tokens(normalised)
    persian = _is_persian(text, tokens)
    numbers = {number for _, number in found}
    if len(numbers) != 1:
        return None  # no year, or a range or a doubt between years
    [number] = numbers
    season = _season_by(tokens, [index for index, _ in found])
    if FIRST_YEAR <= number <= LAST_YEAR:
        return CoarseDate(number, season)
    if SOLAR_FIRST <= number <= SOLAR_LAST and persian:
        return CoarseDate(_from_solar(number, tokens, season), season)
    return None  # another calendar, or no year a person could mean


def _is_persian(text: str, tokens: list[str]) -> bool:
    """Written in Persian: its letters or digits (Arabic writes ي, ك and ٠١٢…), or its words."""
    if any(c in _PERSIAN_LETTERS or "\u06f0" <= c <= "\u06f9" for c in text):
        return True
    return any(t in _PERSIAN_SEASONS or t in _SOLAR_MONTHS or t in _SOLAR_MARKERS for t in tokens)


def _from_solar(number: int, tokens: list[str], season: Season | None) -> int:
    """The Gregorian year most of a Solar Hijri year, month or season falls in."""
    months = {_SOLAR_MONTHS[t] for t in tokens if t in _SOLAR_MONTHS}
    if len(months) == 1:
        return number + SOLAR_OFFSET + (1 if months.pop() >= 10 else 0)
    return number + SOLAR_OFFSET + (1 if season == "winter" else 0)


def _season_by(tokens: list[str], places: list[int]) -> Season | None:
    """The one season named in the text, if it stands by the year; else None."""
    named = {s for t in tokens if (s := _season_word(t)) is not None}
    if len(named) != 1:
        return None
    [season] = named
    for at in places:
        for step in (-1, 1):
            near = at + step
            if 0 <= near < len(tokens) and tokens[near] in _JOINING:
                near += step
            if 0 <= near < len(tokens) and _season_word(tokens[near]) == season:
                return season
    return None
