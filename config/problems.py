"""Turning validation failures into one line per problem.

Each line names the config key as the user writes it (`media-server:a.b`),
the bad value, and what is allowed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

NAMESPACE = "media-server"


@dataclass(frozen=True, order=True)
class Problem:
    key: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message} (got {self.value})"


class SettingsError(Exception):
    """Stack settings are invalid; nothing has been registered."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in stack configuration:\n{lines}")


def _key(loc: Sequence[int | str]) -> str:
    parts: list[str] = []
    for item in loc:
        if item == "[key]":
            continue
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif parts:
            parts.append(f".{item}")
        else:
            parts.append(f"{NAMESPACE}:{item}")
    return "".join(parts) or f"{NAMESPACE}:"


def _value(value: Any) -> str:
    if isinstance(value, dict) and not value:
        return "nothing"
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _message(error: Any) -> str:
    msg: str = error["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if error["type"] == "extra_forbidden":
        return "unknown key; check the spelling against the configuration reference in README.md"
    if error["type"] == "missing":
        return "required key is missing"
    return msg


def problems_from(error: ValidationError) -> list[Problem]:
    out = []
    for item in error.errors():
        value = "nothing" if item["type"] == "missing" else _value(item.get("input"))
        out.append(Problem(key=_key(item["loc"]), value=value, message=_message(item)))
    return out


ProblemSpec = tuple[tuple[str | int, ...], object, str]
"""(location under the model, bad value, message) for raise_problems."""


def raise_problems(title: str, problems: Iterable[ProblemSpec]) -> None:
    """Raise one pydantic ValidationError carrying several located problems (for cross-field checks)."""
    details = [
        InitErrorDetails(type=PydanticCustomError("settings", "{message}", {"message": message}), loc=loc, input=value)
        for loc, value, message in problems
    ]
    if details:
        raise ValidationError.from_exception_data(title, details)
