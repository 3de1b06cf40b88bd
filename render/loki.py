"""Loki's configuration: single binary, filesystem storage, retention from settings."""

from __future__ import annotations

from typing import Any

from config.settings import Settings

HTTP_PORT = 3100
DATA = "/loki"


def render_loki_config(settings: Settings) -> dict[str, Any]:
    return {
        "auth_enabled": False,
        "server": {"http_listen_port": HTTP_PORT, "grpc_listen_port": 9096, "log_level": "warn"},
        "common": {
            "instance_addr": "127.0.0.1",
            "path_prefix": DATA,
            "storage": {"filesystem": {"chunks_directory": f"{DATA}/chunks", "rules_directory": f"{DATA}/rules"}},
            "replication_factor": 1,
            "ring": {"kvstore": {"store": "inmemory"}},
        },
        "schema_config": {
            "configs": [
                {
                    "from": "2024-01-01",
                    "store": "tsdb",
                    "object_store": "filesystem",
                    "schema": "v13",
                    "index": {"prefix": "index_", "period": "24h"},
                }
            ]
        },
        "limits_config": {
            "retention_period": settings.monitoring.loki_retention,
            "reject_old_samples": True,
            "reject_old_samples_max_age": "168h",
            "allow_structured_metadata": True,
            "volume_enabled": True,
        },
        # The compactor is what deletes logs past retention_period.
        "compactor": {
            "working_directory": f"{DATA}/compactor",
            "compaction_interval": "10m",
            "retention_enabled": True,
            "retention_delete_delay": "2h",
            "delete_request_store": "filesystem",
        },
        "analytics": {"reporting_enabled": False},
    }
