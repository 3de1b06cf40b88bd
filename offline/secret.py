"""The marker for a value that reached the engine as a Pulumi secret (shared by the recorder and the model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Secret:
    """A value that reached the engine marked as a Pulumi secret."""

    value: Any
