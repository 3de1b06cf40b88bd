"""Grafana: environment, data sources with fixed UIDs, the dashboard provider and the dashboards.

Dashboards are plain data (Grafana's JSON model) built from the catalog and
settings: per-app panels come from what is enabled, so an app added to the
catalog appears with no edit here. Every Prometheus query uses only metrics
listed in config/data/metrics (a test holds them to it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from config.search import SEARCH
from config.settings import Settings
from config.spec import Tier
from render.alerts import SEARCH_LAST_SUCCESS
from render.prometheus import PROBE_JOB
from render.routes import admins_group

PROVISIONING = "/etc/grafana/provisioning"
DASHBOARD_DIR = f"{PROVISIONING}/dashboards/json"
PROMETHEUS_UID = "prometheus"
LOKI_UID = "loki"
ALERTMANAGER_UID = "alertmanager"
PROMETHEUS = {"type": "prometheus", "uid": PROMETHEUS_UID}
LOKI = {"type": "loki", "uid": LOKI_UID}
FS = 'fstype!~"tmpfs|ramfs|overlay|squashfs"'
CONTAINERS = 'name!=""'
# Traefik answers that mean "refused at the edge": both access-log formats (JSON and common log format).
DENIED_ACCESS = r"DownstreamStatus\":(401|403|429)|\" (401|403|429) "


# ---------------------------------------------------------------------------------- data sources, provider
def render_datasources(settings: Settings) -> dict[str, Any]:
    sources: list[dict[str, Any]] = [
        {
            "name": "Prometheus",
            "uid": PROMETHEUS_UID,
            "type": "prometheus",
            "access": "proxy",
            "url": f"http://prometheus:{settings.service('prometheus').port}",
            "isDefault": True,
            "editable": False,
            "jsonData": {"timeInterval": settings.monitoring.scrape_interval, "httpMethod": "POST"},
        }
    ]
    if settings.is_enabled("loki"):
        sources.append(
            {
                "name": "Loki",
                "uid": LOKI_UID,
                "type": "loki",
                "access": "proxy",
                "url": "http://loki:3100",
                "editable": False,
                "jsonData": {"maxLines": 1000},
            }
        )
    if settings.is_enabled("alertmanager"):
        sources.append(
            {
                "name": "Alertmanager",
                "uid": ALERTMANAGER_UID,
                "type": "alertmanager",
                "access": "proxy",
                "url": f"http://alertmanager:{settings.service('alertmanager').port}",
                "editable": False,
                "jsonData": {"implementation": "prometheus", "handleGrafanaManagedAlerts": False},
            }
        )
    return {"apiVersion": 1, "prune": True, "datasources": sources}


def render_dashboard_provider() -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "media-server",
                "folder": "Media server",
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": DASHBOARD_DIR, "foldersFromFilesStructure": False},
            }
        ],
    }


# ---------------------------------------------------------------------------------- environment
SECRETS_DIR = f"{PROVISIONING}/secrets"
"""Grafana provisions only its known subdirectories (datasources, dashboards, ...): this one it ignores."""


def grafana_secret_files(variables: list[str]) -> dict[str, str]:
    """GF_* variable -> the file that holds its value (named by GF_<NAME>__FILE in the environment)."""
    return {var: f"{SECRETS_DIR}/{var.removeprefix('GF_').lower()}" for var in variables}


def grafana_env(settings: Settings, oidc: bool) -> dict[str, str]:
    """Plain (non-secret) environment; the admin password and OIDC client secret are files (grafana_secret_files)."""
    grafana = settings.service("grafana")
    root = settings.url(grafana) or f"http://grafana:{grafana.port}"
    env = {
        "GF_SERVER_ROOT_URL": f"{root}/",
        "GF_SECURITY_ADMIN_USER": "admin",
        "GF_SECURITY_COOKIE_SECURE": "true" if root.startswith("https://") else "false",
        "GF_SECURITY_DISABLE_GRAVATAR": "true",
        "GF_USERS_ALLOW_SIGN_UP": "false",
        "GF_ANALYTICS_REPORTING_ENABLED": "false",
        "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
        "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES": "false",
        "GF_LOG_MODE": "console",
        "GF_METRICS_ENABLED": "true",
        "GF_PATHS_PROVISIONING": PROVISIONING,
        "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH": f"{DASHBOARD_DIR}/system-overview.json",
    }
    if oidc:
        issuer = settings.url(settings.service("authelia"))
        env.update(
            {
                "GF_AUTH_GENERIC_OAUTH_ENABLED": "true",
                "GF_AUTH_GENERIC_OAUTH_NAME": "Authelia",
                "GF_AUTH_GENERIC_OAUTH_CLIENT_ID": "grafana",
                "GF_AUTH_GENERIC_OAUTH_SCOPES": "openid profile email groups",
                "GF_AUTH_GENERIC_OAUTH_EMPTY_SCOPES": "false",
                "GF_AUTH_GENERIC_OAUTH_AUTH_URL": f"{issuer}/api/oidc/authorization",
                "GF_AUTH_GENERIC_OAUTH_TOKEN_URL": f"{issuer}/api/oidc/token",
                "GF_AUTH_GENERIC_OAUTH_API_URL": f"{issuer}/api/oidc/userinfo",
                "GF_AUTH_GENERIC_OAUTH_USE_PKCE": "true",
                "GF_AUTH_GENERIC_OAUTH_ALLOW_SIGN_UP": "true",
                "GF_AUTH_GENERIC_OAUTH_LOGIN_ATTRIBUTE_PATH": "preferred_username",
                "GF_AUTH_GENERIC_OAUTH_NAME_ATTRIBUTE_PATH": "name",
                "GF_AUTH_GENERIC_OAUTH_GROUPS_ATTRIBUTE_PATH": "groups",
                "GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH": (
                    f"contains(groups[*], '{settings.monitoring.grafana_admin_group or admins_group(settings)}') "
                    "&& 'Admin' || 'Viewer'"
                ),
                "GF_AUTH_GENERIC_OAUTH_ALLOW_ASSIGN_GRAFANA_ADMIN": "true",
                "GF_AUTH_OAUTH_AUTO_LOGIN": "true",
                "GF_AUTH_SIGNOUT_REDIRECT_URL": f"{issuer}/logout",
            }
        )
    return env


def oidc_redirect_uri(settings: Settings) -> str | None:
    url = settings.url(settings.service("grafana"))
    return f"{url}/login/generic_oauth" if url else None


# ---------------------------------------------------------------------------------- dashboard builder
@dataclass
class Board:
    uid: str
    title: str
    description: str
    panels: list[dict[str, Any]] = field(default_factory=list)
    _x: int = 0
    _y: int = 0
    _row_h: int = 0

    def add(self, panel: dict[str, Any], w: int = 12, h: int = 8) -> None:
        if self._x + w > 24:
            self._x, self._y, self._row_h = 0, self._y + self._row_h, 0
        panel["id"] = len(self.panels) + 1
        panel["gridPos"] = {"x": self._x, "y": self._y, "w": w, "h": h}
        self.panels.append(panel)
        self._x += w
        self._row_h = max(self._row_h, h)

    def render(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["media-server"],
            "timezone": "browser",
            "editable": False,
            "graphTooltip": 1,
            "schemaVersion": 39,
            "version": 1,
            "refresh": "1m",
            "time": {"from": "now-6h", "to": "now"},
            "templating": {"list": []},
            "annotations": {"list": []},
            "links": [],
            "panels": self.panels,
        }


def _targets(exprs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend, "datasource": PROMETHEUS}
        for i, (expr, legend) in enumerate(exprs)
    ]


def timeseries(
    title: str, exprs: list[tuple[str, str]], unit: str = "short", description: str = "", stack: bool = False
) -> dict[str, Any]:
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": PROMETHEUS,
        "targets": _targets(exprs),
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "custom": {"stacking": {"mode": "normal" if stack else "none"}, "fillOpacity": 10},
            },
            "overrides": [],
        },
        "options": {"legend": {"displayMode": "table", "placement": "right"}, "tooltip": {"mode": "multi"}},
    }


def stat(
    title: str,
    expr: str,
    unit: str = "short",
    legend: str = "",
    thresholds: Sequence[tuple[float | None, str]] | None = None,
) -> dict[str, Any]:
    steps = [{"value": value, "color": color} for value, color in (thresholds or [(None, "green")])]
    return {
        "type": "stat",
        "title": title,
        "datasource": PROMETHEUS,
        "targets": _targets([(expr, legend)]),
        "fieldConfig": {
            "defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}},
            "overrides": [],
        },
        "options": {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background", "graphMode": "none"},
    }


def bargauge(title: str, expr: str, legend: str, unit: str = "percent", maximum: float = 100) -> dict[str, Any]:
    return {
        "type": "bargauge",
        "title": title,
        "datasource": PROMETHEUS,
        "targets": _targets([(expr, legend)]),
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "min": 0,
                "max": maximum,
                "thresholds": {
                    "mode": "percentage",
                    "steps": [
                        {"value": None, "color": "green"},
                        {"value": 80, "color": "orange"},
                        {"value": 90, "color": "red"},
                    ],
                },
            },
            "overrides": [],
        },
        "options": {
            "displayMode": "gradient",
            "orientation": "horizontal",
            "reduceOptions": {"calcs": ["lastNotNull"]},
        },
    }


def state_timeline(title: str, expr: str, legend: str, mappings: dict[str, tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": "state-timeline",
        "title": title,
        "datasource": PROMETHEUS,
        "targets": _targets([(expr, legend)]),
        "fieldConfig": {
            "defaults": {
                "mappings": [
                    {
                        "type": "value",
                        "options": {value: {"text": text, "color": color} for value, (text, color) in mappings.items()},
                    }
                ]
            },
            "overrides": [],
        },
        "options": {"showValue": "never", "mergeValues": True},
    }


def logs(title: str, expr: str) -> dict[str, Any]:
    return {
        "type": "logs",
        "title": title,
        "datasource": LOKI,
        "targets": [{"refId": "A", "expr": expr, "queryType": "range", "datasource": LOKI}],
        "options": {"showTime": True, "wrapLogMessage": True, "sortOrder": "Descending", "enableLogDetails": True},
    }


def loki_timeseries(title: str, exprs: list[tuple[str, str]], unit: str = "short") -> dict[str, Any]:
    return {
        "type": "timeseries",
        "title": title,
        "datasource": LOKI,
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend, "queryType": "range", "datasource": LOKI}
            for i, (expr, legend) in enumerate(exprs)
        ],
        "fieldConfig": {"defaults": {"unit": unit, "custom": {"fillOpacity": 10}}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
    }


def text(title: str, markdown: str) -> dict[str, Any]:
    return {"type": "text", "title": title, "options": {"mode": "markdown", "content": markdown}}


def _regex(names: list[str]) -> str:
    return "|".join(sorted(names)) or "none"


# ---------------------------------------------------------------------------------- dashboards
def _rate(metric: str, selector: str = "", by: str = "") -> str:
    """sum by (<by>) (rate(<metric>{<selector>}[$__rate_interval])), or the bare rate without `by`."""
    inner = f"rate({metric}{{{selector}}}[$__rate_interval])" if selector else f"rate({metric}[$__rate_interval])"
    return f"sum by ({by}) ({inner})" if by else inner


ALARM = [(None, "green"), (1, "red")]


def _system_overview(settings: Settings) -> Board:
    board = Board("ms-system-overview", "System Overview", "The host: CPU, memory, disks, network, backups, alerts.")
    board.add(stat("Firing alerts", 'count(ALERTS{alertstate="firing"}) or vector(0)', thresholds=ALARM), 4, 4)
    board.add(stat("Targets down", "count(up == 0) or vector(0)", thresholds=ALARM), 4, 4)
    if settings.is_enabled("cadvisor"):
        board.add(stat("Containers", f"count(container_last_seen{{{CONTAINERS}}})"), 4, 4)
    if settings.is_enabled("node-exporter"):
        _host_panels(board)
    if settings.is_enabled("backup") and settings.is_enabled("node-exporter"):
        age = "time() - media_server_backup_last_success_timestamp_seconds"
        board.add(bargauge("Backup age", age, "{{set}} ({{repository}})", unit="s", maximum=8 * 86400))
        added = [("media_server_backup_bytes_added", "{{set}} ({{repository}})")]
        board.add(timeseries("Backup added per run", added, unit="bytes"))
    return board


def _host_panels(board: Board) -> None:
    board.add(stat("Uptime", "time() - max(node_boot_time_seconds)", unit="s"), 4, 4)
    board.add(stat("CPU cores", 'count(node_cpu_seconds_total{mode="idle"})'), 4, 4)
    board.add(stat("Memory", "max(node_memory_MemTotal_bytes)", unit="bytes"), 4, 4)
    idle = _rate("node_cpu_seconds_total", 'mode="idle"')
    board.add(timeseries("CPU use", [(f"(1 - avg by (host) ({idle})) * 100", "{{host}}")], unit="percent"))
    memory = [("(1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) * 100", "{{host}}")]
    board.add(timeseries("Memory use", memory, unit="percent"))
    used = f"(1 - node_filesystem_avail_bytes{{{FS}}} / node_filesystem_size_bytes{{{FS}}}) * 100"
    board.add(bargauge("Disk use", used, "{{host}} {{mountpoint}}"))
    board.add(timeseries("Free space", [(f"node_filesystem_avail_bytes{{{FS}}}", "{{host}} {{mountpoint}}")], "bytes"))
    board.add(timeseries("Load", [("node_load1", "1m {{host}}"), ("node_load15", "15m {{host}}")]))
    received = _rate("node_network_receive_bytes_total", 'device!="lo"', by="host")
    sent = _rate("node_network_transmit_bytes_total", 'device!="lo"', by="host")
    board.add(timeseries("Network", [(received, "in {{host}}"), (sent, "out {{host}}")], unit="Bps"))


def _service_health(settings: Settings) -> Board:
    board = Board("ms-service-health", "Service Health", "Is every app up: scrapes, probes, health checks, restarts.")
    up_down = {"0": ("down", "red"), "1": ("up", "green")}
    board.add(state_timeline("Scrape targets", "up", "{{job}}", up_down), 12, 10)
    probes = settings.is_enabled("blackbox-exporter")
    if probes:
        ok = {"0": ("failing", "red"), "1": ("ok", "green")}
        probe = f'probe_success{{job="{PROBE_JOB}"}}'
        board.add(state_timeline("Public URLs (blackbox probes)", probe, "{{instance}}", ok), 12, 10)
    if settings.is_enabled("cadvisor"):
        health = {"-1": ("no check", "blue"), "0": ("unhealthy", "red"), "1": ("healthy", "green")}
        state = f"container_health_state{{{CONTAINERS}}}"
        board.add(state_timeline("Docker health checks", state, "{{service}}", health), 12, 10)
        restarts = f"changes(container_start_time_seconds{{{CONTAINERS}}}[1h])"
        board.add(timeseries("Restarts (last hour)", [(restarts, "{{service}}")]), 12, 10)
    if probes:
        duration = f'probe_duration_seconds{{job="{PROBE_JOB}"}}'
        board.add(timeseries("Probe duration", [(duration, "{{instance}}")], unit="s"))
        days = f'(probe_ssl_earliest_cert_expiry{{job="{PROBE_JOB}"}} - time()) / 86400'
        board.add(bargauge("Certificate days left", days, "{{instance}}", unit="d", maximum=90))
    if settings.is_enabled("traefik"):
        errors = _rate("traefik_service_requests_total", 'code=~"5.."', by="exported_service")
        board.add(timeseries("5xx responses by app (Traefik)", [(errors, "{{exported_service}}")], unit="reqps"))
    backends = []
    if settings.is_enabled("postgres-exporter"):
        backends.append(("pg_up", "PostgreSQL"))
    if settings.is_enabled("redis-exporter"):
        backends.append(("redis_up", "Redis"))
    if backends:
        board.add(timeseries("Databases reachable", backends))
    if settings.is_enabled(SEARCH):
        _search_panels(board, settings)
    return board


def _search_panels(board: Board, settings: Settings) -> None:
    """The search service's sources (images/search/mediasearch/metrics.py): how old each one's index is, against
    the SearchSourceStale alert's limit, and what each holds."""
    limit = settings.search.stale_after
    age = f"time() - {SEARCH_LAST_SUCCESS}"
    board.add(
        timeseries(
            "Search: time since each source last indexed",
            [(age, "{{source}}")],
            unit="s",
            description=f"SearchSourceStale fires above search.staleAfter ({limit}); the page at search.<domain> "
            "says why a source is not connected.",
        )
    )
    p95 = "histogram_quantile(0.95, sum by (le) (rate(mediasearch_query_duration_seconds_bucket[5m])))"
    board.add(
        timeseries(
            "Search: documents per source, query p95",
            [("mediasearch_documents", "{{source}}"), (p95, "query p95 (s)")],
            description="Documents in the index per source; the 95th percentile of query latency.",
        )
    )


