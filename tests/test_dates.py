"""Approximate dates read down to a coarse year or season, or nothing (flows/dates.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.dates import _SEASON_WORDS, SEASONS, CoarseDate, read_approximate_date

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
SHAPE = re.compile(r"^\d{4}(-(winter|spring|summer|autumn))?$")


@pytest.mark.parametrize(
    ("typed", "coarse"),
    [
        ("spring 2023, when they came to X", CoarseDate(2023, "spring")),
        ("2021", CoarseDate(2021)),
        ("around 2021, I think", CoarseDate(2021)),
        ("12/2021", CoarseDate(2021)),
        ("03.05.2019 at the checkpoint near the river", CoarseDate(2019)),
        ("March 2022", CoarseDate(2022)),  # a month keeps its year only
        ("в березні 2022", CoarseDate(2022)),
        ("summer of 2022", CoarseDate(2022, "summer")),
        ("Winter 2020", CoarseDate(2020, "winter")),
        ("l'été 2022", CoarseDate(2022, "summer")),
        ("à l'automne de 2018", CoarseDate(2018, "autumn")),
        ("j'ai été arrêtée en 2022", CoarseDate(2022)),  # "été" here is no summer
        ("la primavera de 2023", CoarseDate(2023, "spring")),
        ("en otoño 2021", CoarseDate(2021, "autumn")),
        ("весною 2022 року", CoarseDate(2022, "spring")),
        ("2022 року влітку", CoarseDate(2022, "summer")),
        ("ربيع ٢٠٢٣", CoarseDate(2023, "spring")),
        ("في الشتاء عام ٢٠٢٠", CoarseDate(2020, "winter")),
        ("٢٠٢٣م", CoarseDate(2023)),
        ("بهار ۱۴۰۱", CoarseDate(2022, "spring")),  # Solar Hijri
        ("پاییز ۱۳۹۹ بود", CoarseDate(2020, "autumn")),
        ("زمستان ۱۴۰۱", CoarseDate(2023, "winter")),  # Dey to Esfand: mostly the next year
        ("۱۴۰۱", CoarseDate(2022)),  # Persian digits: a Persian writer
        ("مهر ۱۴۰۱", CoarseDate(2022)),
        ("اسفند 1400", CoarseDate(2022)),
        ("the fall of the city in 2021", CoarseDate(2021)),  # "fall" is not read
        ("spring or summer 2022", CoarseDate(2022)),  # two seasons: the year only
        ("winter, and in 2021 it started again", CoarseDate(2021)),  # not by the year
    ],
)
def test_what_is_read(typed: str, coarse: CoarseDate) -> None:
    assert read_approximate_date(typed) == coarse


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "last winter",
        "last year",
        "two years ago",
        "when I was 15",
        "پارسال",
        "минулої зими",
        "2019-2021",
        "2019 or 2020",
        "between 2019 and 2021",
        "1990s",
        "in the 90s",
        "12345",
        "A2023",
        "1444",  # Lunar Hijri, or Solar, or neither: not sure
        "١٤٤٤ هـ",
        "1850",
        "3000",
        "I don't remember",
    ],
)
def test_what_gives_nothing(typed: str) -> None:
    assert read_approximate_date(typed) is None


def test_the_coarse_form_is_a_year_or_a_season_of_one() -> None:
    assert str(CoarseDate(2023)) == "2023"
    assert str(CoarseDate(2023, "spring")) == "2023-spring"


@given(st.text(max_size=300))
def test_any_text_gives_nothing_or_a_closed_form_that_quotes_nothing(text: str) -> None:
    coarse = read_approximate_date(text)
    if coarse is not None:
        assert SHAPE.match(str(coarse))
        assert 1900 <= coarse.year <= 2101
        assert coarse.season in (None, *SEASONS)


@given(st.text(alphabet=st.characters(blacklist_categories=("Nd",)), max_size=200))
def test_without_digits_there_is_no_date(text: str) -> None:
    assert read_approximate_date(text) is None


SEASON_WORDS = sorted((word, season) for season, words in _SEASON_WORDS.items() for word in words)


@given(
    st.integers(1900, 2100),
    st.sampled_from(SEASON_WORDS),
    st.sampled_from([str.maketrans("", ""), ARABIC_INDIC]),
    st.booleans(),
    st.text(alphabet=st.characters(whitelist_categories=("Ll", "Zs")), max_size=40),
)
def test_a_season_by_its_year_is_kept_in_any_language_and_digits(
    year: int,
    word_season: tuple[str, str],
    digits: dict[int, str],
    after: bool,
    rest: str,
) -> None:
    word, season = word_season
    if any(w in _all_season_words() for w in rest.split()):
        return  # the rest named a season too: then only the year is sure
    typed_year = str(year).translate(digits)
    typed = f"{typed_year} {word}" if after else f"{word} {typed_year}"
    assert read_approximate_date(f"{typed}, {rest}") == CoarseDate(year, season)  # type: ignore[arg-type]


def _all_season_words() -> set[str]:
    return {w for words in _SEASON_WORDS.values() for w in words} | {
        "ال" + w for words in _SEASON_WORDS.values() for w in words
    }


@given(st.integers(1900, 2100), st.integers(1900, 2100))
def test_two_different_years_give_nothing(first: int, second: int) -> None:
    coarse = read_approximate_date(f"{first} or {second}")
    assert coarse == (CoarseDate(first) if first == second else None)


@given(st.integers(1300, 1479))
def test_persian_digits_read_as_solar_hijri(year: int) -> None:
    assert read_approximate_date(str(year).translate(PERSIAN)) == CoarseDate(year + 621)
