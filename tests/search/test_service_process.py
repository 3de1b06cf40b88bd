"""`python3 -m mediasearch serve` as the image runs it: a real process, the real engine and connectors.

It listens, answers /healthz, tries its enabled source at start (here an app that refuses the connection:
a closed loopback port), tries again at once on SIGHUP (`docker kill --signal HUP search`) without waiting
for the schedule, stops cleanly on SIGTERM, and its log never holds the source's key.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offline.runner import ROOT
from tests.search.service_fakes import raw_config

WAIT = 30.0
KEY = "k3y-that-must-never-be-logged"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        body = response.read()
        return json.loads(body) if response.headers["Content-Type"].startswith("application/json") else body


def _until(condition: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while True:
        try:
            value = condition()
        except OSError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WAIT} s: {what}")
        time.sleep(0.1)


@pytest.fixture
def process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    port = _free_port()
    key = tmp_path / "jellyfin.key"
    key.write_text(KEY, encoding="utf-8")
    raw = raw_config(listen_port=port, engine={"kind": "sqlite", "path": str(tmp_path / "index" / "search.db")})
    raw["sources"][0].update(url=f"http://127.0.0.1:{_free_port()}", key_file=str(key))
    raw["sources"][1].update(enabled=False, key_file=None, reason="Navidrome is off in this stack")
    (tmp_path / "index").mkdir()
    config = tmp_path / "search.json"
    config.write_text(json.dumps(raw), encoding="utf-8")
    log = tmp_path / "service.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "images" / "search"), "PYTHONDONTWRITEBYTECODE": "1"}
    with log.open("w") as output:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mediasearch", "serve", "--config", str(config), "--host", "127.0.0.1"],
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
    try:
        yield proc, port, log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _jellyfin(port: int) -> dict[str, Any]:
    sources = _get(port, "/api/sources")["sources"]
    found: dict[str, Any] = next(s for s in sources if s["app"] == "jellyfin")
    return found


def test_serve_rebuilds_on_sighup_and_stops_on_sigterm(process: tuple[subprocess.Popen[str], int, Path]) -> None:
    proc, port, log = process
    assert _until(lambda: _get(port, "/healthz") == b"ok\n", "/healthz answers")
    first = _until(lambda: (s := _jellyfin(port))["errors"] >= 1 and s, "the first run of jellyfin")
    assert first["state"] == "error"
    assert first["reason"], "the page is told why"
    proc.send_signal(signal.SIGHUP)
    second = _until(lambda: (s := _jellyfin(port))["errors"] >= 2 and s, "the run SIGHUP asks for")
    assert second["last_attempt"] > first["last_attempt"]
    navidrome = next(s for s in _get(port, "/api/sources")["sources"] if s["app"] == "navidrome")
    assert (navidrome["state"], navidrome["reason"], navidrome["last_attempt"]) == (
        "not_configured",
        "Navidrome is off in this stack",
        None,
    )
    assert b"mediasearch_index_errors_total" in _get(port, "/metrics")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(WAIT) == 0
    text = log.read_text(encoding="utf-8")
    assert "full rebuild of every enabled source requested" in text
    assert KEY not in text
