"""Turning validation failures into one line per problem.

Each line names the config key as the user writes it (`media-server:a.b`),
the bad value, and what is allowed.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
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


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_model_in, get_args(annotation)) if m is not None), None)


def holds_model(annotation: Any) -> bool:
    """A model, or a list/tuple/optional of models, whose raw input is mappings the model validates itself."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    if get_origin(annotation) is dict:
        return False
    return any(holds_model(arg) for arg in get_args(annotation))


def _step(annotation: Any, part: int | str) -> Any:
    """The annotation one location step further down (a model's field, a dict's value, a list's item)."""
    model = _model_in(annotation)
    if model is not None and isinstance(part, str):
        for name, field in model.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
    for arg in (annotation, *get_args(annotation)):
        origin = get_origin(arg)
        if origin is dict:
            return get_args(arg)[1]
        if origin in (list, tuple):
            return get_args(arg)[0]
    return None


def known_fields(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The keys the model accepts at the place an unknown key `loc` was found."""
    annotation: Any = model
    for part in loc[:-1]:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    found = _model_in(annotation)
    return [field.alias or name for name, field in found.model_fields.items()] if found else []


def _message(error: Any, known: Sequence[str] = ()) -> str:
    msg: str = error["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(error["loc"][-1]), list(known), n=1, cutoff=0.6)
        if close:
            return f"unknown key; did you mean {close[0]}? (the configuration reference is in README.md)"
        return "unknown key; check the spelling against the configuration reference in README.md"
    if error["type"] == "missing":
        return "required key is missing"
    return msg


def problems_from(
    error: ValidationError, model: type[BaseModel] | None = None, top_level_extra: Sequence[str] = ()
) -> list[Problem]:
    """One Problem per error; with the model, an unknown key names the nearest known one."""
    out = []
    for item in error.errors():
        value = "nothing" if item["type"] == "missing" else _value(item.get("input"))
        known: list[str] = []
        if model is not None and item["type"] == "extra_forbidden":
            known = known_fields(model, item["loc"])
            if len(item["loc"]) == 1:
                known += list(top_level_extra)
        out.append(Problem(key=_key(item["loc"]), value=value, message=_message(item, known)))
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