def _media_apps(settings: Settings) -> list[str]:
    return sorted(s.name for s in settings.enabled_services(Tier.MEDIA) if s.subdomain)


def _media_analytics(settings: Settings) -> Board:
    board = Board(
        "ms-media-analytics",
        "Media Analytics",
        "Streaming traffic, transcoding load and library growth of the media apps.",
    )
    apps = _media_apps(settings)
    if settings.is_enabled("traefik"):
        routes = f'exported_service=~"({_regex(apps)})([-@].*)?"'

        def per_app(metric: str) -> str:
            # Traefik's service names (jellyfin@file) -> the app.
            summed = _rate(metric, routes, by="exported_service")
            return f'label_replace({summed}, "app", "$1", "exported_service", "([^@]+).*")'

        requests = [(per_app("traefik_service_requests_total"), "{{app}}")]
        board.add(timeseries("Requests by media app", requests, unit="reqps"))
        sent = [(per_app("traefik_service_responses_bytes_total"), "{{app}}")]
        board.add(timeseries("Streamed out by media app", sent, unit="Bps", stack=True))
    if settings.is_enabled("cadvisor"):
        media = f'service=~"{_regex(apps)}"'
        cpu = [(_rate("container_cpu_usage_seconds_total", media, by="service"), "{{service}}")]
        board.add(timeseries("CPU of media apps (transcoding)", cpu))
        out = [(_rate("container_network_transmit_bytes_total", media, by="service"), "{{service}}")]
        board.add(timeseries("Network out of media apps", out, unit="Bps"))
    if settings.is_enabled("node-exporter"):
        data = f'mountpoint="/host/data",{FS}'
        used = f"node_filesystem_size_bytes{{{data}}} - node_filesystem_avail_bytes{{{data}}}"
        library = [(used, "used"), (f"node_filesystem_avail_bytes{{{data}}}", "free")]
        board.add(timeseries("Media library filesystem", library, unit="bytes", stack=True))
    if settings.is_enabled("backup") and settings.is_enabled("node-exporter"):
        added = [('media_server_backup_bytes_added{set=~"media|photos"}', "{{set}} ({{repository}})")]
        board.add(timeseries("Media backup size added", added, unit="bytes"))
    if settings.is_enabled("loki") and settings.is_enabled("jellyfin"):
        board.add(logs("Jellyfin playback log", '{service="jellyfin"} |~ "(?i)playback"'), 24, 10)
    if settings.is_enabled("jellystat"):
        stats = settings.url(settings.service("jellystat"))
        note = (
            f"Per-user and per-title play history lives in **Jellystat**: [{stats}]({stats}). "
            "It reads Jellyfin's sessions and keeps its own history in PostgreSQL."
        )
        board.add(text("Play statistics", note), 24, 3)
    return board


