"""Text folding and the one-edit test the embedded engine's typo tolerance rests on."""

from __future__ import annotations

import random

import pytest
from mediasearch.engine.text import MAX_QUERY_TERMS, deletions, fold, query_terms, tokens, within_one_edit


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Amélie", "amelie"),
        ("AMÉLIE", "amelie"),
        ("Straße", "strasse"),
        ("Ørsted Ærø", "orsted aero"),
        ("Dvořák", "dvorak"),
        ("Łódź", "lodz"),
        ("Sigur Rós", "sigur ros"),
        ("ﬁnal", "final"),  # compatibility ligature
        ("plain ascii", "plain ascii"),
    ],
)
def test_fold_drops_case_and_diacritics(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_tokens_split_on_everything_but_letters_and_digits() -> None:
    assert tokens("Harry Potter and the Philosopher's Stone (2001)") == [
        "harry",
        "potter",
        "and",
        "the",
        "philosopher",
        "s",
        "stone",
        "2001",
    ]
    assert tokens("snake_case-word") == ["snake", "case", "word"]
    assert tokens("東京物語") == ["東京物語"]


@pytest.mark.parametrize(
    "query",
    ['"harry', "harry*", "NEAR(harry potter, 2)", "{title}: harry", "title:harry", "harry -potter", "^harry"],
)
def test_query_terms_carry_no_syntax(query: str) -> None:
    terms = query_terms(query)
    assert terms
    assert all(term.isalnum() for term in terms), terms


def test_query_terms_are_bounded() -> None:
    assert len(query_terms("word " * 1000)) == MAX_QUERY_TERMS
    assert query_terms("") == []
    assert query_terms("\"*:-()^{}'") == []


def test_deletions() -> None:
    assert deletions("harry") == {"arry", "hrry", "hary", "harr"}


def _osa(a: str, b: str) -> int:
    """Reference optimal-string-alignment distance (full dynamic programme)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def test_within_one_edit_agrees_with_the_reference_distance() -> None:
    rng = random.Random(7)
    for _ in range(20_000):
        a = "".join(rng.choice("abc") for _ in range(rng.randint(0, 6)))
        b = "".join(rng.choice("abc") for _ in range(rng.randint(0, 6)))
        assert within_one_edit(a, b) == (_osa(a, b) <= 1), (a, b)
    assert within_one_edit("tolkein", "tolkien")
    assert within_one_edit("hary", "harry")
    assert not within_one_edit("hray", "harry")
