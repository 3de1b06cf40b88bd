"""MonitoringTier: Prometheus, Alertmanager, Grafana, Loki, Alloy, the exporters and Jellystat.

Every configuration file is rendered by a pure function in render/ and
uploaded into the container that reads it (a changed file replaces only that
container). Scrape jobs, probes, alert rules and dashboard panels are
projections of the catalog and settings. Credentials: the Grafana admin
password and Jellystat's JWT secret are generated here; database logins,
the Redis password and Grafana's OIDC client secret come from SiteSecrets;
alert receiver credentials from secret config. All stay Pulumi secrets.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.layer import LayerArgs, ServiceLayer
from components.secrets import generated_password
from config.settings import Settings
from config.spec import ServiceSpec, Tier
from render.alertmanager import CONFIG_PATH as ALERTMANAGER_CONFIG_PATH
from render.alertmanager import alertmanager_flags, render_alertmanager_config
from render.alertmanager import secret_files as alertmanager_secret_files
from render.alerts import RULES_DIR, render_rule_files, rule_groups
from render.alloy import CONFIG_PATH as ALLOY_CONFIG
from render.alloy import render_alloy_config
from render.blackbox import render_blackbox_config
from render.grafana import (
    DASHBOARD_DIR,
    PROVISIONING,
    grafana_env,
    grafana_secret_files,
    render_dashboard_provider,
    render_dashboards,
    render_datasources,
)
from render.loki import render_loki_config
from render.prometheus import CONFIG_PATH as PROMETHEUS_CONFIG
from render.prometheus import probe_targets, prometheus_flags, render_prometheus_config, scrape_targets
from render.serialise import to_alloy, to_json, to_yaml

PROMETHEUS_DIR = PROMETHEUS_CONFIG.rsplit("/", 1)[0]


def alert_secret_keys(settings: Settings) -> list[str]:
    return sorted(settings.alerts.required_secrets())


class MonitoringTier(ServiceLayer):
    """The monitoring tier: metrics, logs, alerts and dashboards for everything the site runs."""

    tiers = (Tier.MONITORING,)
    grafana_admin_password: pulumi.Output[str] | None
    scrape_targets: list[str]
    probes: list[str]
    alert_rules: int

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:observability:MonitoringTier", name, args, opts)
        settings = self.settings
        self.grafana_admin_password = None
        self.scrape_targets = [target.address for target in scrape_targets(settings)]
        self.probes = [probe.url for probe in probe_targets(settings)]
        self.alert_rules = sum(len(group.rules) for group in rule_groups(settings))

        for spec in self.specs():
            deploy = {
                "prometheus": self._prometheus,
                "alertmanager": self._alertmanager,
                "grafana": self._grafana,
                "loki": self._loki,
                "alloy": self._alloy,
                "blackbox-exporter": self._blackbox,
                "postgres-exporter": self._postgres_exporter,
                "redis-exporter": self._redis_exporter,
                "jellystat": self._jellystat,
            }.get(spec.name)
            if deploy is not None:
                deploy(spec)
            else:
                self.deploy(spec)

        outputs: dict[str, pulumi.Input[object]] = {
            "scrapeTargets": self.scrape_targets,
            "probes": self.probes,
            "alertRules": self.alert_rules,
        }
        if self.grafana_admin_password is not None:
            outputs["grafanaAdminPassword"] = self.grafana_admin_password
        self.finish(**outputs)

    # ------------------------------------------------------------------------------ per service
    def _prometheus(self, spec: ServiceSpec) -> None:
        settings = self.settings
        files: dict[str, pulumi.Input[str]] = {
            PROMETHEUS_CONFIG: to_yaml(render_prometheus_config(settings, self._args.site.stack))
        }
        for file_name, rules in render_rule_files(settings).items():
            files[f"{PROMETHEUS_DIR}/{RULES_DIR}/{file_name}"] = to_yaml(rules)
        self.deploy(spec, files=files, command=prometheus_flags(settings))

    def _alertmanager(self, spec: ServiceSpec) -> None:
        settings = self.settings
        paths = alertmanager_secret_files(settings)
        missing = [key for key in paths if key not in self._args.config_secrets]
        if missing:
            raise ValueError(f"alert receivers need secret config {', '.join(missing)} (set with --secret)")
        self.deploy(
            spec,
            files={ALERTMANAGER_CONFIG_PATH: to_yaml(render_alertmanager_config(settings))},
            secret_files={path: self._args.config_secrets[key] for key, path in paths.items()},
            command=alertmanager_flags(settings),
        )

    def _grafana(self, spec: ServiceSpec) -> None:
        settings = self.settings
        generated = self._args.generated
        admin = generated_password(f"{self._layer_name}-grafana-admin", self, length=32)
        self.grafana_admin_password = admin.result
        # The image's run.sh reads GF_<NAME>__FILE into GF_<NAME> (packaging/docker/run.sh), so the
        # environment stays plain and the secrets are files.
        secret_values: dict[str, pulumi.Input[str]] = {"GF_SECURITY_ADMIN_PASSWORD": admin.result}
        oidc_client = generated.oidc_clients.get("grafana")
        oidc = oidc_client is not None and settings.is_enabled("authelia")
        if oidc and oidc_client is not None:
            secret_values["GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET"] = oidc_client.result
        secret_paths = grafana_secret_files(list(secret_values))
        files: dict[str, pulumi.Input[str]] = {
            f"{PROVISIONING}/datasources/datasources.yaml": to_yaml(render_datasources(settings)),
            f"{PROVISIONING}/dashboards/media-server.yaml": to_yaml(render_dashboard_provider()),
        }
        for file_name, dashboard in render_dashboards(settings).items():
            files[f"{DASHBOARD_DIR}/{file_name}"] = to_json(dashboard)
        self.deploy(
            _with_env(spec, {**grafana_env(settings, oidc), **{f"{var}__FILE": p for var, p in secret_paths.items()}}),
            files=files,
            secret_files={secret_paths[var]: value for var, value in secret_values.items()},
        )

    def _loki(self, spec: ServiceSpec) -> None:
        self.deploy(spec, files={"/etc/loki/loki.yaml": to_yaml(render_loki_config(self.settings))})

    def _alloy(self, spec: ServiceSpec) -> None:
        self.deploy(spec, files={ALLOY_CONFIG: to_alloy(render_alloy_config(self.settings))})

    def _blackbox(self, spec: ServiceSpec) -> None:
        self.deploy(spec, files={"/etc/blackbox_exporter/config.yml": to_yaml(render_blackbox_config(self.settings))})

    def _postgres_exporter(self, spec: ServiceSpec) -> None:
        # The superuser: the shared server has no monitoring role of its own (pg_monitor would need one).
        env = {"DATA_SOURCE_URI": "postgres:5432/postgres?sslmode=disable", "DATA_SOURCE_USER": "postgres"}
        self.deploy(_with_env(spec, env), secret_env={"DATA_SOURCE_PASS": self._args.generated.postgres_superuser})

    def _redis_exporter(self, spec: ServiceSpec) -> None:
        self.deploy(
            _with_env(spec, {"REDIS_ADDR": "redis://redis:6379"}),
            secret_env={"REDIS_PASSWORD": self._args.generated.redis_password},
        )

    def _jellystat(self, spec: ServiceSpec) -> None:
        login = self._args.generated.databases.get(spec.name)
        if login is None:
            raise ValueError("jellystat needs its PostgreSQL login from SiteSecrets (catalog database spec)")
        jwt = generated_password(f"{self._layer_name}-jellystat-jwt", self, length=64)
        env = {
            "POSTGRES_IP": login.server,
            "POSTGRES_PORT": "5432",
            "POSTGRES_USER": login.role,
            "POSTGRES_DB": login.database,
        }
        self.deploy(
            _with_env(spec, env),
            secret_env={"POSTGRES_PASSWORD": login.password, "JWT_SECRET": jwt.result},
        )


def _with_env(spec: ServiceSpec, env: Mapping[str, str]) -> ServiceSpec:
    """The entry with site-specific (non-secret) environment added; the entry's own keys win on conflict."""
    return spec.model_copy(update={"env": {**env, **spec.env}})
