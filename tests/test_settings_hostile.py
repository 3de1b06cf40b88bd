"""Hostile stack files (issue 11): env overrides, host paths and trailing newlines cannot open a hole."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from config import types
from config.catalog import CATALOG
from config.env_overrides import DENIED, denial
from config.host_paths import SHARED_PARENTS, SYSTEM_TREES
from config.problems import SettingsError
from config.stack import load_stack_file, parse_settings
from offline.runner import ROOT
from tests.conftest import minimal_config
from tests.edge_support import stack_raw


def problems(**overrides: Any) -> list[str]:
    with pytest.raises(SettingsError) as info:
        parse_settings(minimal_config(**overrides))
    return [str(p) for p in info.value.problems]


# ------------------------------------------------------------------ finding 3: env overrides
@pytest.mark.parametrize(
    ("service", "env", "key", "expected"),
    [
        # The three examples.
        ("sonarr", {"PUID": "0"}, "services.sonarr.env.PUID", r"PUID is security-relevant .*never 0"),
        (
            "authelia",
            {"AUTHELIA_ACCESS_CONTROL_DEFAULT_POLICY": "bypass"},
            "services.authelia.env",
            r"authelia takes no environment overrides: its configuration is generated",
        ),
        (
            "postgres",
            {"POSTGRES_HOST_AUTH_METHOD": "trust"},
            "services.postgres.env",
            r"postgres takes no environment overrides: its environment decides who may connect",
        ),
        # Around them: the same names on apps that do take overrides, and the other families.
        ("radarr", {"PGID": "0"}, "services.radarr.env.PGID", r"PGID is security-relevant"),
        ("jellyfin", {"AUTHELIA_SESSION_DOMAIN": "x"}, "services.jellyfin.env.AUTHELIA_SESSION_DOMAIN", r"Authelia"),
        (
            "immich-server",
            {"POSTGRES_HOST_AUTH_METHOD": "trust"},
            "services.immich-server.env.POSTGRES_HOST_AUTH_METHOD",
            r"\*AUTH\*.*who may sign in",
        ),
        ("grafana", {"GF_AUTH_ANONYMOUS_ENABLED": "true"}, "services.grafana.env.GF_AUTH_ANONYMOUS_ENABLED", r"AUTH"),
        ("homepage", {"NODE_TLS_INSECURE": "1"}, "services.homepage.env.NODE_TLS_INSECURE", r"INSECURE"),
        (
            "navidrome",
            {"ND_REVERSEPROXYWHITELIST": "0.0.0.0/0"},
            "services.navidrome.env.ND_REVERSEPROXYWHITELIST",
            r"whose forwarded headers",
        ),
        (
            "navidrome",
            {"nd_reverseproxyuserheader": "X-User"},
            "services.navidrome.env.nd_reverseproxyuserheader",
            "PROXY",
        ),
        ("jellystat", {"JWT_SECRET": "x"}, "services.jellystat.env.JWT_SECRET", r"secret config"),
        ("sonarr", {"DOCKER_MODS": "linuxserver/mods:x"}, "services.sonarr.env.DOCKER_MODS", r"runs code as root"),
        ("sonarr", {"LD_PRELOAD": "/config/x.so"}, "services.sonarr.env.LD_PRELOAD", r"what code the container runs"),
        ("qbittorrent", {"VPN_ENDPOINT_IP": "1.2.3.4"}, "services.qbittorrent.env.VPN_ENDPOINT_IP", r"kill switch"),
        (
            "jellyfin",
            {"JELLYFIN_PublishedServerUrl": "http://evil"},
            "services.jellyfin.env.JELLYFIN_PublishedServerUrl",
            r"the program sets JELLYFIN_PublishedServerUrl for jellyfin itself",
        ),
        ("sonarr", {"TZ": "UTC"}, "services.sonarr.env.TZ", r"time zone"),
        ("socket-proxy", {"LOG_LEVEL": "debug"}, "services.socket-proxy.env", r"Docker API allowlist"),
        ("gluetun", {"DOT": "off"}, "services.gluetun.env", r"kill switch"),
        ("sonarr", {"1BAD": "x"}, "services.sonarr.env.1BAD", r"not an environment variable name"),
        ("sonarr", {"A=B": "x"}, "services.sonarr.env.A=B", r"not an environment variable name"),
    ],
)
def test_env_override_cannot_weaken(service: str, env: dict[str, str], key: str, expected: str) -> None:
    found = problems(services={service: {"env": env}})
    assert len(found) == 1, found
    assert found[0].startswith(f"media-server:{key}: "), found
    assert re.search(expected, found[0]), found


def test_harmless_env_override_passes() -> None:
    settings = parse_settings(minimal_config(services={"jellyfin": {"env": {"JELLYFIN_FFmpeg__probesize": "1G"}}}))
    assert settings.service("jellyfin").env["JELLYFIN_FFmpeg__probesize"] == "1G"


@pytest.mark.parametrize("family", DENIED, ids=lambda d: d.label)
def test_each_denied_family_refuses_a_name(family: Any) -> None:
    examples = {
        "PUID, PGID, UID, GID, UMASK, USER": "UMASK",
        "TZ": "TZ",
        "AUTHELIA_*, X_AUTHELIA_*": "X_AUTHELIA_CONFIG_FILTERS",
        "*AUTH*": "OAUTH_ENABLED",
        "*INSECURE*, *SKIP_VERIFY*": "TLS_SKIP_VERIFY",
        "*PROXY*, *TRUSTED*, *WHITELIST*, *ALLOWLIST*, *FORWARDED*, *REAL_IP*": "TRUSTED_PROXIES",
        "*PASSWORD*, *SECRET*, *TOKEN*, *_KEY, *_FILE": "DB_PASSWORD_FILE",
        "DOCKER_MODS, DOCKER_HOST, S6_*, LD_*, PATH": "S6_READ_ONLY_ROOT",
        "*FIREWALL*, VPN_*": "FIREWALL_OUTBOUND_SUBNETS",
        "*ANONYMOUS*, *ADMIN*": "ALLOW_ANONYMOUS",
    }
    name = examples[family.label]
    assert denial(name) is family
    found = problems(services={"sonarr": {"env": {name: "x"}}})
    assert found == [
        f"media-server:services.sonarr.env.{name}: {name} is security-relevant ({family.label}) and cannot be "
        f'overridden: {family.why} (got "x")'
    ]


def test_locked_apps_are_the_generated_and_boundary_ones() -> None:
    locked = sorted(name for name, spec in CATALOG.items() if spec.env_locked)
    assert {"authelia", "traefik", "crowdsec-bouncer", "socket-proxy", "gluetun", "postgres", "backup"} <= set(locked)


# ------------------------------------------------------------------ finding 4: host paths
@pytest.mark.parametrize(
    ("paths", "key", "expected"),
    [
        ({"configRoot": "/root"}, "configRoot", "inside the system tree /root"),
        ({"dataRoot": "/home"}, "dataRoot", "inside the system tree /home"),
        ({"cacheRoot": "/var/lib/docker"}, "cacheRoot", "inside the system tree /var/lib"),
        ({"transcodePath": "/"}, "transcodePath", "the filesystem root"),
        ({"dataRoot": "/"}, "dataRoot", "the filesystem root"),
        ({"dataRoot": "/home/alice/media"}, "dataRoot", "inside the system tree /home"),
        ({"backupRoot": "/etc/backups"}, "backupRoot", "inside the system tree /etc"),
        ({"configRoot": "/usr/local/media"}, "configRoot", "inside the system tree /usr"),
        ({"cacheRoot": "/var"}, "cacheRoot", "contains the system tree /var/run"),
        ({"transcodePath": "/dev/shm/transcode"}, "transcodePath", "inside the system tree /dev"),
        ({"transcodePath": "/tmp/transcode"}, "transcodePath", "inside the system tree /tmp"),
        ({"transcodePath": "/run/transcode"}, "transcodePath", "inside the system tree /run"),
        ({"cacheRoot": "/proc/1"}, "cacheRoot", "inside the system tree /proc"),
        ({"backupRoot": "/boot/x"}, "backupRoot", "inside the system tree /boot"),
        ({"dataRoot": "/lib64/x"}, "dataRoot", "inside the system tree /lib64"),
        ({"backupRoot": "/srv"}, "backupRoot", "/srv is shared with other software"),
        ({"cacheRoot": "/var/cache"}, "cacheRoot", "/var/cache is shared with other software"),
        ({"transcodePath": "/data/transcode"}, "transcodePath", r"overlaps dataRoot \(/data\)"),
    ],
)
def test_storage_root_on_system_tree_refused(paths: dict[str, str], key: str, expected: str) -> None:
    found = [p for p in problems(paths=paths) if p.startswith(f"media-server:paths.{key}: ")]
    assert any(re.search(expected, p) for p in found), found


def test_every_system_tree_and_shared_parent_refused() -> None:
    for tree in SYSTEM_TREES:
        for path in (tree, f"{tree}/media-server"):
            found = problems(paths={"backupRoot": path})
            assert any(p.startswith("media-server:paths.backupRoot: ") for p in found), path
    for parent in SHARED_PARENTS:
        found = problems(paths={"backupRoot": parent})
        assert any(p.startswith("media-server:paths.backupRoot: ") for p in found), parent


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_roots_still_pass(stack: str) -> None:
    config = load_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    paths = json.loads(config.values["media-server:paths"])
    parse_settings(minimal_config(paths=paths))


# ------------------------------------------------------------------ finding 5: full-match semantics
def _string_leaves(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _string_leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _string_leaves(item, (*path, i))


def _rich_site() -> dict[str, Any]:
    """prod's settings plus one of every string-valued family prod leaves at its default."""
    raw = stack_raw("prod")
    raw["services"]["immich-server"] = {
        "subdomain": "photos",
        "imageTag": "v2.1.0",
        "imageDigest": "sha256:" + "a" * 64,
    }
    raw["services"]["jellyfin"].update({"bypassPaths": ["^/Users/AuthenticateByName$"], "env": {"JF_X": "1"}})
    raw["edge"]["auth"].update({"users": [{"username": "bob", "displayName": "Bob", "email": "bob@example.org",
                                           "groups": ["users"]}], "findTime": "2m"})  # fmt: skip
    raw["backup"]["offsite"].append(
        {"name": "nas", "kind": "sftp", "host": "nas.example.org", "user": "restic", "path": "/srv/restic",
         "hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0cMVt0d6vNRiX0i5cM1qk0D0Y0xG4yKQ2iHk4n7Bq2"}
    )  # fmt: skip
    raw["backup"]["check"] = {"schedule": "0 5 * * 1", "readDataSubset": "5%"}
    raw["alerts"]["webhook"] = {"kind": "slack", "channel": "#alerts"}
    parse_settings(raw)
    return raw


