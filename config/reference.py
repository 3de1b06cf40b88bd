"""Generate README's configuration reference from the settings models (`make docs`).

The reference sits between two marker lines in README.md; a test fails when
it is out of date, so the README cannot drift from the models.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from config.settings import Settings
from config.stack import SECRET_KEYS

BEGIN = "<!-- BEGIN CONFIG REFERENCE (make docs) -->"
END = "<!-- END CONFIG REFERENCE -->"


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _default(field: FieldInfo, instance: BaseModel | None, name: str) -> str:
    if instance is not None:
        value = getattr(instance, name)
    elif field.is_required():
        return "required"
    else:
        value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see below"
    if value in (None, {}, []):
        return "—"
    return f"`{getattr(value, 'value', value)}`"


_BOUNDS = (
    (annotated_types.Ge, "ge", "at least"),
    (annotated_types.Gt, "gt", "more than"),
    (annotated_types.Le, "le", "at most"),
    (annotated_types.Lt, "lt", "less than"),
)


def _bounds(field: FieldInfo) -> str:
    """The field's numeric limits in words ("at least 0, at most 100"), or nothing."""
    said = [
        f"{words} {getattr(item, attr):g}"
        for kind, attr, words in _BOUNDS
        for item in field.metadata
        if isinstance(item, kind)
    ]
    return f" Allowed: {', '.join(said)}." if said else ""


Nested = list[tuple[str, type[BaseModel], BaseModel | None]]


def _rows(model: type[BaseModel], prefix: str, out: list[str], nested: Nested, instance: BaseModel | None) -> None:
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        sub = _model_of(field.annotation)
        description = ((field.description or "") + _bounds(field)).replace("|", "\\|")
        if sub is not None and get_origin(field.annotation) is dict:
            nested.append((f"{key}.<name>", sub, None))
        elif sub is not None:
            default = getattr(instance, name) if instance is not None else None
            if default is None and not field.is_required():
                default = field.get_default(call_default_factory=True)
            nested.append((key, sub, default if isinstance(default, BaseModel) else None))
            continue
        out.append(f"| `{key}` | {description} | {_default(field, instance, name)} |")


def render() -> str:
    lines = [BEGIN, "", "| key (`media-server:` namespace) | meaning | default |", "|---|---|---|"]
    nested: Nested = []
    _rows(Settings, "", lines, nested, None)
    while nested:
        prefix, model, instance = nested.pop(0)
        summary = (model.__doc__ or "").strip().splitlines()
        lines.append(f"| **`{prefix}`** | {summary[0] if summary else ''} | |")
        _rows(model, prefix + ".", lines, nested, instance)
    lines += ["", "Secret config (set with `pulumi config set --secret KEY`):", ""]
    lines += [f"- `{key}`: {meaning}" for key, meaning in sorted(SECRET_KEYS.items())]
    lines += ["", END]
    return "\n".join(lines)


def update(readme: Path) -> bool:
    text = readme.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    new = text[:start] + render() + text[end:]
    changed = new != text
    readme.write_text(new)
    return changed


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    print(f"{path}: {'updated' if update(path) else 'already current'}")
