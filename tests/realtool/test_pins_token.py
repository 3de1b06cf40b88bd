"""The registry client's anonymous token flow, against the loopback docker-registry behind a token gate.

Docker Hub, ghcr.io, lscr.io and quay.io answer an anonymous request with 401 and
`WWW-Authenticate: Bearer realm=...,service=...,scope=repository:<name>:pull`; the realm hands out a pull
token for that scope, and the request is repeated with it. Debian's docker-registry serves without one, so
the test puts a gate in front of it (a loopback HTTP server that answers exactly that challenge and relays only
requests carrying a token it issued for that repository) and a token server beside it (another loopback
server, as auth.docker.io is beside registry-1.docker.io). `make pin` and `make outdated` must work through
both; a realm that hands out no token, a token the registry refuses, an unreachable or non-HTTP realm and a
Basic challenge must each end in one clear error with the lock untouched.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from pins.__main__ import ROOT, wanted
from pins.registry import split_repository
from tests.realtool.backup_env import free_port
from tests.realtool.registry import Registry, registry
from tests.realtool.test_pins import HOSTS

pytestmark = pytest.mark.realtool
SERVICE = "loopback-registry"
SITE_TAG = "10.99.1"
"""Jellyfin's tag in the test's site (services.jellyfin.imageTag): two tags of one repository to resolve."""
_V2 = re.compile(r"^/v2/(?P<name>.+?)/(?P<kind>manifests|tags|blobs)/")


@dataclass
class Gate:
    """What the token server and the gate saw, and how they misbehave (`mode`)."""

    registry: str
    realm: str = ""
    mode: str = "good"
    issued: dict[str, str] = field(default_factory=dict)
    """token -> the scope it was issued for."""
    token_requests: list[dict[str, str]] = field(default_factory=list)
    challenged: list[str] = field(default_factory=list)
    """Repositories answered 401 (no token, or one not issued for them)."""
    relayed: list[tuple[str, str]] = field(default_factory=list)
    """(repository, path) relayed with a valid token."""


def _token_handler(gate: Gate) -> type[BaseHTTPRequestHandler]:
    class TokenServer(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            gate.token_requests.append(query)
            scope = query.get("scope", "")
            valid = query.get("service") == SERVICE and re.fullmatch(r"repository:[a-z0-9._/-]+:pull", scope)
            if gate.mode == "denied" or not valid:
                self._answer(403, b'{"errors": [{"code": "DENIED"}]}')
            elif gate.mode == "no-token":
                self._answer(200, b'{"expires_in": 300}')
            elif gate.mode == "not-json":
                self._answer(200, b"<html>login</html>")
            else:
                token = secrets.token_urlsafe(24)
                if gate.mode != "refused":  # a token the registry will not honour
                    gate.issued[token] = scope
                self._answer(200, json.dumps({"token": token, "expires_in": 300}).encode())

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return TokenServer


def _gate_handler(gate: Gate) -> type[BaseHTTPRequestHandler]:
    class TokenGate(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            match = _V2.match(self.path)
            name = match["name"] if match else ""
            auth = self.headers.get("Authorization", "")
            token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
            if not name or gate.issued.get(token) != f"repository:{name}:pull":
                gate.challenged.append(name)
                self._challenge(name)
                return
            gate.relayed.append((name, self.path))
            if gate.mode == "single-use":  # as a token that expired after one request
                del gate.issued[token]
            request = urllib.request.Request(  # noqa: S310 - the test's own loopback registry
                gate.registry + self.path, headers={"Accept": self.headers.get("Accept", "*/*")}
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as upstream:  # noqa: S310 - loopback
                    status, headers, body = upstream.status, upstream.headers, upstream.read()
            except urllib.error.HTTPError as exc:
                status, headers, body = exc.code, exc.headers, exc.read()
            self.send_response(status)
            for header in ("Content-Type", "Docker-Content-Digest", "Link"):
                if headers.get(header):
                    self.send_header(header, headers[header])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _challenge(self, name: str) -> None:
            if gate.mode == "basic":
                challenge = 'Basic realm="private registry"'
            else:
                challenge = f'Bearer realm="{gate.realm}",service="{SERVICE}",scope="repository:{name}:pull"'
            body = b'{"errors": [{"code": "UNAUTHORIZED"}]}'
            self.send_response(401)
            self.send_header("WWW-Authenticate", challenge)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return TokenGate


@contextmanager
def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass(frozen=True)
class Gated:
    registry: Registry
    gate: Gate
    front: str
    """The gate's URL: every registry host of the catalog is reached there."""
    digests: dict[str, str]
    """reference -> digest of everything pushed."""
    stacks: tuple[Path, Path]
    """The dev stack, and a site like it with Jellyfin at SITE_TAG."""


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gated]:
    """The registry with the site's images, behind its gate and beside its token server."""
    tmp = tmp_path_factory.mktemp("token-registry")
    doc = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    doc["config"]["media-server:services"]["jellyfin"] = {"imageTag": SITE_TAG}
    stack = tmp / "Pulumi.site.yaml"
    stack.write_text(yaml.safe_dump(doc))
    with registry(tmp) as reg:
        digests = {}
        stacks = (ROOT / "Pulumi.dev.yaml", stack)
        for item in wanted(list(stacks), tmp / "empty.lock.json"):
            _, name = split_repository(item.repository)
            for tag in {item.base_tag, item.final_tag}:
                digests[f"{item.repository}:{tag}"] = reg.image(name, tag)
        gate = Gate(registry=reg.url)
        with _serve(_token_handler(gate)) as tokens, _serve(_gate_handler(gate)) as front:
            gate.realm = f"{tokens}/token"
            yield Gated(reg, gate, front, digests, stacks)


