"""Every bad stack file tried for issue 11, run through the offline check: exit status and message per case.

`python -m tests.bad_inputs` prints the table (markdown) for the issue's closing
note; tests/test_bad_inputs.py asserts each row, so the table stays true.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from offline import check

BASE: dict[str, Any] = {
    "media-server:domain": "media.example.org",
    "media-server:host": {"mode": "local"},
}
"""A valid site: each case adds to it (or replaces the whole file with `text`)."""

CLOUDFLARE = {
    "enabled": True,
    "zone": "media.example.org",
    "zoneId": "0123456789abcdef0123456789abcdef",
    "accountId": "fedcba9876543210fedcba9876543210",
    "publicAddress": "203.0.113.10",
}
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0cMVt0d6vNRiX0i5cM1qk0D0Y0xG4yKQ2iHk4n7Bq2"
BOMB = (
    'config:\n  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"  {n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdef", "bcdefg", strict=True))
    + "  media-server:domain: *g\n"
)


@dataclass(frozen=True)
class Case:
    name: str
    key: str
    """The config key (or file:line:column) the first problem names."""
    message: str
    """A fragment of that problem's message."""
    config: dict[str, Any] = field(default_factory=dict)
    text: str | None = None
    """The whole stack file, when the case is about the file itself."""

    def stack_text(self) -> str:
        if self.text is not None:
            return self.text
        return yaml.safe_dump({"config": {**BASE, **self.config}}, sort_keys=False)


def _services(**entries: Any) -> dict[str, Any]:
    return {"media-server:services": {name.replace("_", "-"): value for name, value in entries.items()}}


def _env(service: str, env: dict[str, str]) -> dict[str, Any]:
    return {"media-server:services": {service: {"env": env}}}


def _paths(**paths: str) -> dict[str, Any]:
    return {"media-server:paths": paths}


