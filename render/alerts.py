"""Alert rules and their promtool unit tests, as plain data.

Each rule carries its severity, a summary, a description and a runbook line,
and the unit-test case that proves it: series that must fire it and series
that must not, evaluated by `promtool test rules`. Rules are a projection of
the site: a rule appears only when what it watches is deployed (CrowdSec
rules with CrowdSec, backup rules with the backup tier, ...), and thresholds
come from `monitoring.thresholds`.

Annotations use only `{{ $labels.<name> }}` substitutions, so the expected
annotations of a test can be computed exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from config.settings import AlertThresholds, Settings, Severity
from config.types import duration_seconds

RULES_DIR = "rules"
"""Rule files sit in rules/ next to prometheus.yml (Prometheus resolves rule_files relative to its config)."""

TARGET_LABELS = ("host", "instance", "job", "service", "tier")
"""Labels every scrape target carries (render/prometheus.py); rules aggregate by them to keep them."""

BY_TARGET = "host, instance, job, service, tier"

_TEMPLATE = re.compile(r"\{\{\s*\$labels\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class Series:
    metric: str
    labels: Mapping[str, str]
    values: str

    @property
    def selector(self) -> str:
        inner = ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(self.labels.items()))
        return f"{self.metric}{{{inner}}}"


@dataclass(frozen=True)
class Case:
    """One promtool test: input series, when to evaluate, which output series must be firing then."""

    series: tuple[Series, ...]
    eval_time: str
    firing: tuple[Mapping[str, str], ...]
    interval: str = "1m"
    quiet_until: str | None = None
    """An earlier evaluation time at which nothing may fire yet (the `for` clause still pending)."""


@dataclass(frozen=True)
class AlertRule:
    alert: str
    expr: str
    for_: str
    severity: Severity
    summary: str
    description: str
    runbook: str
    case: Case
    requires: tuple[str, ...] = ()
    """Catalog entries that must be enabled for the rule to exist."""

    def annotations(self) -> dict[str, str]:
        return {"summary": self.summary, "description": self.description, "runbook": self.runbook}

    def rendered_annotations(self, labels: Mapping[str, str]) -> dict[str, str]:
        return {key: _TEMPLATE.sub(lambda m: labels[m.group(1)], text) for key, text in self.annotations().items()}


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[AlertRule, ...] = field(default_factory=tuple)

    @property
    def rule_file(self) -> str:
        return f"{self.name}.yml"

    @property
    def test_file(self) -> str:
        return f"{self.name}.test.yml"


# ---------------------------------------------------------------------------------- test data helpers
def _target(
    service: str, tier: str, host: str = "media-host", job: str | None = None, port: int = 9100
) -> dict[str, str]:
    return {
        "host": host,
        "instance": f"{service}:{port}",
        "job": job or service,
        "service": service,
        "tier": tier,
    }


def _container(service: str, tier: str = "media") -> dict[str, str]:
    """A cAdvisor container series after relabelling (service/tier from the container's labels)."""
    return {
        "host": "media-host",
        "id": f"/system.slice/docker-{service}.scope",
        "image": f"example/{service}:1.0",
        "instance": "cadvisor:8080",
        "job": "cadvisor",
        "name": f"ms-prod-{service}",
        "service": service,
        "tier": tier,
    }


def _fs(mountpoint: str, host: str = "media-host") -> dict[str, str]:
    return {
        **_target("node-exporter", "monitoring", host=host),
        "device": "/dev/sda1",
        "fstype": "ext4",
        "mountpoint": mountpoint,
    }


def _keep(labels: Mapping[str, str], names: Sequence[str]) -> dict[str, str]:
    return {k: labels[k] for k in names}


def _seconds(duration: str) -> int:
    return int(duration_seconds(duration))


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}m"


def _counter(per_minute: float, samples: int) -> str:
    return f"0+{per_minute:g}x{samples}"


# ---------------------------------------------------------------------------------- availability
def _target_down(_: AlertThresholds) -> AlertRule:
    down, up = _target("traefik", "edge", port=8082), _target("grafana", "monitoring", port=3000)
    return AlertRule(
        alert="TargetDown",
        expr="up == 0",
        for_="5m",
        severity=Severity.CRITICAL,
        summary="{{ $labels.service }} is down",
        description="Prometheus has not been able to scrape {{ $labels.job }} at {{ $labels.instance }} "
        "on {{ $labels.host }} for 5 minutes.",
        runbook="Check the container: docker ps --filter name={{ $labels.service }}; read its logs in Grafana "
        "(Explore > Loki, service={{ $labels.service }}); restart it with pulumi up if it is gone.",
        case=Case(
            series=(Series("up", down, "1 1 0x10"), Series("up", up, "1x12")),
            eval_time="9m",
            quiet_until="5m",
            firing=(down,),
        ),
    )


