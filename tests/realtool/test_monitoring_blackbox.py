"""The real blackbox exporter (Debian `prometheus-blackbox-exporter`) loads the generated modules and probes.

It runs on 127.0.0.1 with the generated configuration and probes a loopback
plain-HTTP server: the module refuses it (public URLs must be HTTPS), and the
series it writes are the ones the metric reference lists for the probe job.
"""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from render.blackbox import render_blackbox_config
from render.metric_reference import load
from render.prometheus import PROBE_MODULE
from render.serialise import to_yaml
from tests.monitoring_support import site

pytestmark = pytest.mark.realtool


def _exporter() -> str:
    found = shutil.which("prometheus-blackbox-exporter")
    assert found, "blackbox exporter is missing: run `make setup-system` (Debian prometheus-blackbox-exporter)"
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Redirect(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", "https://auth.example.org/")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "blackbox.yml"
    path.write_text(to_yaml(render_blackbox_config(site())))
    return path


@pytest.fixture
def http_server() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_blackbox_accepts_the_generated_modules(config_file: Path) -> None:
    result = subprocess.run(
        [_exporter(), f"--config.file={config_file}", "--config.check"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_plain_http_answer_fails_the_probe(config_file: Path, http_server: str) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [_exporter(), f"--config.file={config_file}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        query = urllib.parse.urlencode({"module": PROBE_MODULE, "target": http_server})
        body = ""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/probe?{query}", timeout=15) as response:
                    body = response.read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert body, "the blackbox exporter did not answer"
        samples = {line.split()[0]: float(line.split()[-1]) for line in body.splitlines() if not line.startswith("#")}
        assert samples["probe_success"] == 0  # HTTP, not HTTPS: fail_if_not_ssl
        assert samples["probe_http_status_code"] == 302  # the redirect was the answer, not followed
        names = {name.split("{")[0] for name in samples}
        reference = load("probe")
        used = {"probe_success", "probe_duration_seconds", "probe_http_status_code", "probe_http_ssl"}
        assert used <= names and used <= set(reference)
    finally:
        process.terminate()
        process.wait(timeout=10)
