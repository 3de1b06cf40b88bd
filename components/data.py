"""DataTier: the shared PostgreSQL, Redis and Elasticsearch, on the internal data network."""

from __future__ import annotations

import pulumi

from components.layer import LayerArgs, ServiceLayer
from components.secrets import generated_password
from config.spec import Tier


class DataTier(ServiceLayer):
    tiers = (Tier.DATA,)

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:data:DataTier", name, args, opts)
        generated = args.generated
        for spec in self.specs():
            if spec.name == "postgres":
                self.deploy(spec, secret_env={"POSTGRES_PASSWORD": generated.postgres_superuser})
            elif spec.name == "redis":
                self.deploy(
                    spec,
                    secret_env={"REDIS_PASSWORD": generated.redis_password},
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
