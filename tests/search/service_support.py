"""A running search service on loopback (free port) for the service tests and the browser test."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mediasearch.config import ServiceConfig
from mediasearch.engine import Engine
from mediasearch.indexer import Indexer
from mediasearch.metrics import Metrics
from mediasearch.server import SearchService, make_server


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass
class Running:
    base: str
    port: int
    service: SearchService
    indexer: Indexer

    def request(self, method: str, path: str, headers: Mapping[str, str] | None = None) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, headers=dict(headers or {}))
            response = conn.getresponse()
            return Response(response.status, response.headers, response.read())
        finally:
            conn.close()

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Response:
        return self.request("GET", path, headers)


@contextmanager
def running_service(
    config: ServiceConfig, engine: Engine, connectors: Mapping[str, type], **indexer_args: Any
) -> Iterator[Running]:
    indexer = Indexer(config, engine, connectors, **indexer_args)
    service = SearchService(config, engine, indexer, Metrics())
    server = make_server(service, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, name="test-server", daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        yield Running(base=f"http://127.0.0.1:{port}", port=port, service=service, indexer=indexer)
    finally:
        server.shutdown()
        server.server_close()
        indexer.stop()
        thread.join(5)