def _probe_failed(_: AlertThresholds) -> AlertRule:
    bad = {**_target("jellyfin", "media", job="probe"), "instance": "https://jellyfin.example.org"}
    good = {**_target("sonarr", "media", job="probe"), "instance": "https://sonarr.example.org"}
    return AlertRule(
        alert="ProbeFailed",
        expr='probe_success{job="probe"} == 0',
        for_="5m",
        severity=Severity.CRITICAL,
        summary="{{ $labels.instance }} is unreachable",
        description="The blackbox probe of {{ $labels.instance }} ({{ $labels.service }}) has failed for 5 "
        "minutes: DNS, TLS, Traefik or the app does not answer as a user would see it.",
        runbook="Open {{ $labels.instance }}; check Traefik (Service Health dashboard), the certificate and the "
        "{{ $labels.service }} container; probe_http_status_code shows what the probe got.",
        case=Case(
            series=(Series("probe_success", bad, "0x12"), Series("probe_success", good, "1x12")),
            eval_time="8m",
            quiet_until="4m",
            firing=(bad,),
        ),
        requires=("blackbox-exporter",),
    )


def _host_down(_: AlertThresholds) -> AlertRule:
    down = _target("node-exporter", "monitoring", host="media-host")
    up = _target("node-exporter", "monitoring", host="nas")
    return AlertRule(
        alert="HostDown",
        expr='up{job="node-exporter"} == 0',
        for_="2m",
        severity=Severity.CRITICAL,
        summary="host {{ $labels.host }} does not answer",
        description="node-exporter on {{ $labels.host }} has been unreachable for 2 minutes; alerts of the apps "
        "on that host are silenced while this fires.",
        runbook="Check the machine (power, network, docker.service); once it is back, pulumi up restores "
        "anything missing.",
        case=Case(
            series=(Series("up", down, "0x8"), Series("up", up, "1x8")),
            eval_time="4m",
            quiet_until="1m",
            firing=(down,),
        ),
        requires=("node-exporter",),
    )


def _exporter_backend_down(metric: str, alert: str, what: str, service: str) -> Callable[[AlertThresholds], AlertRule]:
    def build(_: AlertThresholds) -> AlertRule:
        down = _target(service, "monitoring", host="media-host")
        up = _target(service, "monitoring", host="nas")
        return AlertRule(
            alert=alert,
            expr=f"{metric} == 0",
            for_="2m",
            severity=Severity.CRITICAL,
            summary=f"{what} on {{{{ $labels.host }}}} is down",
            description=f"{{{{ $labels.job }}}} reports that it cannot reach {what} for 2 minutes; every app "
            "that keeps its data there is failing.",
            runbook=f"Check the {what} container's health and logs, and free disk space on its volume.",
            case=Case(
                series=(Series(metric, down, "1 0x6"), Series(metric, up, "1x7")),
                eval_time="5m",
                quiet_until="2m",
                firing=(down,),
            ),
            requires=(service,),
        )

    return build


