"""The WireGuard peer job against a stand-in of wg-easy's API on loopback: idempotent, authenticated."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from components.proxy import PEERS_SCRIPT


class FakeWgEasy(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.clients: list[dict[str, Any]] = [{"id": 1, "name": "phone"}]
        self.posts: list[dict[str, Any]] = []
        self.auth = "Basic " + base64.b64encode(b"admin:s3cret").decode()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeWgEasy

    def log_message(self, format: str, *args: object) -> None:
        return

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != self.server.auth:
            return self._answer(401, {"message": "unauthorized"})
        return self._answer(200, self.server.clients)

    def do_POST(self) -> None:
        if self.headers.get("Authorization") != self.server.auth:
            return self._answer(401, {"message": "unauthorized"})
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.posts.append(body)
        self.server.clients.append({"id": len(self.server.clients) + 1, "name": body["name"]})
        return self._answer(200, {"success": True, "clientId": len(self.server.clients)})


@pytest.fixture
def wg_easy() -> Iterator[FakeWgEasy]:
    server = FakeWgEasy()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _run(peers_file: str, url: str, password: str) -> subprocess.CompletedProcess[str]:
    environment = {"WG_EASY_URL": url, "WG_EASY_USERNAME": "admin", "WG_EASY_PASSWORD": password, "WG_EASY_WAIT": "1"}
    return subprocess.run(
        [sys.executable, str(PEERS_SCRIPT), peers_file],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_creates_missing_peers_once(wg_easy: FakeWgEasy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    peers = tmp_path / "peers.json"
    peers.write_text(json.dumps({"peers": ["phone", "laptop", "tablet"]}))
    first = _run(str(peers), wg_easy.url, "s3cret")
    assert first.returncode == 0, first.stderr
    assert wg_easy.posts == [{"name": "laptop", "expiresAt": None}, {"name": "tablet", "expiresAt": None}]
    second = _run(str(peers), wg_easy.url, "s3cret")
    assert second.returncode == 0, second.stderr
    assert len(wg_easy.posts) == 2 and "0 created" in second.stdout


def test_wrong_password_fails_loudly(wg_easy: FakeWgEasy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    peers = tmp_path / "peers.json"
    peers.write_text(json.dumps({"peers": ["laptop"]}))
    result = _run(str(peers), wg_easy.url, "wrong")
    assert result.returncode != 0 and "refused the admin credentials (401)" in result.stderr
    assert wg_easy.posts == []


def test_unreachable_server_gives_up_after_waiting(tmp_path) -> None:  # type: ignore[no-untyped-def]
    peers = tmp_path / "peers.json"
    peers.write_text(json.dumps({"peers": ["laptop"]}))
    result = _run(str(peers), "http://127.0.0.1:9", "s3cret")
    assert result.returncode != 0 and "did not answer" in result.stderr
