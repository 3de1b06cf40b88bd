"""Reviewable previews: a generated file that holds no secret is a plain input, and a secret never lands in one.

Pulumi marks a whole property secret when any part of it is (one secret upload hides every upload from
`pulumi preview --diff`), so the program sends secrets as files of their own (AUTHELIA_*_FILE,
GF_*__FILE, Alertmanager's *_file fields, lego's CF_DNS_API_TOKEN_FILE, LLDAP's *_FILE) apart from the
configuration. These tests read what reached the engine under the mocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from components.files import HOST_FILES
from config.stack import load_stack_file
from offline.recorder import Recorded, Secret
from offline.runner import ROOT, RunResult, run_program
from tests.conftest import CONTAINER, PROD_SECRETS, as_stack
from tests.edge_support import stack_raw

COMMAND_TYPES = ("command:remote:Command", "command:local:Command")
GENERATORS = ("random:", "tls:")
"""Providers whose secret outputs are the secrets the program makes."""


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, Secret):
        yield from _strings(value.value)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def secret_values(result: RunResult, config_secrets: dict[str, str]) -> set[str]:
    """Every secret the run made or was given: the secret outputs of generators, and the secret config."""
    found = set(config_secrets.values())
    for res in result.resources:
        if not res.type.startswith(GENERATORS):
            continue
        for value in res.outputs.values():
            if isinstance(value, Secret):
                found.update(_strings(value))
    return {value for value in found if len(value) >= 8}


def delivered_files(res: Recorded) -> dict[str, Any]:
    """Container path -> content (a str, or a Secret) of every file a container receives, as recorded."""
    items: list[Any] = []
    for source in (res.inputs.get("uploads"), res.host_files):
        assert not isinstance(source, Secret), f"{res.name}: all its files reached the engine as one secret"
        items.extend(source or [])
    return {item["file"]: item["content"] for item in items}


SFTP = {
    "name": "nas",
    "kind": "sftp",
    "host": "nas.example.org",
    "user": "restic",
    "hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0cMVt0d6vNRiX0i5cM1qk0D0Y0xG4yKQ2iHk4n7Bq2",
}
VARIANT_SECRETS = {**PROD_SECRETS, "backupSftpPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nkey-text\n"}


def _variant() -> RunResult:
    """Prod with the other secret-bearing choices: LLDAP, and an SFTP off-site repository (a key file)."""
    raw = stack_raw("prod")
    backup = {**raw.get("backup", {}), "offsite": [*raw.get("backup", {}).get("offsite", []), SFTP]}
    raw = {**raw, "edge": {"auth": {"backend": "ldap"}}, "backup": backup}
    return run_program(as_stack(raw, name="variant", secrets=VARIANT_SECRETS))


def _given(stack: str) -> dict[str, str]:
    """The secret config values a stack file's run was given (placeholders for `secure:` values)."""
    config = load_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    return {key: config.values[key] for key in config.secret_keys}


SITES = {"dev": (_given("dev"), None), "prod": (_given("prod"), None), "prod-variant": (VARIANT_SECRETS, _variant)}


@pytest.fixture(scope="module", params=sorted(SITES))
def site(request: pytest.FixtureRequest) -> tuple[RunResult, dict[str, str]]:
    secrets, run = SITES[request.param]
    result = run() if run else request.getfixturevalue(request.param)
    assert result.ok, result.problems
    return result, secrets


def test_a_file_is_secret_exactly_when_it_holds_a_secret(site: tuple[RunResult, dict[str, str]]) -> None:
    result, config_secrets = site
    secrets = secret_values(result, config_secrets)
    assert secrets
    checked = 0
    for res in result.of_type(CONTAINER):
        for path, content in delivered_files(res).items():
            checked += 1
            if isinstance(content, Secret):
                assert any(value in content.value for value in secrets), f"{res.name}: {path} is secret but holds none"
            else:
                leaked = [value[:4] + "…" for value in secrets if value in content]
                assert not leaked, f"{res.name}: plain file {path} holds a secret ({leaked})"
    assert checked > 10


