"""Fixtures for the connector contract tests: a stand-in per test (closed after it, failing it on any contract
violation it recorded) and a SourceConfig whose secret file holds a recognisable key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mediasearch.config import SourceConfig

from tests.search.connectors.standin import ApiDocument, Handler, StandIn

SECRET = "k3y-S3CRET-0123456789abcdef"
"""The key every test source uses: a test greps requests' URLs and error messages for it."""

MakeStandIn = Callable[..., StandIn]


@pytest.fixture
def standin() -> Iterator[MakeStandIn]:
    made: list[StandIn] = []

    def make(document: ApiDocument, handler: Handler, **kwargs: object) -> StandIn:
        server = StandIn(document, handler, **kwargs)  # type: ignore[arg-type]
        made.append(server)
        return server

    yield make
    errors = [e for s in made for e in s.errors if not getattr(s, "expect_errors", False)]
    for server in made:
        server.close()
    assert not errors, "the connector broke the published API contract:\n" + "\n".join(errors)


@pytest.fixture
def source(tmp_path: Path) -> Callable[..., SourceConfig]:
    def make(app: str, url: str, **kwargs: object) -> SourceConfig:
        key_file = tmp_path / f"{app}.key"
        key_file.write_text(SECRET + "\n", encoding="utf-8")
        values: dict[str, object] = {
            "app": app,
            "enabled": True,
            "url": url,
            "public_url": f"https://{app}.example.org",
            "key_file": str(key_file),
        }
        values.update(kwargs)
        return SourceConfig(**values)  # type: ignore[arg-type]

    return make
