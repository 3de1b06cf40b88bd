"""MS-032: a container's environment cannot undo the pack's other guarantees (issue 11, finding 3)."""

from __future__ import annotations

import pytest

from tests import policy_fixtures as fx
from tests.policy_harness import Res, check, container, messages, rules

RULE = "ms-032-env-cannot-weaken"


def _with_env(service: str, tier: str, *envs: str) -> set[str]:
    return rules(container(service, tier, envs=["TZ=Etc/UTC", *envs]))


def test_golden_container_passes() -> None:
    assert _with_env("sonarr", "media", "PUID=1000", "PGID=1000") == set()


@pytest.mark.parametrize(
    ("service", "tier", "env", "expected"),
    [
        # The three examples, as they would reach the engine.
        ("sonarr", "media", "PUID=0", "sonarr: PUID=0 makes the image run its app as root"),
        (
            "authelia",
            "auth",
            "AUTHELIA_ACCESS_CONTROL_DEFAULT_POLICY=bypass",
            "authelia: AUTHELIA_ACCESS_CONTROL_DEFAULT_POLICY overrides Authelia's generated configuration",
        ),
        (
            "postgres",
            "data",
            "POSTGRES_HOST_AUTH_METHOD=trust",
            "postgres: POSTGRES_HOST_AUTH_METHOD=trust lets clients in without a (SCRAM) password",
        ),
        # Around them.
        ("radarr", "media", "PGID=0", "radarr: PGID=0"),
        ("authelia", "auth", "X_AUTHELIA_CONFIG_FILTERS=template", "rewrite Authelia's configuration"),
        ("immich-postgres", "media", "POSTGRES_HOST_AUTH_METHOD=md5", "POSTGRES_HOST_AUTH_METHOD=md5"),
        ("postgres", "data", "POSTGRES_INITDB_ARGS=--auth-host=trust", "password-less authentication"),
        ("grafana", "monitoring", "GF_SERVER_INSECURE=true", "turns a security check off"),
        ("sonarr", "media", "DOCKER_MODS=linuxserver/mods:universal-cron", "load or download code"),
        ("sonarr", "media", "LD_PRELOAD=/config/hook.so", "load or download code"),
    ],
)
def test_weakening_env_is_a_mandatory_violation(service: str, tier: str, env: str, expected: str) -> None:
    golden = fx.authelia() if service == "authelia" else container(service, tier)
    changed = Res(golden.type, golden.name, {**golden.inputs, "envs": [*golden.inputs["envs"], env]})
    before = check(golden)
    verdict = check(changed)
    added = [(v.rule, v.level) for v in verdict.violations if v not in before.violations]
    assert added == [("MS-032", "mandatory")]
    assert expected in messages(verdict, "MS-032")[0]


@pytest.mark.parametrize(
    "env",
    [
        "AUTHELIA_SESSION_SECRET_FILE=/secrets/session",  # secrets by file: what the program sets
        "POSTGRES_HOST_AUTH_METHOD=scram-sha-256",
        "GF_SERVER_INSECURE=false",
        "PUID=1000",
        "POSTGRES_INITDB_ARGS=--data-checksums",
        "NOTES=--auth=trust is what initdb must never get",  # the option matters only in initdb's arguments
    ],
)
def test_harmless_values_pass(env: str) -> None:
    assert _with_env("sonarr", "media", env) == set()


def test_allowlisted_name_passes_only_for_its_service() -> None:
    entry = {"names": ["INSECURE"], "justification": "UI behind Traefik's TLS on the proxy network, two-factor"}
    wireguard = container("wireguard", "edge", envs=["INSECURE=true"])
    assert rules(wireguard) == {"MS-032"}
    assert rules(wireguard, config={RULE: {"allowlist": {"wireguard": entry}}}) == set()
    assert rules(wireguard, config={RULE: {"allowlist": {"sonarr": entry}}}) == {"MS-032"}
    unjustified = {"wireguard": {"names": ["INSECURE"]}}
    assert rules(wireguard, config={RULE: {"allowlist": unjustified}}) == {"MS-032"}