CASES: tuple[Case, ...] = (
    # ---------------------------------------------------------------- the file itself (finding 10)
    Case("YAML syntax error", ":3:1", "not valid YAML", text="config:\n  media-server:domain: [\n"),
    Case("top-level list", ":1:1", "the file is a list; expected a mapping", text="- a\n- b\n"),
    Case(
        "!!python/object tag",
        ":2:24",
        "could not determine a constructor for the tag",
        text='config:\n  media-server:domain: !!python/object/apply:os.system ["true"]\n',
    ),
    Case("505-byte alias bomb", ":", "expands to more than 100000 values", text=BOMB),
    Case("alias containing itself", ":2:6", "refers to a node that contains it", text="config:\n  a: &a [*a]\n"),
    Case("config is a list", ":1:9", "config is a list; expected a mapping", text="config: [a, b]\n"),
    Case("non-text config key", "", "config keys are text", text="config:\n  1: x\n"),
    Case(
        "namespace typo media-sever:timezone",
        ":5:3",
        "unknown config namespace 'media-sever': this program reads only media-server:<key>; did you mean "
        "media-server:timezone?",
        {"media-sever:timezone": "Europe/Berlin"},
    ),
    Case(
        "unknown top-level key",
        "media-server:timezon",
        "unknown key; did you mean timezone?",
        {"media-server:timezon": "Europe/Berlin"},
    ),
    Case(
        "unknown nested key",
        "media-server:paths.configroot",
        "did you mean configRoot?",
        _paths(configroot="/opt/x"),
    ),
    # ---------------------------------------------------------------- env overrides (finding 3)
    Case(
        "env PUID=0",
        "media-server:services.sonarr.env.PUID",
        "PUID is security-relevant",
        _env("sonarr", {"PUID": "0"}),
    ),
    Case(
        "env AUTHELIA_ACCESS_CONTROL_DEFAULT_POLICY=bypass",
        "media-server:services.authelia.env",
        "authelia takes no environment overrides",
        _env("authelia", {"AUTHELIA_ACCESS_CONTROL_DEFAULT_POLICY": "bypass"}),
    ),
    Case(
        "env POSTGRES_HOST_AUTH_METHOD=trust",
        "media-server:services.postgres.env",
        "postgres takes no environment overrides",
        _env("postgres", {"POSTGRES_HOST_AUTH_METHOD": "trust"}),
    ),
    Case(
        "env on an app: POSTGRES_HOST_AUTH_METHOD=trust",
        "media-server:services.immich-server.env.POSTGRES_HOST_AUTH_METHOD",
        "security-relevant (*AUTH*)",
        _env("immich-server", {"POSTGRES_HOST_AUTH_METHOD": "trust"}),
    ),
    Case(
        "env ND_REVERSEPROXYWHITELIST=0.0.0.0/0",
        "media-server:services.navidrome.env.ND_REVERSEPROXYWHITELIST",
        "whose forwarded headers",
        _env("navidrome", {"ND_REVERSEPROXYWHITELIST": "0.0.0.0/0"}),
    ),
    Case(
        "env DOCKER_MODS",
        "media-server:services.sonarr.env.DOCKER_MODS",
        "downloads and runs code as root",
        _env("sonarr", {"DOCKER_MODS": "linuxserver/mods:universal-cron"}),
    ),
    Case(
        "env GF_AUTH_ANONYMOUS_ENABLED",
        "media-server:services.grafana.env.GF_AUTH_ANONYMOUS_ENABLED",
        "security-relevant",
        _env("grafana", {"GF_AUTH_ANONYMOUS_ENABLED": "true"}),
    ),
    Case(
        "env overriding a program-set name",
        "media-server:services.jellyfin.env.JELLYFIN_PublishedServerUrl",
        "the program sets JELLYFIN_PublishedServerUrl for jellyfin itself",
        _env("jellyfin", {"JELLYFIN_PublishedServerUrl": "http://attacker.example"}),
    ),
    Case(
        "env POST=1 on the socket proxy",
        "media-server:services.socket-proxy.env",
        "Docker API allowlist",
        _env("socket-proxy", {"POST": "1"}),
    ),
    # ---------------------------------------------------------------- host paths (finding 4)
    Case(
        "configRoot /root", "media-server:paths.configRoot", "inside the system tree /root", _paths(configRoot="/root")
    ),
    Case("dataRoot /home", "media-server:paths.dataRoot", "inside the system tree /home", _paths(dataRoot="/home")),
    Case(
        "cacheRoot /var/lib/docker",
        "media-server:paths.cacheRoot",
        "inside the system tree /var/lib",
        _paths(cacheRoot="/var/lib/docker"),
    ),
    Case("transcodePath /", "media-server:paths.transcodePath", "the filesystem root", _paths(transcodePath="/")),
    Case("dataRoot /", "media-server:paths.dataRoot", "the filesystem root", _paths(dataRoot="/")),
    Case(
        "backupRoot /etc/backups",
        "media-server:paths.backupRoot",
        "system tree /etc",
        _paths(backupRoot="/etc/backups"),
    ),
    Case("cacheRoot /var", "media-server:paths.cacheRoot", "contains the system tree", _paths(cacheRoot="/var")),
    Case(
        "transcodePath /tmp/t", "media-server:paths.transcodePath", "system tree /tmp", _paths(transcodePath="/tmp/t")
    ),
    Case("configRoot /opt", "media-server:paths.configRoot", "/opt is shared", _paths(configRoot="/opt")),
    # ---------------------------------------------------------------- trailing newlines (finding 5)
    Case(
        'subdomain "photos\\n"',
        "media-server:services.immich-server.subdomain",
        "contains a control character ('\\n' at position 6)",
        _services(immich_server={"subdomain": "photos\n"}),
    ),
    Case(
        'imageTag "10.11.2\\n"',
        "media-server:services.jellyfin.imageTag",
        "control character",
        _services(jellyfin={"imageTag": "10.11.2\n"}),
    ),
    Case(
        "imageDigest with a newline",
        "media-server:services.jellyfin.imageDigest",
        "control character",
        _services(jellyfin={"imageDigest": "sha256:" + "a" * 64 + "\n"}),
    ),
    Case('dataRoot "/data\\n"', "media-server:paths.dataRoot", "control character", _paths(dataRoot="/data\n")),
    Case(
        "bypass path with a newline",
        "media-server:services.jellyfin.bypassPaths[0]",
        "has whitespace",
        _services(jellyfin={"bypassPaths": ["^/api/.*$\n"]}),
    ),
    Case(
        'domain "media.example.org\\n"',
        "media-server:domain",
        "control character",
        {"media-server:domain": "m.example.org\n"},
    ),
    Case('puid "1000\\n"', "media-server:puid", "control character", {"media-server:puid": "1000\n"}),
    Case(
        'timezone "Europe/Berlin\\n"',
        "media-server:timezone",
        "control character",
        {"media-server:timezone": "Europe/Berlin\n"},
    ),
    Case(
        "env value with a newline",
        "media-server:services.jellyfin.env",
        "control character",
        _env("jellyfin", {"JF_GREETING": "hello\nworld"}),
    ),
    Case(
        "cron schedule with a newline",
        "media-server:backup.check.schedule",
        "control character",
        {"media-server:backup": {"check": {"schedule": "0 5 * * 1\n"}}},
    ),
    # ---------------------------------------------------------------- host and ssh (finding 6, helper sshcf)
    Case(
        "host.address with ;",
        "media-server:host.address",
        "not a host name or IP address",
        {"media-server:host": {"mode": "ssh", "address": "h;rm -rf /", "hostKey": ED25519}},
    ),
    Case(
        "sshOptions ProxyCommand",
        "media-server:host.sshOptions[1]",
        "'ProxyCommand' is not an allowed ssh option",
        {
            "media-server:host": {
                "mode": "ssh",
                "address": "media-host.example.org",
                "hostKey": ED25519,
                "sshOptions": ["-o", "ProxyCommand=nc %h %p"],
            }
        },
    ),
    Case(
        "hostKey garbage",
        "media-server:host.hostKey",
        "expected an OpenSSH public key line",
        {"media-server:host": {"mode": "ssh", "address": "media-host.example.org", "hostKey": "garbage"}},
    ),
    # ---------------------------------------------------------------- components switched off (finding 8)
    Case(
        "crowdsec-bouncer off",
        "media-server:services.traefik.enabled",
        "traefik needs crowdsec-bouncer, which is disabled",
        _services(crowdsec_bouncer={"enabled": False}),
    ),
    Case(
        "authelia off",
        "media-server:services.traefik.enabled",
        "traefik needs authelia, which is disabled",
        _services(authelia={"enabled": False}),
    ),
    Case(
        "prometheus off, grafana on",
        "media-server:services.grafana.enabled",
        "grafana needs prometheus",
        _services(prometheus={"enabled": False}),
    ),
    Case(
        "tiers.edge false with Cloudflare",
        "media-server:tiers.edge",
        "Cloudflare fronts the edge tier",
        {"media-server:tiers": {"edge": False}, "media-server:cloudflare": CLOUDFLARE},
    ),
    # ---------------------------------------------------------------- tunnel mode (finding 9)
    Case(
        "tunnel mode without the acknowledgement",
        "media-server:policy.acknowledgeProxiedMedia.audiobookshelf",
        "tunnel mode carries every app through Cloudflare (no record can be DNS-only); read Cloudflare's terms",
        {"media-server:cloudflare": {**CLOUDFLARE, "mode": "tunnel"}},
    ),
    # ---------------------------------------------------------------- ranges, HSTS, peers, memory (finding 10)
    Case(
        "bridge on a public range",
        "media-server:networks.proxy.cidr",
        "8.8.8.0/24 is not a private range",
        {"media-server:networks": {"proxy": {"cidr": "8.8.8.0/24"}}},
    ),
    Case(
        "bridge on docker0's range",
        "media-server:networks.media.cidr",
        "overlaps Docker's default bridge docker0",
        {"media-server:networks": {"media": {"cidr": "172.17.0.0/16"}}},
    ),
    Case(
        "WireGuard clients on the admin network",
        "media-server:edge.wireguard.clientCidr",
        "overlaps networks.admin.cidr (10.10.2.0/24)",
        {"media-server:edge": {"wireguard": {"clientCidr": "10.10.2.0/24"}}},
    ),
    Case(
        "VPN interface address on a bridge",
        "media-server:media.vpn.wireguardAddresses[0]",
        "overlaps networks.media.cidr",
        {"media-server:media": {"vpn": {"wireguardAddresses": ["10.10.1.5/32"]}}},
    ),
    Case(
        "hstsPreload with hstsSeconds 0",
        "media-server:edge.hstsSeconds",
        "the preload list requires a max-age of at least 31536000",
        {"media-server:edge": {"hstsPreload": True, "hstsSeconds": 0}},
    ),
    Case(
        "20,000 WireGuard peers on a /24",
        "media-server:edge.wireguard.peers",
        "has addresses for 253 peers",
        {"media-server:edge": {"wireguard": {"peers": [{"name": f"p{i}"} for i in range(20000)]}}},
    ),
    Case(
        "memory 9999g",
        "media-server:services.jellyfin.memory",
        "memory limit above 1t",
        _services(jellyfin={"memory": "9999g"}),
    ),
    Case("puid 0", "media-server:puid", "0 is root", {"media-server:puid": 0}),
)


