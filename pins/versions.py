"""Which of a repository's tags are newer releases of the pinned one.

A tag is read as its shape and its numbers: `4.0.16` is `N.N.N`, linuxserver's `5.1.2-r1-ls400` is
`N.N.N-rN-lsN`, `17.6-bookworm` is `N.N-bookworm`. A newer release has the same shape (so the same variant,
the same linuxserver scheme, no pre-release suffix such as -rc1 or -beta.2, no floating `4.0` alias) and
greater numbers, compared left to right (a linuxserver rebuild `-ls401` of the same version counts).
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"[0-9]+")
PRE_RELEASE = re.compile(r"(?i)(alpha|beta|rc|pre|dev|nightly|snapshot|test|unstable|edge)")


def shape(tag: str) -> tuple[str, tuple[int, ...]]:
    return _NUMBER.sub("N", tag), tuple(int(n) for n in _NUMBER.findall(tag))


def newer(current: str, tags: list[str]) -> list[str]:
    """Tags of the same shape as `current` with greater numbers, oldest first."""
    want, numbers = shape(current)
    if not numbers:
        return []
    found = []
    for tag in set(tags):
        form, values = shape(tag)
        if form == want and values > numbers and not PRE_RELEASE.search(_NUMBER.sub("", tag)):
            found.append((values, tag))
    return [tag for _, tag in sorted(found)]
