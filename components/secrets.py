"""SiteSecrets: every secret the program generates that more than one layer needs.

Made once, before the layers, with pulumi-random; outputs are Pulumi secrets
end to end (`result` and `bcrypt_hash` are additional secret outputs).
Layers take what they need from here instead of minting their own copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random

from config.settings import Settings

DATA_TIER = "media-server:data:DataTier"
"""DataTier's type token (components/data.py), for the alias of a password it used to make."""


def generated_password(
    name: str, parent: pulumi.Resource, length: int = 48, special: bool = False
) -> random.RandomPassword:
    """A password made by pulumi-random; `result` and `bcrypt_hash` are Pulumi secrets."""
    return random.RandomPassword(
        name,
        random.RandomPasswordArgs(length=length, special=special, min_upper=2, min_lower=2, min_numeric=2),
        opts=pulumi.ResourceOptions(parent=parent, additional_secret_outputs=["result", "bcrypt_hash"]),
    )


@dataclass(frozen=True)
class DatabaseLogin:
    """An app's own database and role on a PostgreSQL server (host = the server's network alias)."""

    app: str
    server: str
    database: str
    role: str
    password: pulumi.Output[str]


@dataclass(frozen=True)
class SiteSecretsArgs:
    settings: Settings


class SiteSecrets(pulumi.ComponentResource):
    """Generated credentials shared across layers."""

    postgres_superuser: pulumi.Output[str]
    redis_password: pulumi.Output[str]
    databases: dict[str, DatabaseLogin]
    """By app name: a login for each enabled app that keeps a database on the shared PostgreSQL."""
    oidc_clients: dict[str, random.RandomPassword]
    """By app name (settings.oidc_client_names()): the OIDC client secret (`result`) and its bcrypt hash
    (`bcrypt_hash`) for Authelia."""
    server_passwords: dict[str, pulumi.Output[str]]
    """By catalog name of an app's own PostgreSQL server (e.g. immich-postgres): its owner's password.
    The server's container and its app use it, and the backup tier dumps with it."""
    immich_db_password: pulumi.Output[str] | None
    """Immich's database password (server immich-postgres, user immich) when Immich is enabled."""
    elastic_password: pulumi.Output[str] | None
    """Elasticsearch's `elastic` superuser password when it is deployed: the node (DataTier) and the search
    service that indexes into it (MediaTier) both take it from here."""

    def __init__(self, name: str, args: SiteSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:secrets:SiteSecrets", name, None, opts)
        settings = args.settings
        self.postgres_superuser = generated_password(f"{name}-postgres-superuser", self).result
        self.redis_password = generated_password(f"{name}-redis", self).result
        self.databases = {}
        self.oidc_clients = {}
        oidc_clients = set(settings.oidc_client_names())
        self.server_passwords = {}
        for spec in settings.enabled_services():
            for db in spec.databases:
                if db.engine == "postgres" and db.server == "postgres":
                    password = generated_password(f"{name}-db-{spec.name}", self, length=40)
                    self.databases[spec.name] = DatabaseLogin(
                        app=spec.name, server="postgres", database=db.name, role=db.name, password=password.result
                    )
                elif db.engine == "postgres" and db.server and db.server not in self.server_passwords:
                    self.server_passwords[db.server] = generated_password(
                        f"{name}-db-server-{db.server}", self, length=40
                    ).result
            if spec.name in oidc_clients:
                self.oidc_clients[spec.name] = generated_password(f"{name}-oidc-{spec.name}", self, length=64)
        self.immich_db_password = self.server_passwords.get("immich-postgres")
        self.elastic_password = None
        if settings.is_enabled("elasticsearch"):
            # Made by DataTier as data-elastic before the search service needed it too: the alias keeps a live
            # node's password (and so its data's access) instead of replacing it.
            self.elastic_password = random.RandomPassword(
                f"{name}-elastic",
                random.RandomPasswordArgs(length=48, special=False, min_upper=2, min_lower=2, min_numeric=2),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    additional_secret_outputs=["result", "bcrypt_hash"],
                    aliases=[pulumi.Alias(name="data-elastic", parent=pulumi.create_urn("data", DATA_TIER))],
                ),
            ).result
        self.register_outputs(
            {
                "postgresSuperuser": self.postgres_superuser,
                "databaseServers": sorted(self.server_passwords),
                "redisPassword": self.redis_password,
                "databases": sorted(self.databases),
                "oidcClients": sorted(self.oidc_clients),
                "elastic": self.elastic_password is not None,
            }
        )
