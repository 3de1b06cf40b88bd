"""Text folding shared by the index and the query side, so "Amélie", "AMELIE" and "amelie" are one word.

SQLite's FTS5 `unicode61` tokenizer can drop diacritics itself, but only with the option set the SQLite in
use knows (`remove_diacritics 2` since 3.27; the trigram tokenizer's since 3.45), and Elasticsearch folds
with its own `asciifolding` filter. Folding here, in Python, before any engine sees the text, makes the
embedded engine's behaviour the same on Debian 12's SQLite 3.40 (the tests) and Alpine 3.22's (the image).
"""

from __future__ import annotations

import re
import unicodedata

# Letters that Unicode does not decompose into a base letter plus a combining mark, folded as
# Elasticsearch's ASCIIFoldingFilter folds them (the ones a media library's titles and names carry).
_LETTERS = str.maketrans(
    {
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "\u0131": "i",  # dotless i
        "ħ": "h",
        "ŧ": "t",
        "ŋ": "n",
        "ĸ": "k",
        "\u017f": "s",  # long s
    }
)

# A token is a run of letters and digits: what unicode61 (categories "L* N* Co") keeps, minus the
# combining marks that fold() has already removed. Underscore is punctuation here, as it is to unicode61.
_TOKEN = re.compile(r"[^\W_]+")

MAX_QUERY_CHARS = 256
"""A query is cut to this many characters before it is tokenised (no title needs more; it bounds the work)."""
MAX_QUERY_TERMS = 8
"""...and to this many words."""


def fold(text: str) -> str:
    """Lower case without diacritics: casefold ("ß" -> "ss"), decompose, drop the combining marks."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return stripped.translate(_LETTERS)


def tokens(text: str) -> list[str]:
    """The folded words of a text, in order."""
    return _TOKEN.findall(fold(text))


def query_terms(query: str) -> list[str]:
    """The words of a user's query, bounded in length and number; everything that is not a letter or a
    digit (quotes, `*`, `:`, `-`, parentheses) separates words and never reaches an engine's query syntax."""
    return tokens(query[:MAX_QUERY_CHARS])[:MAX_QUERY_TERMS]


def deletions(term: str) -> set[str]:
    """Every string one character shorter than `term` (the symmetric-delete neighbourhood of distance 1)."""
    return {term[:i] + term[i + 1 :] for i in range(len(term))}


def within_one_edit(a: str, b: str) -> bool:
    """Optimal-string-alignment distance <= 1: equal, or one insertion, deletion, substitution, or one swap
    of neighbouring letters ("tolkein" -> "tolkien")."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la > lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True  # one substitution
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    return a[i:] == b[i + 1 :]  # one insertion into the shorter
