"""Turning an app's untrusted fields into Document fields: what every connector does the same way."""

from __future__ import annotations

import urllib.parse
from datetime import datetime
from typing import Any

from mediasearch.connectors import ConnectorError


def expect(condition: bool, app: str, what: str) -> None:
    """An answer without the documented shape is the source's error, said in words that name it."""
    if not condition:
        raise ConnectorError(f"{app}: unexpected answer: {what}")


def text(value: Any, limit: int = 300) -> str:
    """A display string from an untrusted field: str only, control characters out, whitespace folded, length
    capped. HTML stays text: the page escapes on output, and a title may really contain '<'."""
    if not isinstance(value, str):
        return ""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in value)
    return " ".join(cleaned.split())[:limit]


def names(values: Any, limit: int = 5) -> tuple[str, ...]:
    """Creators from a list of strings (or a single string), cleaned, de-duplicated, at most `limit`."""
    items = values if isinstance(values, list) else [values]
    out: list[str] = []
    for item in items:
        name = text(item, 120)
        if name and name not in out:
            out.append(name)
    return tuple(out[:limit])


def year_of(value: Any) -> int | None:
    """A plausible year from an int or from the start of an ISO date string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        year = value
    elif isinstance(value, str) and len(value) >= 4 and value[:4].isdigit():
        year = int(value[:4])
    else:
        return None
    return year if 1000 < year < 3000 else None


def epoch_of(value: Any) -> float | None:
    """Epoch seconds from an ISO 8601 string (a trailing Z, 7-digit .NET fractions tolerated)."""
    if not isinstance(value, str) or not value:
        return None
    iso = value.strip().replace("Z", "+00:00")
    if "." in iso:
        head, _, rest = iso.partition(".")
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        zone = rest[len(digits) :]
        iso = f"{head}.{digits[:6]}{zone}"
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.timestamp()


def cover_path(source: str, item_id: str) -> str:
    """The search service's own cover URL for an item (served by the server through the connector)."""
    return f"/cover/{source}/{urllib.parse.quote(item_id, safe='')}"


def link(public_url: str, path: str) -> str:
    return public_url.rstrip("/") + path


def quote(value: str) -> str:
    """One path segment or query value of a deep link, whatever the app's id holds."""
    return urllib.parse.quote(value, safe="")


def obj(value: Any) -> dict[str, Any]:
    """A JSON object field, or an empty one when the app sent anything else."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    """A JSON array field, or an empty one when the app sent anything else."""
    return value if isinstance(value, list) else []


def need_list(value: Any, app: str, what: str) -> list[Any]:
    expect(isinstance(value, list), app, what)
    return list(value)


def need_obj(value: Any, app: str, what: str) -> dict[str, Any]:
    expect(isinstance(value, dict), app, what)
    return dict(value)