def _performance(settings: Settings) -> Board:
    board = Board("ms-performance", "Performance", "Where CPU, memory, disk and network time goes, per container.")
    if settings.is_enabled("cadvisor"):
        cpu = _rate("container_cpu_usage_seconds_total", CONTAINERS, by="service")
        board.add(timeseries("CPU by container (cores)", [(f"topk(10, {cpu})", "{{service}}")]))
        memory = f"topk(10, sum by (service) (container_memory_working_set_bytes{{{CONTAINERS}}}))"
        board.add(timeseries("Memory by container", [(memory, "{{service}}")], unit="bytes"))
        of_limit = (
            f"container_memory_working_set_bytes{{{CONTAINERS}}} "
            f"/ (container_spec_memory_limit_bytes{{{CONTAINERS}}} > 0) * 100"
        )
        board.add(bargauge("Memory of limit", of_limit, "{{service}}"))
        throttled = (
            f"{_rate('container_cpu_cfs_throttled_periods_total', CONTAINERS, by='service')} "
            f"/ {_rate('container_cpu_cfs_periods_total', CONTAINERS, by='service')} * 100"
        )
        board.add(timeseries("CPU throttling", [(throttled, "{{service}}")], unit="percent"))
        writes = f"topk(10, {_rate('container_fs_writes_bytes_total', CONTAINERS, by='service')})"
        board.add(timeseries("Disk writes by container", [(writes, "{{service}}")], unit="Bps"))
    if settings.is_enabled("node-exporter"):
        busy = f"{_rate('node_disk_io_time_seconds_total')} * 100"
        board.add(timeseries("Disk I/O busy", [(busy, "{{host}} {{device}}")], unit="percent"))
    if settings.is_enabled("traefik"):
        buckets = _rate("traefik_service_request_duration_seconds_bucket", by="exported_service, le")
        p95 = [(f"histogram_quantile(0.95, {buckets})", "{{exported_service}}")]
        board.add(timeseries("Response time p95 by app (Traefik)", p95, unit="s"))
    if settings.is_enabled("postgres-exporter"):
        postgres = [
            ("sum by (datname) (pg_stat_database_numbackends)", "connections {{datname}}"),
            (_rate("pg_stat_database_xact_commit", by="datname"), "commits/s {{datname}}"),
        ]
        board.add(timeseries("PostgreSQL", postgres))
    if settings.is_enabled("redis-exporter"):
        hits, misses = _rate("redis_keyspace_hits_total"), _rate("redis_keyspace_misses_total")
        redis = [("redis_memory_used_bytes", "memory"), (f"{hits} / ({hits} + {misses})", "hit ratio")]
        board.add(timeseries("Redis", redis))
    return board


