"""The real blackbox exporter (Debian `prometheus-blackbox-exporter`) loads the generated modules and probes.

It runs on 127.0.0.1 with the generated configuration and probes loopback
servers that answer as a route behind forward auth does (302 to the portal):
over HTTPS with a certificate the exporter trusts the probe succeeds; over plain
HTTP the module refuses it (public URLs must be HTTPS). The series it writes are
the ones the metric reference lists for the probe job.
"""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import ssl
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
    agents: list[str] = []

    def do_GET(self) -> None:
        self.agents.append(self.headers.get("User-Agent", ""))
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


def _serve(server: http.server.HTTPServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if isinstance(server.socket, ssl.SSLSocket) else "http"
    yield f"{scheme}://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def http_server() -> Iterator[str]:
    yield from _serve(http.server.HTTPServer(("127.0.0.1", 0), _Redirect))


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    assert openssl, "openssl is missing: run `make setup-system`"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert), "-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def https_server(certificate: tuple[Path, Path]) -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Redirect)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield from _serve(server)


def _probe(config_file: Path, target: str, trusted: Path | None = None) -> dict[str, float]:
    """One probe of `target` through a real exporter; `trusted` is the CA file it verifies TLS with."""
    port = _free_port()
    env = {**os.environ, "SSL_CERT_FILE": str(trusted)} if trusted else None  # Go's crypto/x509 reads it
    process = subprocess.Popen(
        [_exporter(), f"--config.file={config_file}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        query = urllib.parse.urlencode({"module": PROBE_MODULE, "target": target})
        body = ""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/probe?{query}", timeout=15) as response:
                    body = response.read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert body, "the blackbox exporter did not answer"
        return {line.split()[0]: float(line.split()[-1]) for line in body.splitlines() if not line.startswith("#")}
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_blackbox_accepts_the_generated_modules(config_file: Path) -> None:
    result = subprocess.run(
        [_exporter(), f"--config.file={config_file}", "--config.check"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_https_route_answering_with_the_portal_redirect_succeeds(
    config_file: Path, https_server: str, certificate: tuple[Path, Path]
) -> None:
    _Redirect.agents.clear()
    samples = _probe(config_file, https_server, trusted=certificate[0])
    assert samples["probe_success"] == 1
    assert samples["probe_http_ssl"] == 1 and samples["probe_http_status_code"] == 302
    assert _Redirect.agents == ["media-server-blackbox/1"], "one request, with the generated User-Agent"


def test_a_plain_http_answer_fails_the_probe(config_file: Path, http_server: str) -> None:
    samples = _probe(config_file, http_server)
    assert samples["probe_success"] == 0  # HTTP, not HTTPS: fail_if_not_ssl
    assert samples["probe_http_status_code"] == 302  # the redirect was the answer, not followed
    names = {name.split("{")[0] for name in samples}
    reference = load("probe")
    used = {"probe_success", "probe_duration_seconds", "probe_http_status_code", "probe_http_ssl"}
    assert used <= names and used <= set(reference)
