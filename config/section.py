"""The base of every settings model: one stack-config section, strict and hostile-input safe.

Apart from config/settings.py so that settings of one area (config/search.py) can live in their own
module without importing the whole site model.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from config.problems import holds_model
from config.types import control_character


class Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True, use_enum_values=False
    )

    one_line_exempt: ClassVar[frozenset[str]] = frozenset()
    """Fields whose own validator refuses control characters with a more precise message, at the item's key."""

    @field_validator("*", mode="before")
    @classmethod
    def _one_line(cls, value: object, info: ValidationInfo) -> object:
        # Every string in a stack file is hostile: "photos\n" must not pass a check that `$` would let through,
        # nor "1000\n" an int field, nor a validator that splits on whitespace. So before any of them.
        if info.field_name is None or info.field_name in cls.one_line_exempt:
            return value
        # A nested section's raw mapping is checked by that section, field by field, at each field's own key.
        if holds_model(cls.model_fields[info.field_name].annotation):
            return value
        found = control_character(value)
        if found:
            raise ValueError(f"contains a control character ({found}); expected plain text on one line")
        return value
