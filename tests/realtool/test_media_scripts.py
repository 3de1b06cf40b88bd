"""The download client's scripts for real: the forwarded-port hook against a loopback stand-in of qBittorrent's
web API, and the localhost-auth init against qBittorrent.conf files."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from config.tailoring import PORT_FORWARD_SCRIPT
from offline.runner import RunResult
from tests.conftest import containers
from tests.test_media import env_of

pytestmark = pytest.mark.realtool
ROOT = Path(__file__).resolve().parents[2]
PORT_SCRIPT = ROOT / "scripts" / "media" / "qbittorrent-port.sh"
AUTH_SCRIPT = ROOT / "scripts" / "media" / "qbittorrent-localhost-auth.sh"

LSIO_DEFAULT_CONF = """[AutoRun]
enabled=false
program=

[BitTorrent]
Session\\DefaultSavePath=/downloads/

[Preferences]
Connection\\PortRangeMin=6881
WebUI\\Address=*
WebUI\\ServerDomains=*

[RSS]
AutoDownloader\\DownloadRepacks=true
"""


class StandIn(ThreadingHTTPServer):
    """Answers setPreferences like qBittorrent: 503 while 'starting', then 200; records each form body."""

    def __init__(self, busy: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.busy = busy
        self.bodies: list[dict[str, list[str]]] = []
        self.paths: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    server: StandIn

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.paths.append(self.path)
        self.server.bodies.append(parse_qs(self.rfile.read(length).decode()))
        status = 503 if len(self.server.bodies) <= self.server.busy else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def stand_in(request: pytest.FixtureRequest) -> Iterator[StandIn]:
    server = StandIn(busy=getattr(request, "param", 0))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _port_hook(stand_in: StandIn, *args: str, tries: int = 10) -> subprocess.CompletedProcess[str]:
    if shutil.which("wget") is None:
        pytest.fail("wget is missing: run `make setup-system`")
    env = {
        "PATH": os.environ["PATH"],
        "QBITTORRENT_URL": f"http://127.0.0.1:{stand_in.server_address[1]}",
        "QBITTORRENT_TRIES": str(tries),
        "QBITTORRENT_WAIT": "0",
    }
    return subprocess.run(["sh", str(PORT_SCRIPT), *args], env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("stand_in", [2], indirect=True)
def test_forwarded_port_reaches_qbittorrent_after_it_starts(stand_in: StandIn) -> None:
    done = _port_hook(stand_in, "51413,51414", "tun0")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "qbittorrent-port: listening port set to 51413 on tun0"
    assert stand_in.paths == ["/api/v2/app/setPreferences"] * 3
    (json_body,) = stand_in.bodies[-1]["json"]
    assert json_body == ('{"listen_port":51413,"random_port":false,"upnp":false,"current_network_interface":"tun0"}')


@pytest.mark.parametrize("stand_in", [100], indirect=True)
def test_gives_up_loudly_when_qbittorrent_never_answers(stand_in: StandIn) -> None:
    done = _port_hook(stand_in, "51413", tries=3)
    assert done.returncode == 1
    assert "did not take port 51413 after 3 tries" in done.stderr
    assert len(stand_in.bodies) == 3


@pytest.mark.parametrize("args", [[], ["none"], ["70000"], ["51413", "tun0;reboot"]])
def test_refuses_what_is_not_a_port(stand_in: StandIn, args: list[str]) -> None:
    done = _port_hook(stand_in, *args)
    assert done.returncode == 64, done.stderr
    assert stand_in.bodies == []


def _auth(conf: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "QBITTORRENT_CONF": str(conf)}
    return subprocess.run(["sh", str(AUTH_SCRIPT)], env=env, capture_output=True, text=True, check=False)


def test_localhost_auth_is_idempotent_and_keeps_the_file(tmp_path: Path) -> None:
    conf = tmp_path / "qBittorrent.conf"
    conf.write_text(LSIO_DEFAULT_CONF)
    if os.geteuid() == 0:
        os.chown(conf, 1234, 1234)
    inode = conf.stat().st_ino
    first = _auth(conf)
    assert first.returncode == 0, first.stderr
    text = conf.read_text()
    assert text == LSIO_DEFAULT_CONF.replace(
        "WebUI\\ServerDomains=*\n", "WebUI\\ServerDomains=*\nWebUI\\LocalHostAuth=false\n"
    )
    second = _auth(conf)
    assert second.returncode == 0 and second.stdout.strip() == "qbittorrent-localhost-auth: unchanged"
    assert conf.read_text() == text and conf.stat().st_ino == inode
    if os.geteuid() == 0:
        assert (conf.stat().st_uid, conf.stat().st_gid) == (1234, 1234)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "[Preferences]\nWebUI\\LocalHostAuth=true\nWebUI\\Port=8080\n",
            "[Preferences]\nWebUI\\LocalHostAuth=false\nWebUI\\Port=8080\n",
        ),
        ("[BitTorrent]\nx=1\n", "[BitTorrent]\nx=1\n\n[Preferences]\nWebUI\\LocalHostAuth=false\n"),
        (
            "[Other]\nWebUI\\LocalHostAuth=true\n",
            "[Other]\nWebUI\\LocalHostAuth=true\n\n[Preferences]\nWebUI\\LocalHostAuth=false\n",
        ),
    ],
)
def test_localhost_auth_edits_only_preferences(tmp_path: Path, before: str, after: str) -> None:
    conf = tmp_path / "qBittorrent.conf"
    conf.write_text(before)
    assert _auth(conf).returncode == 0
    assert conf.read_text() == after


def test_localhost_auth_waits_for_qbittorrent_to_write_its_config(tmp_path: Path) -> None:
    done = _auth(tmp_path / "missing.conf")
    assert done.returncode == 0 and "no " in done.stderr
    assert not (tmp_path / "missing.conf").exists()


def _gluetun_v3_40_0(template: str, ports: list[int]) -> list[str]:
    """The argv gluetun v3.40.0 runs for VPN_PORT_FORWARDING_UP_COMMAND
    (internal/portforward/service/command.go: ReplaceAll "{{PORTS}}" with the comma-joined ports, nothing else,
    then command.Split, a shell-like split)."""
    return shlex.split(template.replace("{{PORTS}}", ",".join(str(p) for p in ports)))


@pytest.mark.parametrize("stand_in", [0], indirect=True)
def test_the_hook_takes_the_exact_arguments_the_pinned_gluetun_passes(stand_in: StandIn, prod: RunResult) -> None:
    """{{VPN_INTERFACE}} is substituted only from v3.41.0: at v3.40.0 the literal reached the script (exit 64)."""
    gluetun = containers(prod)["gluetun"]
    env = env_of(gluetun)
    argv = _gluetun_v3_40_0(env["VPN_PORT_FORWARDING_UP_COMMAND"], [51413, 51414])
    assert argv[:2] == ["/bin/sh", PORT_FORWARD_SCRIPT]
    done = _port_hook(stand_in, *argv[2:])
    assert done.returncode == 0, done.stderr
    (json_body,) = stand_in.bodies[-1]["json"]
    assert f'"current_network_interface":"{env["VPN_INTERFACE"]}"' in json_body
    assert env["VPN_INTERFACE"] == "wg0"  # the prod stack's VPN is WireGuard