def _with_suffix(raw: dict[str, Any], path: tuple[str | int, ...], suffix: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(raw))
    node: Any = copy
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = node[path[-1]] + suffix
    return copy


def _key(path: tuple[str | int, ...]) -> str:
    return "media-server:" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


RICH = _rich_site()
LEAVES = list(_string_leaves(RICH))


@pytest.mark.parametrize(("path", "value"), LEAVES, ids=[_key(p) for p, _ in LEAVES])
@pytest.mark.parametrize("suffix", ["\n", "\r\n", "\x00", "\u2028"], ids=["LF", "CRLF", "NUL", "LS"])
def test_every_string_setting_refuses_a_trailing_newline(path: tuple[str | int, ...], value: str, suffix: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_settings(_with_suffix(RICH, path, suffix))
    # Refused at its own key: by the field's own full-match check, or else by the control-character guard.
    keys = [p.key for p in info.value.problems]
    assert any(_key(path).startswith(k) for k in keys), (keys, _key(path))


def test_subdomain_with_newline_is_not_unique_trick() -> None:
    # The example: "photos\n" passed the uniqueness check and yielded https://photos\n.media...
    found = problems(services={"immich-server": {"subdomain": "photos\n"}, "jellyfin": {"subdomain": "photos"}})
    assert found == [
        "media-server:services.immich-server.subdomain: contains a control character ('\\n' at position 6); "
        'expected plain text on one line (got "photos\\n")'
    ]


def test_free_text_refuses_control_characters() -> None:
    """Fields without a pattern of their own (display names, reasons, env values) meet the guard."""
    found = problems(services={"jellyfin": {"env": {"JF_GREETING": "hello\nworld"}}})
    assert found == [
        "media-server:services.jellyfin.env: contains a control character ('\\n' at position 5); expected plain "
        'text on one line (got {"JF_GREETING": "hello\\nworld"})'
    ]


# The validated types themselves full-match, without the settings' control-character guard in front of them.
TYPE_CASES = [
    (types.Subdomain, "photos"),
    (types.Fqdn, "media.example.org"),
    (types.AbsPath, "/srv/media"),
    (types.ImageTag, "10.11.2"),
    (types.Digest, "sha256:" + "a" * 64),
    (types.MemorySize, "512m"),
    (types.Umask, "002"),
    (types.PromDuration, "15m"),
    (types.ByteSize, "50GB"),
    (types.EmailAddress, "a@example.org"),
    (types.HostPort, "smtp.example.org:587"),
    (types.BypassPath, "^/api/.*$"),
]


@pytest.mark.parametrize(("annotation", "good"), TYPE_CASES, ids=[str(c[1]) for c in TYPE_CASES])
def test_validated_type_refuses_trailing_newline(annotation: Any, good: str) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    adapter.validate_python(good)
    with pytest.raises(ValidationError):
        adapter.validate_python(good + "\n")


def test_no_regex_in_config_matches_with_a_prefix_semantics() -> None:
    """`re.match`/`.match(` with `$` accepts "x\\n"; config/ validates with fullmatch only."""
    offenders = []
    for source in sorted((ROOT / "config").rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "match":
                offenders.append(f"{source.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_pattern_fields_full_match() -> None:
    """Field(pattern=...) is matched by pydantic-core's Rust regex, where `$` is the end of the text."""
    from pydantic import BaseModel, Field

    class Probe(BaseModel):
        value: str = Field(pattern=r"^[a-z]+$")

    with pytest.raises(ValidationError):
        Probe(value="abc\n")
