"""prometheus.yml and Prometheus's flags: scrape jobs and probes are projections of the catalog.

Every enabled catalog entry with a `metrics` endpoint is scraped at
<name>:<port> (its network alias) as job <name>; every routed enabled app is
probed through the blackbox exporter at its public URL (job `probe`). An app
added to the catalog later is monitored with no edit here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config.settings import Settings
from render.alerts import RULES_DIR

CONFIG_PATH = "/etc/prometheus/prometheus.yml"
TSDB_PATH = "/prometheus"
PROBE_JOB = "probe"
PROBE_MODULE = "https_edge"
BLACKBOX = "blackbox-exporter"

# cAdvisor reports the Docker labels it is told to keep as container_label_<name>; these become the
# same service/tier labels every other series carries, so dashboards and alerts group containers by app.
_CADVISOR_RELABEL: list[dict[str, Any]] = [
    {
        "source_labels": ["container_label_media_server_service"],
        "regex": "(.+)",
        "target_label": "service",
    },
    {
        "source_labels": ["container_label_media_server_tier"],
        "regex": "(.+)",
        "target_label": "tier",
    },
    {"regex": "container_label_.*", "action": "labeldrop"},
]
EXPORTER_RELABEL: dict[str, list[dict[str, Any]]] = {"cadvisor": _CADVISOR_RELABEL}


@dataclass(frozen=True, order=True)
class ScrapeTarget:
    job: str
    address: str
    scheme: str
    path: str
    tier: str


@dataclass(frozen=True, order=True)
class ProbeTarget:
    service: str
    url: str
    tier: str


def host_label(settings: Settings) -> str:
    """The `host` label of every series: which Docker host a target runs on (inhibition keys on it)."""
    return settings.host.address if settings.host.mode == "ssh" and settings.host.address else "localhost"


def scrape_targets(settings: Settings) -> list[ScrapeTarget]:
    return sorted(
        ScrapeTarget(
            job=spec.name,
            address=f"{spec.name}:{spec.metrics.port}",
            scheme=spec.metrics.scheme,
            path=spec.metrics.path,
            tier=spec.tier.value,
        )
        for spec in settings.enabled_services()
        if spec.metrics is not None
    )


def probe_targets(settings: Settings) -> list[ProbeTarget]:
    """Every public URL of the site: one per routed app, plus the apex for the app served there."""
    if not settings.is_enabled(BLACKBOX):
        return []
    targets = []
    for spec in settings.enabled_services():
        url = settings.url(spec)
        if url is None:
            continue
        targets.append(ProbeTarget(service=spec.name, url=url, tier=spec.tier.value))
        if spec.apex:
            targets.append(ProbeTarget(service=spec.name, url=f"https://{settings.domain}", tier=spec.tier.value))
    return sorted(targets)


def _scrape_job(target: ScrapeTarget, host: str) -> dict[str, Any]:
    job: dict[str, Any] = {
        "job_name": target.job,
        "scheme": target.scheme,
        "metrics_path": target.path,
        "static_configs": [
            {"targets": [target.address], "labels": {"service": target.job, "tier": target.tier, "host": host}}
        ],
    }
    if target.job in EXPORTER_RELABEL:
        job["metric_relabel_configs"] = EXPORTER_RELABEL[target.job]
    return job


def _probe_job(probes: list[ProbeTarget], host: str, blackbox_port: int) -> dict[str, Any]:
    return {
        "job_name": PROBE_JOB,
        "metrics_path": "/probe",
        "params": {"module": [PROBE_MODULE]},
        "scrape_interval": "1m",
        "scrape_timeout": "15s",
        "static_configs": [
            {"targets": [probe.url], "labels": {"service": probe.service, "tier": probe.tier, "host": host}}
            for probe in probes
        ],
        "relabel_configs": [
            {"source_labels": ["__address__"], "target_label": "__param_target"},
            {"source_labels": ["__param_target"], "target_label": "instance"},
            {"target_label": "__address__", "replacement": f"{BLACKBOX}:{blackbox_port}"},
        ],
    }


def render_prometheus_config(settings: Settings, stack: str) -> dict[str, Any]:
    monitoring = settings.monitoring
    host = host_label(settings)
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": monitoring.scrape_interval,
            "evaluation_interval": monitoring.scrape_interval,
            "scrape_timeout": "10s",
            "external_labels": {"site": settings.domain, "stack": stack},
        },
        "rule_files": [f"{RULES_DIR}/*.yml"],
    }
    if settings.is_enabled("alertmanager"):
        port = settings.service("alertmanager").port
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [f"alertmanager:{port}"]}]}]}
    jobs = [_scrape_job(target, host) for target in scrape_targets(settings)]
    probes = probe_targets(settings)
    if probes:
        metrics = settings.service(BLACKBOX).metrics
        assert metrics is not None  # the catalog entry declares its port
        jobs.append(_probe_job(probes, host, metrics.port))
    config["scrape_configs"] = jobs
    return config


def prometheus_flags(settings: Settings) -> list[str]:
    monitoring = settings.monitoring
    flags = [
        f"--config.file={CONFIG_PATH}",
        f"--storage.tsdb.path={TSDB_PATH}",
        f"--storage.tsdb.retention.time={monitoring.prometheus_retention_time}",
        f"--storage.tsdb.retention.size={monitoring.prometheus_retention_size}",
    ]
    url = settings.url(settings.service("prometheus"))
    if url:
        flags.append(f"--web.external-url={url}/")
    return flags
