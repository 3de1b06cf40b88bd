"""What an engine raises when the index cannot be used (the service reports it, the message names why)."""

from __future__ import annotations


class EngineError(RuntimeError):
    """The index is unusable or refused a request; the message names the index and the reason."""
