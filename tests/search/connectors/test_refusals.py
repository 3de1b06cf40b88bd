"""A refused key (401/403 from the app's auth layer) is one clear message naming the app and the endpoint, never
the key, for every connector that sends a key in a header."""

from __future__ import annotations

import pytest
from mediasearch.connectors import ConnectorError
from mediasearch.connectors.audiobookshelf import AudiobookshelfConnector
from mediasearch.connectors.immich import ImmichConnector
from mediasearch.connectors.jellyfin import JellyfinConnector

from tests.search.connectors.conftest import SECRET
from tests.search.connectors.standin import Answer, document


@pytest.mark.parametrize(
    ("connector", "doc", "status", "endpoint"),
    [
        (JellyfinConnector, document("jellyfin-10.11.3.openapi.json"), 401, "/Items"),
        (AudiobookshelfConnector, document("audiobookshelf-2.30.0.openapi.json"), 401, "/api/libraries"),
        (ImmichConnector, document("immich-2.3.1.openapi.json", prefix="/api"), 403, "/api/albums"),
    ],
    ids=["jellyfin", "audiobookshelf", "immich"],
)
def test_refused_key(standin, source, connector, doc, status, endpoint) -> None:
    server = standin(doc, lambda request: Answer(status=status, body=None))
    app = connector.__module__.rsplit(".", 1)[1]

    with pytest.raises(ConnectorError) as failure:
        list(connector(source(app, server.url), timeout=5).fetch(None))

    message = str(failure.value)
    expected = (
        f"{app}: the API refused the credentials (HTTP {status} on {endpoint}); check the key in its stack secret"
    )
    assert message == expected and SECRET not in message