def _security_events(settings: Settings) -> Board:
    board = Board("ms-security-events", "Security Events", "Bans, failed sign-ins and refused requests at the edge.")
    crowdsec, authelia, traefik = (settings.is_enabled(n) for n in ("crowdsec", "authelia", "traefik"))
    if crowdsec:
        local = 'sum(cs_active_decisions{origin=~"crowdsec|cscli"}) or vector(0)'
        board.add(stat("Active local bans", local), 6, 4)
        community = 'sum(cs_active_decisions{origin!~"crowdsec|cscli"}) or vector(0)'
        board.add(stat("Community blocklist", community), 6, 4)
    if authelia:
        failed = 'sum(increase(authelia_authn{success="false"}[24h])) or vector(0)'
        warn = [(None, "green"), (10, "orange"), (50, "red")]
        board.add(stat("Failed sign-ins (24h)", failed, thresholds=warn), 6, 4)
        banned = 'sum(increase(authelia_authn{banned="true"}[24h])) or vector(0)'
        board.add(stat("Banned sign-in attempts (24h)", banned), 6, 4)
    if crowdsec:
        triggers = [("sum by (name) (increase(cs_bucket_overflowed_total[$__rate_interval]))", "{{name}}")]
        board.add(timeseries("Scenario triggers (CrowdSec)", triggers))
        decisions = [("sum by (reason, action) (cs_active_decisions)", "{{action}} {{reason}}")]
        board.add(timeseries("Active decisions by reason", decisions))
    if authelia:
        sign_ins = [
            (_rate("authelia_authn", by="success"), "first factor success={{success}}"),
            (_rate("authelia_authn_second_factor", by="success, type"), "{{type}} success={{success}}"),
        ]
        board.add(timeseries("Sign-ins (Authelia)", sign_ins, unit="reqps"))
    if traefik:
        refused = [(_rate("traefik_entrypoint_requests_total", 'code=~"401|403|429"', by="code"), "{{code}}")]
        board.add(timeseries("Refused at the edge (Traefik)", refused, unit="reqps"))
    if settings.is_enabled("loki"):
        if traefik:
            denied = f'{{log="access"}} |~ "{DENIED_ACCESS}"'
            count = [(f"sum(count_over_time({denied} [5m]))", "refused")]
            board.add(loki_timeseries("Refused requests in the access log", count))
            board.add(logs("Refused requests (Traefik access log)", denied), 24, 10)
        if authelia:
            board.add(
                logs("Failed sign-ins (Authelia log)", '{service="authelia"} |~ "(?i)unsuccessful|banned"'), 12, 10
            )
        if crowdsec:
            board.add(logs("CrowdSec decisions", '{service="crowdsec"} |~ "performed|ban on"'), 12, 10)
    return board


DASHBOARDS = (_system_overview, _service_health, _media_analytics, _performance, _security_events)


def render_dashboards(settings: Settings) -> dict[str, dict[str, Any]]:
    """File name -> dashboard JSON model."""
    out = {}
    for build in DASHBOARDS:
        board = build(settings)
        out[f"{board.uid.removeprefix('ms-')}.json"] = board.render()
    return out
