"""DataTier: the shared PostgreSQL, Redis and Elasticsearch, on the internal data network.

PostgreSQL gives each app that keeps a database on it (SiteSecrets'
database logins) its own database and role through
scripts/postgres/init-databases.sh, run by scripts/postgres/entrypoint.sh on
every start, so enabling an app later creates its database too. Redis is the
L1 cache with a generated password and an eviction policy; Elasticsearch is
a single node with security on. None of them is reachable from outside the
data network, and none publishes a port.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pulumi

from components.layer import LayerArgs, ServiceLayer
from components.secrets import DatabaseLogin
from config.catalog import POSTGRES_SCRIPTS
from config.settings import Settings
from config.spec import ServiceSpec, Tier
from config.types import parse_memory_mb

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts" / "postgres"
POSTGRES_SERVER = "postgres"

# redis-server reads its config from stdin ("-"): the password never appears on a command line.
REDIS_START = 'exec redis-server - "$@" <<EOF\nrequirepass $REDIS_PASSWORD\nEOF\n'


def password_variable(role: str) -> str:
    """The environment variable init-databases.sh reads a role's password from."""
    return "MS_PASSWORD_" + role.upper().replace("-", "_")


def database_environment(
    logins: Iterable[DatabaseLogin],
) -> tuple[dict[str, str], dict[str, pulumi.Output[str]]]:
    """init-databases.sh's input: the database:role list (plain) and each role's password (secret)."""
    ours = sorted((login for login in logins if login.server == POSTGRES_SERVER), key=lambda login: login.database)
    plain = {"MS_DATABASES": " ".join(f"{login.database}:{login.role}" for login in ours)}
    return plain, {password_variable(login.role): login.password for login in ours}


def postgres_files() -> dict[str, str]:
    return {
        f"{POSTGRES_SCRIPTS}/{name}": (SCRIPTS / name).read_text() for name in ("entrypoint.sh", "init-databases.sh")
    }


def redis_arguments(settings: Settings) -> list[str]:
    """Everything but the password, as redis-server options."""
    return [
        "--maxmemory",
        f"{parse_memory_mb(settings.data.redis_maxmemory)}mb",
        "--maxmemory-policy",
        settings.data.redis_maxmemory_policy,
        "--dir",
        "/data",
        "--appendonly",
        "yes",
    ]


class DataTier(ServiceLayer):
    tiers = (Tier.DATA,)

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:data:DataTier", name, args, opts)
        for spec in self.specs():
            if spec.name == "postgres":
                self._postgres(spec)
            elif spec.name == "redis":
                self._redis(spec)
            elif spec.name == "elasticsearch":
                self._elasticsearch(spec)
            else:
                self.deploy(spec)
        self.finish()

    def _postgres(self, spec: ServiceSpec) -> None:
        generated = self._args.generated
        plain, passwords = database_environment(generated.databases.values())
        self.deploy(
            spec.model_copy(update={"env": {**spec.env, **plain}}),
            files=postgres_files(),
            secret_env={"POSTGRES_PASSWORD": generated.postgres_superuser, **passwords},
            command=["bash", f"{POSTGRES_SCRIPTS}/entrypoint.sh", "postgres"],
        )

    def _redis(self, spec: ServiceSpec) -> None:
        password = self._args.generated.redis_password
        self.deploy(
            spec,
            secret_env={"REDIS_PASSWORD": password, "REDISCLI_AUTH": password},
            command=["sh", "-c", REDIS_START, "redis-server", *redis_arguments(self.settings)],
        )

    def _elasticsearch(self, spec: ServiceSpec) -> None:
        password = self._args.generated.elastic_password
        if password is None:
            raise ValueError("Elasticsearch is enabled but SiteSecrets made no password for it")
        self.deploy(spec, secret_env={"ELASTIC_PASSWORD": password})
