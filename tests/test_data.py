"""DataTier under mocks: PostgreSQL's init inputs, Redis's password and eviction, Elasticsearch's heap and security."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from components.data import REDIS_START, database_environment, password_variable
from components.secrets import DatabaseLogin
from config.catalog import POSTGRES_SCRIPTS
from config.problems import SettingsError
from config.stack import parse_settings
from offline.recorder import EngineMocks, Secret
from offline.report import to_json
from offline.runner import ROOT, RunResult, run_program
from tests.conftest import PROD_SECRETS, as_stack, containers, minimal_config
from tests.edge_support import stack_raw
from tests.test_media import env_of, uploads_of

DATA_ONLY = {"tiers": {"edge": False, "media": False, "monitoring": False, "backup": False}}
ES_ENGINE = {"search": {"engine": "elasticsearch"}}
"""Elasticsearch runs only for the search service's Elasticsearch engine (config/search.py)."""


@pytest.fixture(scope="module")
def with_es() -> RunResult:
    """prod with search.engine elasticsearch and the memory the README gives for it (3g, a 1g heap)."""
    raw = stack_raw("prod")
    site = {
        **raw,
        "search": {**raw["search"], "engine": "elasticsearch"},
        "services": {**raw["services"], "elasticsearch": {"memory": "3g"}},
        "data": {**raw["data"], "elasticsearchHeap": "1g"},
    }
    result = run_program(as_stack(site, name="prod", secrets=PROD_SECRETS))
    assert result.ok, result.problems
    return result


def test_postgres_runs_the_init_for_every_app_database(prod: RunResult) -> None:
    postgres = containers(prod)["postgres"]
    inputs = postgres.inputs
    assert inputs["command"] == ["bash", f"{POSTGRES_SCRIPTS}/entrypoint.sh", "postgres"]
    uploads = uploads_of(postgres)
    for name in ("entrypoint.sh", "init-databases.sh"):
        assert uploads[f"{POSTGRES_SCRIPTS}/{name}"] == (ROOT / "scripts/postgres" / name).read_text()
    volumes = {v["containerPath"]: v["hostPath"] for v in inputs["volumes"]}
    assert volumes[POSTGRES_SCRIPTS] == "/opt/mediaserver/postgres/scripts"
    env = env_of(postgres)
    assert env["MS_DATABASES"] == "authelia:authelia jellystat:jellystat"
    assert isinstance(inputs["envs"], Secret)
    assert env["MS_PASSWORD_AUTHELIA"] and env["MS_PASSWORD_JELLYSTAT"] and env["POSTGRES_PASSWORD"]
    assert len({env["MS_PASSWORD_AUTHELIA"], env["MS_PASSWORD_JELLYSTAT"], env["POSTGRES_PASSWORD"]}) == 3
    assert inputs["readOnly"] is True and inputs["user"] == "1000:1000" and inputs["shmSize"] == 128


def test_app_logins_come_from_site_secrets(prod: RunResult) -> None:
    passwords = {r.name for r in prod.of_type("random:index/randomPassword:RandomPassword")}
    assert {"secrets-db-authelia", "secrets-db-jellystat"} <= passwords
    assert not any(name.startswith("data-db") for name in passwords)


def test_data_services_sit_on_the_internal_network_only(with_es: RunResult) -> None:
    nets = {r.inputs["name"]: r.inputs["internal"] for r in with_es.of_type("docker:index/network:Network")}
    assert nets["ms-prod-data"] is True
    for name in ("postgres", "redis", "elasticsearch", "immich-postgres", "immich-redis"):
        inputs = containers(with_es)[name].inputs
        assert [n["name"] for n in inputs["networksAdvanced"]] == ["ms-prod-data"], name
        assert not inputs.get("ports"), name


def test_redis_password_is_never_on_a_command_line(prod: RunResult) -> None:
    redis = containers(prod)["redis"]
    command = redis.inputs["command"]
    assert command[:4] == ["sh", "-c", REDIS_START, "redis-server"]
    assert command[4:] == ["--maxmemory", "192mb", "--maxmemory-policy", "allkeys-lru", "--dir", "/data",
                           "--appendonly", "yes"]  # fmt: skip
    env = env_of(redis)
    assert env["REDIS_PASSWORD"] == env["REDISCLI_AUTH"]
    assert env["REDIS_PASSWORD"] not in " ".join(command)
    assert "requirepass $REDIS_PASSWORD" in REDIS_START
    assert redis.inputs["healthcheck"]["tests"] == ["CMD-SHELL", "redis-cli ping | grep -q PONG"]
    assert redis.inputs["readOnly"] is True