# ---------------------------------------------------------------------------------- containers
def _container_restarting(t: AlertThresholds) -> AlertRule:
    # As many restarts as the threshold, evenly spread inside the window on whole minutes (promtool
    # evaluates on the minute).
    step = max(_seconds(t.restart_window) // (t.restarts + 1) // 60, 1) * 60
    flapping, steady = _container("sonarr"), _container("radarr")
    restarts = " ".join(str(100 + step * i) for i in range(t.restarts + 1))
    return AlertRule(
        alert="ContainerRestarting",
        expr=f'changes(container_start_time_seconds{{name!=""}}[{t.restart_window}]) >= {t.restarts}',
        for_="0m",
        severity=Severity.CRITICAL,
        summary="{{ $labels.service }} keeps restarting",
        description=f"Container {{{{ $labels.name }}}} on {{{{ $labels.host }}}} restarted at least {t.restarts} "
        f"times within {t.restart_window}: it is crash-looping.",
        runbook="docker logs --tail 200 {{ $labels.name }} (or Grafana Explore > Loki); look for a bad config "
        "upload, a full disk or a missing database.",
        case=Case(
            series=(
                Series("container_start_time_seconds", flapping, restarts),
                Series("container_start_time_seconds", steady, f"100x{t.restarts + 2}"),
            ),
            interval=f"{step}s",
            eval_time=f"{step * t.restarts}s",
            firing=(flapping,),
            quiet_until=f"{step * (t.restarts - 1)}s",
        ),
        requires=("cadvisor",),
    )


def _container_unhealthy(_: AlertThresholds) -> AlertRule:
    sick, healthy, unchecked = _container("jellyfin"), _container("navidrome"), _container("redis-exporter")
    return AlertRule(
        alert="ContainerUnhealthy",
        # cAdvisor: 1 healthy, 0 unhealthy (or still starting), -1 no healthcheck.
        expr='container_health_state{name!=""} == 0',
        for_="5m",
        severity=Severity.CRITICAL,
        summary="{{ $labels.service }} is unhealthy",
        description="Docker's healthcheck of {{ $labels.name }} on {{ $labels.host }} has failed for 5 minutes. "
        "Docker does not restart an unhealthy container by itself.",
        runbook="docker inspect {{ $labels.name }} shows the failing check under State.Health; fix the cause, "
        "then docker restart {{ $labels.name }}.",
        case=Case(
            series=(
                Series("container_health_state", sick, "1 1 0x10"),
                Series("container_health_state", healthy, "1x12"),
                Series("container_health_state", unchecked, "-1x12"),
            ),
            eval_time="9m",
            quiet_until="5m",
            firing=(sick,),
        ),
        requires=("cadvisor",),
    )


def _container_high_cpu(t: AlertThresholds) -> AlertRule:
    busy, calm = _container("jellyfin"), _container("sonarr")
    out = ("host", "name", "service", "tier")
    quota = {**busy, "cpu": "total"}
    hot = 60 * min(t.cpu_percent + (100 - t.cpu_percent) / 2, 100) / 100
    cool = 60 * t.cpu_percent / 2 / 100
    return AlertRule(
        alert="ContainerHighCpu",
        expr=f'sum by (host, name, service, tier) (rate(container_cpu_usage_seconds_total{{name!=""}}[5m])) '
        f"/ on (host, name) group_left () "
        f'max by (host, name) (container_spec_cpu_quota{{name!=""}} / container_spec_cpu_period{{name!=""}}) '
        f"* 100 > {t.cpu_percent:g}",
        for_="15m",
        severity=Severity.WARNING,
        summary="{{ $labels.service }} uses nearly all of its CPU limit",
        description=f"{{{{ $labels.name }}}} on {{{{ $labels.host }}}} has used more than {t.cpu_percent:g}% of "
        "its CPU limit for 15 minutes and is being throttled.",
        runbook="Performance dashboard: is it transcoding, indexing or scanning? Raise services.<app>.cpus if the "
        "load is legitimate.",
        case=Case(
            series=(
                Series("container_cpu_usage_seconds_total", quota, _counter(hot, 40)),
                Series("container_cpu_usage_seconds_total", {**calm, "cpu": "total"}, _counter(cool, 40)),
                Series("container_spec_cpu_quota", busy, "100000x40"),
                Series("container_spec_cpu_period", busy, "100000x40"),
                Series("container_spec_cpu_quota", calm, "100000x40"),
                Series("container_spec_cpu_period", calm, "100000x40"),
            ),
            eval_time="25m",
            quiet_until="10m",
            firing=(_keep(busy, out),),
        ),
        requires=("cadvisor",),
    )


def _container_high_memory(t: AlertThresholds) -> AlertRule:
    full, roomy, unlimited = _container("immich-server"), _container("kavita"), _container("backup", "backup")
    limit = 1024 * 1024 * 1024
    hot = int(limit * min(t.memory_percent + (100 - t.memory_percent) / 2, 100) / 100)
    return AlertRule(
        alert="ContainerHighMemory",
        expr=f'container_memory_working_set_bytes{{name!=""}} / (container_spec_memory_limit_bytes{{name!=""}} > 0) '
        f"* 100 > {t.memory_percent:g}",
        for_="10m",
        severity=Severity.WARNING,
        summary="{{ $labels.service }} is close to its memory limit",
        description=f"{{{{ $labels.name }}}} on {{{{ $labels.host }}}} has used more than {t.memory_percent:g}% "
        "of its memory limit for 10 minutes; the kernel will kill it (OOM) when it reaches the limit.",
        runbook="Performance dashboard: memory by container. Raise services.<app>.memory, or find the leak "
        "(restart count, logs).",
        case=Case(
            series=(
                Series("container_memory_working_set_bytes", full, f"{hot}x20"),
                Series("container_spec_memory_limit_bytes", full, f"{limit}x20"),
                Series("container_memory_working_set_bytes", roomy, f"{limit // 4}x20"),
                Series("container_spec_memory_limit_bytes", roomy, f"{limit}x20"),
                Series("container_memory_working_set_bytes", unlimited, f"{limit}x20"),
                Series("container_spec_memory_limit_bytes", unlimited, "0x20"),
            ),
            eval_time="15m",
            quiet_until="5m",
            firing=(full,),
        ),
        requires=("cadvisor",),
    )


# ---------------------------------------------------------------------------------- host
def _host_high_cpu(t: AlertThresholds) -> AlertRule:
    busy = {**_target("node-exporter", "monitoring", host="media-host"), "mode": "idle"}
    calm = {**_target("node-exporter", "monitoring", host="nas"), "mode": "idle"}
    idle_busy = 60 * (100 - min(t.cpu_percent + (100 - t.cpu_percent) / 2, 100)) / 100
    idle_calm = 60 * (100 - t.cpu_percent / 2) / 100
    return AlertRule(
        alert="HostHighCpu",
        expr=f'(1 - avg by ({BY_TARGET}) (rate(node_cpu_seconds_total{{mode="idle"}}[5m]))) * 100 > {t.cpu_percent:g}',
        for_="15m",
        severity=Severity.WARNING,
        summary="{{ $labels.host }} CPU is saturated",
        description=f"CPU use on {{{{ $labels.host }}}} has been above {t.cpu_percent:g}% for 15 minutes.",
        runbook="System Overview and Performance dashboards: which containers use the CPU? Transcodes without "
        "hardware acceleration are the usual cause (gpu settings).",
        case=Case(
            series=(
                Series("node_cpu_seconds_total", {**busy, "cpu": "0"}, _counter(idle_busy, 40)),
                Series("node_cpu_seconds_total", {**busy, "cpu": "1"}, _counter(idle_busy, 40)),
                Series("node_cpu_seconds_total", {**calm, "cpu": "0"}, _counter(idle_calm, 40)),
            ),
            eval_time="25m",
            quiet_until="10m",
            firing=(_keep(busy, TARGET_LABELS),),
        ),
        requires=("node-exporter",),
    )


def _host_high_memory(t: AlertThresholds) -> AlertRule:
    tight, roomy = _target("node-exporter", "monitoring"), _target("node-exporter", "monitoring", host="nas")
    total = 16 * 1024**3
    available = int(total * (100 - min(t.memory_percent + (100 - t.memory_percent) / 2, 100)) / 100)
    return AlertRule(
        alert="HostHighMemory",
        expr=f"(1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) * 100 > {t.memory_percent:g}",
        for_="10m",
        severity=Severity.WARNING,
        summary="{{ $labels.host }} is running out of memory",
        description=f"Less than {100 - t.memory_percent:g}% of the memory of {{{{ $labels.host }}}} has been "
        "available for 10 minutes.",
        runbook="Performance dashboard: memory by container; lower services.<app>.memory limits or add RAM.",
        case=Case(
            series=(
                Series("node_memory_MemAvailable_bytes", tight, f"{available}x20"),
                Series("node_memory_MemTotal_bytes", tight, f"{total}x20"),
                Series("node_memory_MemAvailable_bytes", roomy, f"{total // 2}x20"),
                Series("node_memory_MemTotal_bytes", roomy, f"{total}x20"),
            ),
            eval_time="15m",
            quiet_until="5m",
            firing=(tight,),
        ),
        requires=("node-exporter",),
    )


FS_SELECTOR = 'fstype!~"tmpfs|ramfs|overlay|squashfs"'


def _disk_almost_full(t: AlertThresholds) -> AlertRule:
    full, roomy = _fs("/host/data"), _fs("/host/config")
    size = 4 * 1024**4
    avail = int(size * (100 - min(t.disk_percent + (100 - t.disk_percent) / 2, 99.9)) / 100)
    return AlertRule(
        alert="DiskAlmostFull",
        expr=f"(1 - node_filesystem_avail_bytes{{{FS_SELECTOR}}} / node_filesystem_size_bytes{{{FS_SELECTOR}}}) "
        f"* 100 > {t.disk_percent:g}",
        for_="10m",
        severity=Severity.WARNING,
        summary="{{ $labels.mountpoint }} on {{ $labels.host }} is almost full",
        description=f"The filesystem behind {{{{ $labels.mountpoint }}}} ({{{{ $labels.device }}}}) on "
        f"{{{{ $labels.host }}}} is more than {t.disk_percent:g}% full.",
        runbook="/host/data is the media and downloads tree (clear finished torrents, check the *arr recycle bin); "
        "/host/backups holds restic (forget --prune); /host/config holds app state and Prometheus/Loki data "
        "(lower retention).",
        case=Case(
            series=(
                Series("node_filesystem_avail_bytes", full, f"{avail}x20"),
                Series("node_filesystem_size_bytes", full, f"{size}x20"),
                Series("node_filesystem_avail_bytes", roomy, f"{size // 2}x20"),
                Series("node_filesystem_size_bytes", roomy, f"{size}x20"),
            ),
            eval_time="15m",
            quiet_until="5m",
            firing=(full,),
        ),
        requires=("node-exporter",),
    )


def _disk_will_fill(t: AlertThresholds) -> AlertRule:
    filling, steady = _fs("/host/data"), _fs("/host/backups")
    horizon = _seconds(t.disk_fill_window)
    size = 4 * 1024**4
    # Samples every minute; the filling disk loses enough per step to be empty within half the window.
    steps = 150
    start = size // 2
    per_step = max(start * 60 // max(horizon // 2, 60), 1)
    return AlertRule(
        alert="DiskWillFillSoon",
        expr=f"predict_linear(node_filesystem_avail_bytes{{{FS_SELECTOR}}}[6h], {horizon}) < 0 "
        f"and node_filesystem_readonly{{{FS_SELECTOR}}} == 0",
        for_="30m",
        severity=Severity.CRITICAL,
        summary="{{ $labels.mountpoint }} on {{ $labels.host }} will be full within " + t.disk_fill_window,
        description=f"At the rate of the last 6 hours, the filesystem behind {{{{ $labels.mountpoint }}}} on "
        f"{{{{ $labels.host }}}} runs out of space within {t.disk_fill_window}.",
        runbook="Find what is writing (a stuck download, a log loop, a runaway transcode cache) on the Performance "
        "dashboard (disk writes by container) before it fills.",
        case=Case(
            series=(
                Series("node_filesystem_avail_bytes", filling, f"{start}-{per_step}x{steps}"),
                Series("node_filesystem_readonly", filling, f"0x{steps}"),
                Series("node_filesystem_avail_bytes", steady, f"{start}x{steps}"),
                Series("node_filesystem_readonly", steady, f"0x{steps}"),
            ),
            eval_time="2h",
            firing=(filling,),
        ),
        requires=("node-exporter",),
    )


# ---------------------------------------------------------------------------------- certificates
def _tls_expiring(t: AlertThresholds) -> AlertRule:
    soon = {**_target("authelia", "auth", job="probe"), "instance": "https://auth.example.org"}
    later = {**_target("grafana", "monitoring", job="probe"), "instance": "https://grafana.example.org"}
    days = t.certificate_days
    return AlertRule(
        alert="TlsCertificateExpiring",
        expr=f'(probe_ssl_earliest_cert_expiry{{job="probe"}} - time()) / 86400 < {days}',
        for_="1h",
        severity=Severity.WARNING,
        summary="certificate of {{ $labels.instance }} expires soon",
        description=f"The TLS certificate served at {{{{ $labels.instance }}}} expires within {days} days; "
        "renewal has failed.",
        runbook="Traefik's logs (Loki, service=traefik) show the ACME error; check the Cloudflare token (DNS-01) "
        "or that port 80 reaches Traefik (HTTP-01).",
        case=Case(
            series=(
                Series("probe_ssl_earliest_cert_expiry", soon, f"{(days // 2) * 86400}x100"),
                Series("probe_ssl_earliest_cert_expiry", later, f"{(days * 3) * 86400}x100"),
            ),
            eval_time="90m",
            quiet_until="30m",
            firing=(soon,),
        ),
        requires=("blackbox-exporter",),
    )


def _origin_cert_expiring(t: AlertThresholds) -> AlertRule:
    base = _target("traefik", "edge", port=8082)
    soon = {**base, "cn": "auth.example.org", "sans": "auth.example.org", "serial": "01"}
    renewed_old = {**base, "cn": "photos.example.org", "sans": "photos.example.org", "serial": "02"}
    renewed_new = {**base, "cn": "photos.example.org", "sans": "photos.example.org", "serial": "03"}
    days = t.certificate_days
    return AlertRule(
        alert="OriginCertificateExpiring",
        # max by cn: a renewed certificate's newer serial wins over a stale series of the old one.
        expr=f"(max by ({BY_TARGET}, cn) (traefik_tls_certs_not_after) - time()) / 86400 < {days}",
        for_="1h",
        severity=Severity.WARNING,
        summary="Traefik's certificate for {{ $labels.cn }} expires soon",
        description=f"The newest certificate Traefik holds for {{{{ $labels.cn }}}} expires within {days} days "
        "(this is the origin certificate, also behind Cloudflare's proxy).",
        runbook="Traefik's logs (Loki, service=traefik) show the ACME error; check the DNS-01 token or HTTP-01 "
        "reachability, then restart Traefik to retry.",
        case=Case(
            series=(
                Series("traefik_tls_certs_not_after", soon, f"{(days // 2) * 86400}x100"),
                Series("traefik_tls_certs_not_after", renewed_old, f"{(days // 2) * 86400}x100"),
                Series("traefik_tls_certs_not_after", renewed_new, f"{(days * 6) * 86400}x100"),
            ),
            eval_time="90m",
            quiet_until="30m",
            firing=({**_keep(base, TARGET_LABELS), "cn": "auth.example.org"},),
        ),
        requires=("traefik",),
    )


# ---------------------------------------------------------------------------------- security
def _crowdsec_surge(t: AlertThresholds) -> AlertRule:
    attacked = _target("crowdsec", "edge", port=6060)
    quiet = _target("crowdsec", "edge", host="nas", port=6060)
    window_min = _seconds(t.security_window) / 60
    hot = 2 * t.crowdsec_decisions / window_min
    samples = int(window_min) + 10
    return AlertRule(
        alert="CrowdSecDecisionSurge",
        expr=f"sum by ({BY_TARGET}) (increase(cs_bucket_overflowed_total[{t.security_window}])) "
        f"> {t.crowdsec_decisions}",
        for_="0m",
        severity=Severity.WARNING,
        summary="surge of CrowdSec bans on {{ $labels.host }}",
        description=f"CrowdSec scenarios triggered (and banned) more than {t.crowdsec_decisions} times within "
        f"{t.security_window}: the site is being scanned or attacked.",
        runbook="Security Events dashboard: which scenarios and which apps; cscli decisions list in the crowdsec "
        "container; consider a Cloudflare WAF rule for the source.",
        case=Case(
            series=(
                Series(
                    "cs_bucket_overflowed_total",
                    {**attacked, "name": "crowdsecurity/http-probing"},
                    _counter(hot, samples),
                ),
                Series(
                    "cs_bucket_overflowed_total",
                    {**quiet, "name": "crowdsecurity/http-probing"},
                    _counter(hot / 8, samples),
                ),
            ),
            eval_time=_minutes(_seconds(t.security_window) + 300),
            firing=(attacked,),
        ),
        requires=("crowdsec",),
    )


def _failed_login_surge(t: AlertThresholds) -> AlertRule:
    attacked = _target("authelia", "auth", port=9959)
    quiet = _target("authelia", "auth", host="nas", port=9959)
    window_min = _seconds(t.security_window) / 60
    hot = 2 * t.failed_logins / window_min
    samples = int(window_min) + 10
    return AlertRule(
        alert="AutheliaFailedLoginSurge",
        expr=f'sum by ({BY_TARGET}) (increase(authelia_authn{{success="false"}}[{t.security_window}])) '
        f"> {t.failed_logins}",
        for_="0m",
        severity=Severity.WARNING,
        summary="surge of failed sign-ins on {{ $labels.host }}",
        description=f"More than {t.failed_logins} first-factor sign-ins failed within {t.security_window}: "
        "someone is guessing passwords.",
        runbook="Security Events dashboard (Authelia failures, source addresses in Traefik's access log); "
        "Authelia's regulation bans repeat offenders, CrowdSec bans the address.",
        case=Case(
            series=(
                Series("authelia_authn", {**attacked, "success": "false", "banned": "false"}, _counter(hot, samples)),
                Series(
                    "authelia_authn", {**attacked, "success": "true", "banned": "false"}, _counter(hot * 4, samples)
                ),
                Series("authelia_authn", {**quiet, "success": "false", "banned": "false"}, _counter(hot / 8, samples)),
            ),
            eval_time=_minutes(_seconds(t.security_window) + 300),
            firing=(attacked,),
        ),
        requires=("authelia",),
    )


# ---------------------------------------------------------------------------------- backups
def backup_age_expr(max_age: Mapping[str, str], default: str) -> str:
    """Age of the last successful backup above the allowed age of its set (one branch per distinct age)."""
    metric = "media_server_backup_last_success_timestamp_seconds"
    by_age: dict[int, list[str]] = {}
    for name, age in sorted(max_age.items()):
        by_age.setdefault(_seconds(age), []).append(name)
    branches = []
    for seconds, sets in sorted(by_age.items()):
        matcher = f'set="{sets[0]}"' if len(sets) == 1 else f'set=~"{"|".join(sets)}"'
        branches.append(f"(time() - {metric}{{{matcher}}}) > {seconds}")
    if max_age:
        branches.append(f'(time() - {metric}{{set!~"{"|".join(sorted(max_age))}"}}) > {_seconds(default)}')
    else:
        branches.append(f"(time() - {metric}) > {_seconds(default)}")
    return "\n  or ".join(branches)


def _backup_too_old(settings: Settings) -> AlertRule:
    monitoring = settings.monitoring
    node = _target("node-exporter", "monitoring")
    ages = {**monitoring.backup_max_age}
    # Every configured set, plus one the settings do not name (it gets the default age).
    names = [*sorted(ages), "unlisted"]
    series: list[Series] = []
    firing: list[dict[str, str]] = []
    # The last success is a constant timestamp; evaluated at 30m, the "local" copy of each set is half again
    # as old as allowed (timestamps before the epoch are fine for promtool) and the "offsite" one half as old.
    eval_s = 1800
    for name in names:
        allowed = _seconds(ages.get(name, monitoring.backup_max_age_default))
        for repository, age in (("local", allowed * 3 // 2), ("offsite", allowed // 2)):
            labels = {**node, "set": name, "repository": repository}
            series.append(Series("media_server_backup_last_success_timestamp_seconds", labels, f"{eval_s - age}x40"))
            if age > allowed:
                firing.append(labels)
    return AlertRule(
        alert="BackupTooOld",
        expr=backup_age_expr(ages, monitoring.backup_max_age_default),
        for_="5m",
        severity=Severity.WARNING,
        summary="backup set {{ $labels.set }} ({{ $labels.repository }}) is out of date",
        description="The last successful backup of set {{ $labels.set }} to repository {{ $labels.repository }} "
        "is older than that set is allowed to be (monitoring.backupMaxAge).",
        runbook="Check the backup runner's logs (Loki, service=backup) and media_server_backup_success; run the "
        "set by hand; an unreachable off-site repository is the usual cause.",
        case=Case(series=tuple(series), eval_time=f"{eval_s}s", firing=tuple(firing)),
        requires=("backup", "node-exporter"),
    )


def _backup_failed(_: AlertThresholds) -> AlertRule:
    node = _target("node-exporter", "monitoring")
    failed = {**node, "set": "databases", "repository": "offsite"}
    fine = {**node, "set": "databases", "repository": "local"}
    return AlertRule(
        alert="BackupFailed",
        expr="media_server_backup_success == 0",
        for_="0m",
        severity=Severity.WARNING,
        summary="the last {{ $labels.set }} backup to {{ $labels.repository }} failed",
        description="The latest run of backup set {{ $labels.set }} to repository {{ $labels.repository }} "
        "exited with an error; older snapshots are untouched.",
        runbook="Read the runner's log lines for this set (Loki, service=backup); repository credentials, "
        "a full disk or a database that refused the dump are the usual causes.",
        case=Case(
            series=(
                Series("media_server_backup_success", failed, "1 1 0 0"),
                Series("media_server_backup_success", fine, "1 1 1 1"),
            ),
            eval_time="3m",
            firing=(failed,),
        ),
        requires=("backup", "node-exporter"),
    )


def _backup_metrics_missing(settings: Settings) -> AlertRule:
    window = settings.monitoring.backup_max_age_default
    hours = -(-_seconds(window) // 3600)
    present = {**_target("node-exporter", "monitoring"), "set": "config", "repository": "local"}
    return AlertRule(
        alert="BackupMetricsMissing",
        expr="absent(media_server_backup_last_success_timestamp_seconds)",
        for_=window,
        severity=Severity.WARNING,
        summary="no backup has ever reported success",
        description=f"node-exporter has read no backup metrics for {window}: the backup runner never completed "
        "a run, or its metrics directory is not the one node-exporter reads.",
        runbook="Check that the backup runner is running and writes <backupRoot>/metrics/*.prom, which "
        "node-exporter mounts at /textfile.",
        # Reported for the first 2 hours, then gone: pending while within the window, firing after it.
        case=Case(
            series=(Series("media_server_backup_last_success_timestamp_seconds", present, f"0x2 _x{hours + 6}"),),
            interval="1h",
            quiet_until=f"{hours}h",
            eval_time=f"{hours + 4}h",
            firing=({},),
        ),
        requires=("backup", "node-exporter"),
    )


# ---------------------------------------------------------------------------------- unified search
SEARCH_LAST_SUCCESS = "mediasearch_last_success_timestamp_seconds"
"""The search service's end of a source's last successful run, for the sources it indexes; until the first
since the service started, the service's start (images/search/mediasearch/metrics.py), so a restart is not
a stale source, and a source that has not indexed within the window of a start is."""


def search_stale_expr(stale_after: str) -> str:
    return f"(time() - {SEARCH_LAST_SUCCESS}) > {_seconds(stale_after)}"


def _search_source_stale(settings: Settings) -> AlertRule:
    stale = settings.search.stale_after
    seconds = _seconds(stale)
    step = 60  # a scrape a minute: an instant selector sees a series only up to 5m after its last sample
    per_window = seconds // step
    target = _target("search", "media", port=8080)
    broken, fine, new, restarted = ({**target, "source": s} for s in ("kavita", "jellyfin", "immich", "navidrome"))
    samples = 2 * per_window + 20
    end = samples * step
    # broken: indexed once, right after the start, never again; fine: a success at every scrape; new: a source
    # the service has reported for half a window, not indexed yet (its value is the service's start);
    # restarted: fine until the service restarted 30 minutes ago, its first run since still going.
    series = (
        Series(SEARCH_LAST_SUCCESS, broken, f"0 {step}x{samples}"),
        Series(SEARCH_LAST_SUCCESS, fine, f"0+{step}x{samples}"),
        Series(
            SEARCH_LAST_SUCCESS, new, f"_x{samples - per_window // 2} {end - per_window // 2 * step}x{per_window // 2}"
        ),
        Series(SEARCH_LAST_SUCCESS, restarted, f"0+{step}x{samples - 30} {end - 30 * step}x30"),
    )
    return AlertRule(
        alert="SearchSourceStale",
        expr=search_stale_expr(stale),
        for_="10m",
        severity=Severity.WARNING,
        summary="search has not indexed {{ $labels.source }} for " + stale,
        description="The search service's last successful index run of {{ $labels.source }} is older than "
        f"search.staleAfter ({stale}): new items of that app are not found.",
        runbook="Open search.<domain>: it says why the source is not connected (key, address, app down); the "
        "service's log (Loki, service=search) has the error. `docker kill --signal HUP ms-<stack>-search` "
        "rebuilds every source now.",
        case=Case(
            series=series,
            interval=f"{step}s",
            quiet_until=f"{seconds}s",
            eval_time=f"{end}s",
            firing=(broken,),
        ),
        requires=("search",),
    )


# ---------------------------------------------------------------------------------- the monitoring itself
def _counter_increase_rule(
    alert: str, metric: str, service: str, tier: str, port: int, extra: Mapping[str, str], texts: tuple[str, str, str]
) -> AlertRule:
    failing = {**_target(service, tier, port=port), **extra}
    fine = {**_target(service, tier, host="nas", port=port), **extra}
    summary, description, runbook = texts
    return AlertRule(
        alert=alert,
        expr=f"sum by ({BY_TARGET}) (increase({metric}[15m])) > 0",
        for_="5m",
        severity=Severity.WARNING,
        summary=summary,
        description=description,
        runbook=runbook,
        case=Case(
            series=(Series(metric, failing, "0 0 0 1 2 3 4 5 6 7 8 9 10 11 12"), Series(metric, fine, "0x14")),
            eval_time="10m",
            quiet_until="4m",
            firing=(_keep(failing, TARGET_LABELS),),
        ),
        requires=(service,),
    )


def _notifications_failing(_: AlertThresholds) -> AlertRule:
    return _counter_increase_rule(
        "AlertmanagerNotificationsFailing",
        "alertmanager_notifications_failed_total",
        "alertmanager",
        "monitoring",
        9093,
        {"integration": "telegram", "reason": "other"},
        (
            "Alertmanager cannot deliver notifications",
            "Notifications from {{ $labels.host }} are failing: alerts may not reach anyone.",
            "Alertmanager's logs (Loki, service=alertmanager) name the integration and the error; check the "
            "receiver's secret config (alertSmtpPassword, alertWebhookUrl, alertTelegramBotToken).",
        ),
    )


def _rule_failures(_: AlertThresholds) -> AlertRule:
    return _counter_increase_rule(
        "PrometheusRuleFailures",
        "prometheus_rule_evaluation_failures_total",
        "prometheus",
        "monitoring",
        9090,
        {"rule_group": "/etc/prometheus/rules/availability.yml;availability"},
        (
            "Prometheus fails to evaluate alert rules",
            "Rule evaluation on {{ $labels.host }} is failing: some alerts cannot fire.",
            "Prometheus's logs (Loki, service=prometheus) show the failing rule and the error.",
        ),
    )


def _logs_dropped(_: AlertThresholds) -> AlertRule:
    return _counter_increase_rule(
        "LogsDropped",
        "loki_write_dropped_entries_total",
        "alloy",
        "monitoring",
        12345,
        {"component_id": "loki.write.default", "component_path": "/", "reason": "rate_limited"},
        (
            "log lines are being dropped",
            "Grafana Alloy on {{ $labels.host }} is dropping log lines instead of delivering them to Loki.",
            "Check that Loki is up and not rejecting writes (Loki's logs); Alloy's UI shows the failing component.",
        ),
    )


# ---------------------------------------------------------------------------------- assembly
ThresholdRule = Callable[[AlertThresholds], AlertRule]
SettingsRule = Callable[[Settings], AlertRule]

GROUPS: tuple[tuple[str, tuple[ThresholdRule | SettingsRule, ...]], ...] = (
    (
        "availability",
        (
            _target_down,
            _probe_failed,
            _host_down,
            _exporter_backend_down("pg_up", "PostgresDown", "PostgreSQL", "postgres-exporter"),
            _exporter_backend_down("redis_up", "RedisDown", "Redis", "redis-exporter"),
        ),
    ),
    ("containers", (_container_restarting, _container_unhealthy, _container_high_cpu, _container_high_memory)),
    ("host", (_host_high_cpu, _host_high_memory, _disk_almost_full, _disk_will_fill)),
    ("certificates", (_tls_expiring, _origin_cert_expiring)),
    ("security", (_crowdsec_surge, _failed_login_surge)),
    ("backups", (_backup_too_old, _backup_failed, _backup_metrics_missing)),
    ("monitoring", (_notifications_failing, _rule_failures, _logs_dropped)),
    ("search", (_search_source_stale,)),
)

_NEEDS_SETTINGS = frozenset({_backup_too_old, _backup_metrics_missing, _search_source_stale})


def rule_groups(settings: Settings) -> list[RuleGroup]:
    """The alert rules this site gets: every rule whose watched services are enabled."""
    enabled = {spec.name for spec in settings.enabled_services()}
    groups = []
    for name, builders in GROUPS:
        rules = []
        for build in builders:
            rule = build(settings) if build in _NEEDS_SETTINGS else build(settings.monitoring.thresholds)  # type: ignore[arg-type]
            if set(rule.requires) <= enabled:
                rules.append(rule)
        if rules:
            groups.append(RuleGroup(name=name, rules=tuple(rules)))
    return groups


def _rule_doc(rule: AlertRule) -> dict[str, object]:
    doc: dict[str, object] = {"alert": rule.alert, "expr": rule.expr}
    if rule.for_ not in ("0m", "0s"):
        doc["for"] = rule.for_
    doc["labels"] = {"severity": rule.severity.value}
    doc["annotations"] = rule.annotations()
    return doc


def render_rule_file(group: RuleGroup) -> dict[str, object]:
    return {"groups": [{"name": group.name, "rules": [_rule_doc(rule) for rule in group.rules]}]}


def render_rule_files(settings: Settings) -> dict[str, dict[str, object]]:
    """File name (under rules/) -> rule file document."""
    return {group.rule_file: render_rule_file(group) for group in rule_groups(settings)}


def _expected(rule: AlertRule, labels: Mapping[str, str]) -> dict[str, object]:
    return {
        "exp_labels": {**labels, "severity": rule.severity.value},
        "exp_annotations": rule.rendered_annotations(labels),
    }


def render_rule_test(group: RuleGroup, rules_dir: str = "", evaluation_interval: str = "1m") -> dict[str, object]:
    """A promtool unit-test file for one group: per alert, series that fire it and series that must not.

    `rules_dir`: where the rule file is, relative to the test file ("" = beside it).
    """
    tests = []
    for rule in group.rules:
        case = rule.case
        checks: list[dict[str, object]] = []
        if case.quiet_until is not None:
            checks.append({"eval_time": case.quiet_until, "alertname": rule.alert, "exp_alerts": []})
        checks.append(
            {
                "eval_time": case.eval_time,
                "alertname": rule.alert,
                "exp_alerts": [_expected(rule, labels) for labels in case.firing],
            }
        )
        tests.append(
            {
                "name": f"{rule.alert}: fires for the bad series only",
                "interval": case.interval,
                "input_series": [{"series": s.selector, "values": s.values} for s in case.series],
                "alert_rule_test": checks,
            }
        )
    rule_file = f"{rules_dir.rstrip('/')}/{group.rule_file}" if rules_dir else group.rule_file
    return {"rule_files": [rule_file], "evaluation_interval": evaluation_interval, "tests": tests}


def render_rule_tests(settings: Settings, rules_dir: str = "") -> dict[str, dict[str, object]]:
    """Test file name -> promtool unit-test document."""
    return {group.test_file: render_rule_test(group, rules_dir) for group in rule_groups(settings)}
