"""Grafana Alloy: every container's logs (through the socket proxy) and Traefik's access log, to Loki.

Streams carry the labels dashboards and queries select on (LOKI_LABELS):
service and tier from the container's media-server labels, the container
name, the output stream, and for Traefik's access log `log="access"`.
"""

from __future__ import annotations

from config.settings import Settings
from render.prometheus import host_label
from render.serialise import AlloyBlock, AlloyRef

CONFIG_PATH = "/etc/alloy/config.alloy"
DOCKER_HOST = "tcp://socket-proxy:2375"
TRAEFIK_ACCESS_LOG = "/var/log/traefik/access.log"
LOKI_PUSH = "http://loki:3100/loki/api/v1/push"

LOKI_LABELS = frozenset({"service", "tier", "stack", "container", "stream", "host", "log", "filename"})
"""Every stream label Alloy produces (loki.source.file adds `filename`)."""


def _rule(source: str, target: str, regex: str = "(.+)") -> AlloyBlock:
    return AlloyBlock("rule", body=(("source_labels", [source]), ("regex", regex), ("target_label", target)))


def render_alloy_config(settings: Settings) -> list[AlloyBlock]:
    receiver = AlloyRef("loki.write.default.receiver")
    blocks = [
        AlloyBlock(
            "discovery.docker",
            "containers",
            (
                ("host", DOCKER_HOST),
                ("refresh_interval", "30s"),
                # Only this project's containers: the label every ContainerService carries.
                AlloyBlock("filter", body=(("name", "label"), ("values", ["media-server.project=media-server"]))),
            ),
        ),
        AlloyBlock(
            "discovery.relabel",
            "containers",
            (
                ("targets", []),
                _rule("__meta_docker_container_label_media_server_service", "service"),
                _rule("__meta_docker_container_label_media_server_tier", "tier"),
                _rule("__meta_docker_container_label_media_server_stack", "stack"),
                _rule("__meta_docker_container_name", "container", regex="/?(.+)"),
                _rule("__meta_docker_container_log_stream", "stream"),
            ),
        ),
        AlloyBlock(
            "loki.source.docker",
            "containers",
            (
                ("host", DOCKER_HOST),
                ("targets", AlloyRef("discovery.docker.containers.targets")),
                ("relabel_rules", AlloyRef("discovery.relabel.containers.rules")),
                ("forward_to", [receiver]),
            ),
        ),
    ]
    if settings.is_enabled("traefik"):
        blocks += [
            AlloyBlock(
                "local.file_match",
                "traefik_access",
                (
                    (
                        "path_targets",
                        [{"__path__": TRAEFIK_ACCESS_LOG, "service": "traefik", "tier": "edge", "log": "access"}],
                    ),
                ),
            ),
            AlloyBlock(
                "loki.source.file",
                "traefik_access",
                (("targets", AlloyRef("local.file_match.traefik_access.targets")), ("forward_to", [receiver])),
            ),
        ]
    blocks.append(
        AlloyBlock(
            "loki.write",
            "default",
            (
                AlloyBlock("endpoint", body=(("url", LOKI_PUSH),)),
                ("external_labels", {"host": host_label(settings)}),
            ),
        )
    )
    return blocks