def test_redis_eviction_from_settings(run_site: Callable[..., RunResult]) -> None:
    site = minimal_config(data={"redisMaxmemory": "100m", "redisMaxmemoryPolicy": "volatile-lfu"}, **DATA_ONLY)
    command = containers(run_site(site))["redis"].inputs["command"]
    assert command[4:8] == ["--maxmemory", "100mb", "--maxmemory-policy", "volatile-lfu"]


def test_elasticsearch_single_node_secured_with_heap_from_settings(with_es: RunResult) -> None:
    es = containers(with_es)["elasticsearch"]
    env = env_of(es)
    assert env["xpack.security.enabled"] == "true" and env["discovery.type"] == "single-node"
    assert env["ES_JAVA_OPTS"] == "-Xms1024m -Xmx1024m"
    assert env["ELASTIC_PASSWORD"] and isinstance(es.inputs["envs"], Secret)
    assert es.inputs["memory"] == 3072 and es.inputs["user"] == "1000:0"
    assert "$$" not in " ".join(es.inputs["healthcheck"]["tests"])


def test_no_data_secret_in_the_plain_record(with_es: RunResult) -> None:
    dumped = to_json(with_es)
    for name in ("postgres", "redis", "elasticsearch"):
        env = env_of(containers(with_es)[name])
        for key, value in env.items():
            if "PASSWORD" in key or key == "REDISCLI_AUTH":
                assert value not in dumped, (name, key)


@pytest.mark.parametrize(
    ("data", "services", "key", "message"),
    [
        ({"redisMaxmemory": "250m"}, {}, "data.redisMaxmemory", "leaves Redis no room under its memory limit (256m)"),
        (
            {"elasticsearchHeap": "2g"},
            {"elasticsearch": {"memory": "3g"}},
            "data.elasticsearchHeap",
            "expected at most half of services.elasticsearch.memory",
        ),
        ({"redisMaxmemoryPolicy": "lru"}, {}, "data.redisMaxmemoryPolicy", "Input should be 'noeviction'"),
        ({"elasticsearchHeap": "lots"}, {}, "data.elasticsearchHeap", "memory limit does not parse"),
    ],
)
def test_data_bad_input(data: dict[str, Any], services: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_settings(minimal_config(data=data, services=services, **ES_ENGINE))
    (problem,) = info.value.problems
    assert problem.key == f"media-server:{key}"
    assert message in problem.message


def test_disabling_postgres_is_refused_while_authelia_needs_it() -> None:
    with pytest.raises(SettingsError) as info:
        parse_settings(minimal_config(services={"postgres": {"enabled": False}}))
    keys = sorted(p.key for p in info.value.problems)
    assert keys == ["media-server:services.authelia.enabled", "media-server:services.jellystat.enabled",
                    "media-server:services.postgres-exporter.enabled"]  # fmt: skip


@pytest.fixture
def unit_mocks() -> None:
    pulumi.runtime.set_mocks(EngineMocks(), project="media-server", stack="unit", preview=False)


@pytest.mark.usefixtures("unit_mocks")
@pulumi.runtime.test
def test_database_environment_names_each_role_and_keeps_passwords_secret() -> pulumi.Output[None]:
    logins = [
        DatabaseLogin("jellystat", "postgres", "jellystat", "jellystat", pulumi.Output.secret("b")),
        DatabaseLogin("authelia", "postgres", "authelia", "authelia", pulumi.Output.secret("a")),
        DatabaseLogin("immich", "immich-postgres", "immich", "immich", pulumi.Output.secret("c")),
    ]
    plain, secret = database_environment(logins)
    assert plain == {"MS_DATABASES": "authelia:authelia jellystat:jellystat"}
    assert sorted(secret) == ["MS_PASSWORD_AUTHELIA", "MS_PASSWORD_JELLYSTAT"]
    assert password_variable("media-app") == "MS_PASSWORD_MEDIA_APP"

    def check(args: list[Any]) -> None:
        assert args == ["a", True]

    return pulumi.Output.all(
        secret["MS_PASSWORD_AUTHELIA"], pulumi.Output.is_secret(secret["MS_PASSWORD_AUTHELIA"])
    ).apply(check)
