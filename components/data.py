"""DataTier: the shared PostgreSQL, Redis and Elasticsearch, on the internal data network."""

from __future__ import annotations

import pulumi

from components.layer import LayerArgs, ServiceLayer, generated_password
from config.spec import Tier


class DataTier(ServiceLayer):
    tiers = (Tier.DATA,)
    postgres_password: pulumi.Output[str] | None
    redis_password: pulumi.Output[str] | None

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:data:DataTier", name, args, opts)
        self.postgres_password = None
        self.redis_password = None
        for spec in self.specs():
            if spec.name == "postgres":
                password = generated_password(f"{name}-postgres-superuser", self)
                self.postgres_password = password.result
                self.deploy(spec, secret_env={"POSTGRES_PASSWORD": password.result})
            elif spec.name == "redis":
                password = generated_password(f"{name}-redis", self)
                self.redis_password = password.result
                self.deploy(
                    spec,
                    secret_env={"REDIS_PASSWORD": password.result},
                    command=[
                        "sh",
                        "-c",
                        'exec redis-server --requirepass "$REDIS_PASSWORD" --maxmemory 200mb '
                        "--maxmemory-policy allkeys-lru --appendonly yes",
                    ],
                )
            elif spec.name == "elasticsearch":
                password = generated_password(f"{name}-elastic", self)
                self.deploy(spec, secret_env={"ELASTIC_PASSWORD": password.result})
            else:
                self.deploy(spec)
        self.finish()