@dataclass(frozen=True)
class Outcome:
    exit: int
    problems: list[dict[str, str]]
    resources: int
    stderr: str

    def matching(self, case: Case) -> dict[str, str] | None:
        """The problem the case is about: at its key, with its message."""
        return next((p for p in self.problems if case.key in p["key"] and case.message in p["message"]), None)


def run(case: Case, directory: Path) -> Outcome:
    """`python -m offline.check --stack-file <case> --json`, in this process (a traceback would raise here)."""
    path = directory / f"Pulumi.{abs(hash(case.name)) % 10**8}.yaml"
    path.write_text(case.stack_text())
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = check.main(["--stack-file", str(path), "--json"])
    doc = json.loads(out.getvalue())
    return Outcome(code, doc["problems"], len(doc["resources"]), err.getvalue())


def table() -> str:
    rows = ["| # | bad input | exit | the problem it is about | problems |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(CASES, 1):
            outcome = run(case, Path(tmp))
            shown = outcome.matching(case) or outcome.problems[0]
            where = shown["key"].replace(tmp + "/", "")
            text = f"`{where}`: {shown['message']} (got {shown['value']})".replace("|", "\\|").replace("\n", " ")
            rows.append(f"| {i} | {case.name} | {outcome.exit} | {text} | {len(outcome.problems)} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.stdout.write(table() + "\n")