def test_plain_files_reach_the_engine_as_plain_inputs(site: tuple[RunResult, dict[str, str]]) -> None:
    """What `pulumi preview --diff` shows: container uploads, HostFiles' uploads, and the write command
    of the plain files (its stdin, and its triggers that carry the files' text) are never secret."""
    result, _ = site
    for res in result.of_type(CONTAINER):
        assert not isinstance(res.inputs.get("uploads"), Secret), res.name
    host_files = result.of_type(HOST_FILES)
    assert host_files
    for res in host_files:
        assert not isinstance(res.inputs.get("uploads"), Secret), res.name
    writes = [r for r in result.resources if r.type in COMMAND_TYPES and r.name.endswith("-files-write")]
    assert len(writes) == len([r for r in host_files if r.inputs.get("uploads")])
    for res in writes:
        assert not isinstance(res.inputs["stdin"], Secret), res.name
        triggers = res.inputs["triggers"]
        assert not isinstance(triggers, Secret), res.name
        shown = triggers[1]
        parent = next(r for r in host_files if r.urn == res.parent)
        assert shown == {item["file"]: item["content"] for item in parent.inputs["uploads"]}


def test_secret_files_are_written_apart_and_secret(site: tuple[RunResult, dict[str, str]]) -> None:
    result, _ = site
    by_urn = result.by_urn()
    secret_writes = [r for r in result.resources if r.type in COMMAND_TYPES and r.name.endswith("-files-write-secrets")]
    assert secret_writes
    for res in secret_writes:
        assert isinstance(res.inputs["stdin"], Secret) and isinstance(res.inputs["triggers"], Secret), res.name
        assert isinstance(by_urn[str(res.parent)].inputs["secretUploads"], Secret)


def test_the_edge_and_monitoring_configuration_is_plain(prod: RunResult) -> None:
    """The files a reviewer reads for a route, access rule, scrape or alert change."""
    wanted = {
        "traefik": ["/etc/traefik/traefik.yml", "/etc/traefik/dynamic/site.yml"],
        "authelia": ["/config/configuration.yml"],
        "prometheus": ["/etc/prometheus/prometheus.yml", "/etc/prometheus/rules/availability.yml"],
        "alertmanager": ["/etc/alertmanager/alertmanager.yml"],
        "loki": ["/etc/loki/loki.yaml"],
        "grafana": ["/etc/grafana/provisioning/datasources/datasources.yaml"],
    }
    by_service = {
        next(i["value"] for i in res.inputs["labels"] if i["label"] == "media-server.service"): res
        for res in prod.of_type(CONTAINER)
    }
    for service, paths in wanted.items():
        files = delivered_files(by_service[service])
        for path in paths:
            assert isinstance(files[path], str), f"{service}: {path}"
    # And their secrets are files of their own, named where the app reads them from.
    envs = {name: by_service[name].inputs["envs"] for name in ("authelia", "grafana", "traefik")}
    for name, env in envs.items():
        assert isinstance(env, list), f"{name}: its environment became secret"
    assert any(e.startswith("AUTHELIA_SESSION_SECRET_FILE=") for e in envs["authelia"])
    assert any(e.startswith("GF_SECURITY_ADMIN_PASSWORD__FILE=") for e in envs["grafana"])
    assert any(e.startswith("CF_DNS_API_TOKEN_FILE=") for e in envs["traefik"])


AUTHELIA_SECRET_KEYS = {
    "session.secret",
    "session.redis.password",
    "storage.encryption_key",
    "storage.postgres.password",
    "notifier.smtp.password",
    "authentication_backend.ldap.password",
    "identity_providers.oidc.hmac_secret",
    "identity_validation.reset_password.jwt_secret",
}
"""Of the keys Authelia v4.39.20 loads from *_FILE variables (docs/content/configuration/methods/secrets.md,
which also lists TLS keys, Duo and MySQL ones this site does not use), those the program sets."""


def test_authelia_reads_each_secret_from_the_variable_it_documents() -> None:
    from render.authelia import _SECRET_ENV

    documented = {"AUTHELIA_" + key.upper().replace(".", "_") + "_FILE" for key in AUTHELIA_SECRET_KEYS}
    assert set(_SECRET_ENV.values()) == documented