@pytest.fixture
def gate(gated: Gated) -> Iterator[Gate]:
    """The module's gate, reset before a test and back to issuing good tokens after it."""
    found = gated.gate
    for seen in (found.issued, found.token_requests, found.challenged, found.relayed):
        seen.clear()
    realm = found.realm
    yield found
    found.mode, found.realm = "good", realm


def _pins(*args: str, site: Gated, lock: Path) -> subprocess.CompletedProcess[str]:
    options = [f"--registry={host}={site.front}" for host in HOSTS]
    options += [f"--stack-file={stack}" for stack in site.stacks]
    return subprocess.run(
        [sys.executable, "-m", "pins", *args, "--lock", str(lock), *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_pin_and_outdated_work_through_the_token_flow(gated: Gated, gate: Gate, tmp_path: Path) -> None:
    lock = tmp_path / "images.lock.json"
    done = _pins("pin", site=gated, lock=lock)
    assert done.returncode == 0, done.stderr
    doc = json.loads(lock.read_text())
    pins = doc["images"]
    assert pins and {app: p["digest"] for app, p in pins.items()} == {
        app: gated.digests[f"{p['image']}:{p['tag']}"] for app, p in pins.items()
    }
    site_tag = f"jellyfin/jellyfin:{SITE_TAG}"
    assert doc["variants"] == {site_tag: gated.digests[site_tag]}
    names = {split_repository(p["image"])[1] for p in pins.values()}
    # One anonymous request per repository met the challenge; its token was asked for with the challenge's
    # service and scope, and every request after it carried it: Jellyfin's two tags, one token.
    assert sorted(gate.challenged) == sorted(names)
    assert sorted(r["scope"] for r in gate.token_requests) == sorted(f"repository:{n}:pull" for n in names)
    assert {r["service"] for r in gate.token_requests} == {SERVICE}
    assert {name for name, _ in gate.relayed} == names
    assert sorted(p for n, p in gate.relayed if n == "jellyfin/jellyfin") == sorted(
        f"/v2/jellyfin/jellyfin/manifests/{t}" for t in (pins["jellyfin"]["tag"], SITE_TAG)
    )

    sonarr = pins["sonarr"]
    major, minor, patch = (int(x) for x in sonarr["tag"].split("."))
    newer = f"{major}.{minor}.{patch + 1}"
    gated.registry.image("linuxserver/sonarr", newer)
    outdated = _pins("outdated", site=gated, lock=lock)
    assert outdated.returncode == 0, outdated.stderr
    line = next(x for x in outdated.stdout.splitlines() if x.startswith("sonarr "))
    assert line.split()[-1] == newer
    assert ("linuxserver/sonarr", "/v2/linuxserver/sonarr/tags/list?n=1000") in gate.relayed


def test_a_gate_that_hands_out_no_good_token_refuses_every_request(gated: Gated, gate: Gate) -> None:
    """The gate itself: without a token it issued for that repository, nothing reaches the registry."""
    url = f"{gated.front}/v2/linuxserver/sonarr/tags/list"
    for headers in ({}, {"Authorization": "Bearer forged"}):
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10)  # noqa: S310 - loopback
        assert info.value.code == 401
        assert info.value.headers["WWW-Authenticate"] == (
            f'Bearer realm="{gate.realm}",service="{SERVICE}",scope="repository:linuxserver/sonarr:pull"'
        )
    assert gate.relayed == []


def test_a_kept_token_that_expired_is_replaced_once(gated: Gated, gate: Gate, tmp_path: Path) -> None:
    """Docker Hub's tokens last five minutes: the client keeps one per repository and asks again when refused."""
    gate.mode = "single-use"
    lock = tmp_path / "images.lock.json"
    done = _pins("pin", site=gated, lock=lock)
    assert done.returncode == 0, done.stderr
    doc = json.loads(lock.read_text())
    assert doc["images"]["jellyfin"]["digest"] == gated.digests[f"jellyfin/jellyfin:{doc['images']['jellyfin']['tag']}"]
    assert doc["variants"][f"jellyfin/jellyfin:{SITE_TAG}"] == gated.digests[f"jellyfin/jellyfin:{SITE_TAG}"]
    jellyfin = [r for r in gate.token_requests if r["scope"] == "repository:jellyfin/jellyfin:pull"]
    assert len(jellyfin) == 2 and gate.challenged.count("jellyfin/jellyfin") == 2


BAD_REALMS = {
    "refused": "refused the registry's own token",
    "no-token": "gave no token",
    "not-json": "did not answer JSON",
    "closed": "registry unreachable (",
    "file": "not an http(s) URL",
    "basic": 'the registry asks for credentials (Basic realm="private registry"); only public images',
    "denied": "HTTP 403 Forbidden",
}


@pytest.mark.parametrize("mode", BAD_REALMS, ids=BAD_REALMS)
def test_a_bad_token_or_realm_is_one_clear_error_and_the_lock_stays(
    gated: Gated, gate: Gate, tmp_path: Path, mode: str
) -> None:
    lock = tmp_path / "images.lock.json"
    assert _pins("pin", site=gated, lock=lock).returncode == 0
    before = lock.read_bytes()
    gate.mode = mode
    if mode == "closed":
        gate.realm = f"http://127.0.0.1:{free_port()}/token"
    elif mode == "file":
        gate.realm = "file:///etc/passwd"
    done = _pins("pin", site=gated, lock=lock)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert BAD_REALMS[mode] in done.stderr
    assert done.stderr.splitlines()[-1].endswith(f"{lock} left as it was")
    assert lock.read_bytes() == before
