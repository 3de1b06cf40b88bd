"""SSO bypass path regexes: proven narrow, and matched the same way by Traefik and Authelia.

Traefik (`PathRegexp`) and Authelia (`resources`) are Go programs: their
regexes are RE2, compiled here by RE2 itself (google-re2), so a pattern that
only Python understands is refused. A bypass path must be one anchored
expression (`^/...$`, no top-level `|`), and must not match the start page,
`/index.html` or `/admin` (nor, in settings, a path the app's UI serves).

Traefik matches the URL path alone; Authelia matches the cleaned path plus
`?` and the raw query (Authelia internal/utils URLPathFullClean, 4.39). So
`^/web/.*\\.js$` bypasses `/web/index.html?x=.js` in Authelia but not in
Traefik. `authelia_resource` writes a path regex so that no part of it can
consume a `?` (`.` becomes `[^?\\n]`, a negated class also excludes `?`) and
then allows any query: Authelia then bypasses exactly the paths Traefik does.
Constructs that could match `?` in any other way are refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import re2

ALWAYS_SSO = ("/", "/index.html", "/admin")
"""Paths no bypass may match on any app: the start page and the usual admin entry."""

QUERY_SUFFIX = r"(\?.*)?$"
DOT = r"[^?\n]"
"""Go's `.` (any character but newline), less `?`."""

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
# Escapes that never match `?`: character classes without it, and escaped punctuation other than `?`.
_SAFE_ESCAPES = frozenset("dws") | frozenset(".-/_+*()[]{}|^$\\&~#=:,!<>@%'\"")
_FORBIDDEN = re.compile(r"[\s`]|[^\x21-\x7e]")


def compile_re2(pattern: str) -> Any:
    """The pattern compiled by RE2 (Go's syntax); ValueError naming RE2's complaint."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"not a regex Traefik and Authelia (Go, RE2) accept: {reason}") from None


def matches(pattern: str, path: str) -> bool:
    """Whether Traefik's PathRegexp with this pattern matches the path (Go's MatchString: a search)."""
    return compile_re2(pattern).search(path) is not None


def _anchors(tree: Any) -> int:
    """How many ^ / $ / \\b style assertions a parsed pattern holds, at any depth."""
    count = 0
    for op, av in tree:
        if op is sre_constants.AT:
            count += 1
        elif op is sre_constants.BRANCH:
            count += sum(_anchors(branch) for branch in av[1])
        elif op is sre_constants.SUBPATTERN or op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            count += _anchors(av[-1])
    return count


def _parse(pattern: str) -> tuple[list[Any] | None, str | None]:
    if re.search(r"\(\?(?!:)", pattern):
        return None, "has inline flags or named groups; expected plain groups (...) or (?:...)"
    try:
        return list(sre_parse.parse(pattern)), None
    except re.error as exc:
        return None, f"uses syntax beyond plain path regexes ({exc}); expected literals, groups, classes and . * + ?"


def _shape_problem(pattern: str) -> str | None:
    tree, problem = _parse(pattern)
    if tree is None:
        return problem
    at = sre_constants.AT
    checks = (
        (
            lambda: any(op is sre_constants.BRANCH for op, _ in tree),
            "has an alternation outside a group, so one branch is not anchored (^/api|.* matches every path); "
            "expected the alternatives in one group, e.g. ^/(api|rest)/.*$",
        ),
        (lambda: tree[0] != (at, sre_constants.AT_BEGINNING), "not anchored at the start; expected ^/api/.*$"),
        (
            lambda: len(tree) < 3 or tree[1] != (sre_constants.LITERAL, ord("/")),
            "does not start with ^/; expected a regex such as ^/api/.*$",
        ),
        (
            lambda: tree[-1] != (at, sre_constants.AT_END),
            "not anchored at the end; expected a regex ending in $ (^/api also matches /apiary and all below it)",
        ),
        (lambda: _anchors(tree) != 2, "has ^, $ or \\b inside; expected one ^ at the start and one $ at the end"),
    )
    return next((message for failed, message in checks if failed()), None)


def _class_end(pattern: str, start: int) -> int:
    """Index just past the character class that starts at `start` (a '[')."""
    i = start + 1
    if pattern.startswith("^", i):
        i += 1
    if pattern.startswith("]", i):
        raise ValueError("has a character class starting with ]; expected \\] inside classes")
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern.startswith("[:", i):
            raise ValueError("has a POSIX class [:name:]; expected a plain range such as [a-z]")
        if pattern[i] == "]":
            return i + 1
        i += 1
    raise ValueError("has an unterminated character class")


def _without_query(pattern: str) -> str:
    """The pattern with every part that could consume `?` made not to; ValueError for other ways to match `?`."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            escaped = pattern[i + 1 : i + 2]
            if escaped not in _SAFE_ESCAPES:
                raise ValueError(
                    f"has the escape \\{escaped}, which may match '?' (the query separator) or is beyond plain "
                    "path regexes; expected \\d, \\w, \\s or an escaped punctuation character such as \\."
                )
            out.append(pattern[i : i + 2])
            i += 2
        elif char == "[":
            end = _class_end(pattern, i)
            body = pattern[i:end]
            if body.startswith("[^"):
                out.append("[^\\?" + body[2:])
            elif compile_re2(body).fullmatch("?"):
                raise ValueError("has a character class that matches '?'; bypass paths match the URL path only")
            else:
                out.append(body)
            i = end
        elif char == ".":
            out.append(DOT)
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _characters_problem(pattern: str) -> str | None:
    if _FORBIDDEN.search(pattern):
        return "has whitespace, a backtick or a non-ASCII character; expected a plain path regex such as ^/api/.*$"
    if "\\?" in pattern or "[?]" in pattern:
        return "matches a query string; bypass paths match the URL path only, e.g. ^/api$"
    return None


def _error(check: Callable[[str], object]) -> Callable[[str], str | None]:
    def run(pattern: str) -> str | None:
        try:
            check(pattern)
        except ValueError as exc:
            return str(exc)
        return None

    return run


def _opens_start_page(pattern: str) -> str | None:
    path = next((p for p in ALWAYS_SSO if matches(pattern, p)), None)
    if path is None:
        return None
    return f"matches {path}, which must stay behind single sign-on; expected an API path such as ^/api/.*$"


def bypass_problem(pattern: str) -> str | None:
    """Why this bypass path regex is refused, or None: RE2, one anchored expression, never the start page."""
    checks = (_characters_problem, _error(compile_re2), _shape_problem, _error(_without_query), _opens_start_page)
    return next((problem for check in checks if (problem := check(pattern))), None)


def ui_path_matched(pattern: str, ui_paths: tuple[str, ...]) -> str | None:
    """The first UI path of the app this bypass path would open without single sign-on."""
    return next((path for path in ui_paths if matches(pattern, path)), None)


def authelia_resource(pattern: str) -> str:
    """A (valid) bypass path regex as an Authelia resource that matches path + query exactly as Traefik matches
    the path: no part may consume `?`, and any query may follow."""
    body = _without_query(pattern)
    return body[:-1] + QUERY_SUFFIX
