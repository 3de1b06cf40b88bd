"""Under mocks: scrape jobs, probes and the monitoring containers are projections of the catalog.

Every enabled app with a metrics endpoint is a scrape target, every public
URL is probed, a disabled app is neither, and an app added to the catalog
later is monitored with no edit of the monitoring code.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import pytest
import yaml

import config.settings as settings_module
from config.catalog import CATALOG
from config.spec import HealthcheckSpec, MetricsSpec, NetworkName, ServiceSpec, Tier
from offline.recorder import Secret
from offline.report import to_json
from offline.runner import RunResult
from render.alerts import rule_groups
from render.grafana import render_dashboards
from render.prometheus import PROBE_JOB, render_prometheus_config
from render.serialise import to_yaml
from tests.conftest import containers, minimal_config
from tests.edge_support import container, env, generated_password, uploads
from tests.monitoring_support import panels, site, stack_settings

PROD_SECRETS = {"alertSmtpPassword": "smtp-pw", "alertWebhookUrl": "https://hook", "alertTelegramBotToken": "tg"}


def _prometheus_yml(result: RunResult) -> dict[str, Any]:
    return yaml.safe_load(uploads(containers(result)["prometheus"])["/etc/prometheus/prometheus.yml"])


def _scraped(config: dict[str, Any]) -> set[str]:
    return {
        target
        for job in config["scrape_configs"]
        if job["job_name"] != PROBE_JOB
        for static in job["static_configs"]
        for target in static["targets"]
    }


def _probed(config: dict[str, Any]) -> set[str]:
    jobs = [job for job in config["scrape_configs"] if job["job_name"] == PROBE_JOB]
    return {target for job in jobs for static in job["static_configs"] for target in static["targets"]}


def test_every_enabled_app_with_metrics_is_a_scrape_target(prod: RunResult) -> None:
    settings = stack_settings("prod")
    expected = {f"{spec.name}:{spec.metrics.port}" for spec in settings.enabled_services() if spec.metrics is not None}
    deployed = set(containers(prod))
    assert {address.split(":")[0] for address in expected} <= deployed
    assert _scraped(_prometheus_yml(prod)) == expected
    assert prod.exports["monitoring"]["scrapeTargets"] == sorted(expected)
    assert len(expected) == 15  # search (issue 12)


def test_every_public_url_is_probed(prod: RunResult) -> None:
    urls = set(prod.exports["urls"].values())
    probed = _probed(_prometheus_yml(prod))
    assert urls <= probed
    assert probed - urls == {"https://media.example.org"}  # the apex, served by the dashboard app
    job = next(job for job in _prometheus_yml(prod)["scrape_configs"] if job["job_name"] == PROBE_JOB)
    assert job["relabel_configs"][-1]["replacement"] == "blackbox-exporter:9115"


def test_a_disabled_app_is_neither_scraped_nor_probed(run_site: Callable[..., RunResult]) -> None:
    disabled = {"enabled": False}
    # Traefik forward-auths every router to the CrowdSec bouncer: it goes off with it (or the settings refuse).
    without_crowdsec = {"crowdsec": disabled, "crowdsec-bouncer": disabled, "traefik": disabled}
    result = run_site(minimal_config(services={"grafana": disabled, **without_crowdsec}))
    assert result.ok, result.problems
    config = _prometheus_yml(result)
    scraped, probed = _scraped(config), _probed(config)
    assert "grafana:3000" not in scraped and "crowdsec:6060" not in scraped and "traefik:8082" not in scraped
    assert "https://grafana.media.example.org" not in probed
    assert "authelia:9959" in scraped and "https://jellyfin.media.example.org" in probed
    assert "grafana" not in containers(result)
    rules = {rule.alert for group in rule_groups(site(services=without_crowdsec)) for rule in group.rules}
    assert "CrowdSecDecisionSurge" not in rules and "AutheliaFailedLoginSurge" in rules


def test_an_app_added_to_the_catalog_is_monitored_without_code_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    newcomer = ServiceSpec(
        name="newcomer",
        display_name="Newcomer",
        tier=Tier.MEDIA,
        image=CATALOG["navidrome"].image,
        port=8000,
        subdomain="new",
        networks=(NetworkName.PROXY, NetworkName.ADMIN),
        healthcheck=HealthcheckSpec(test=("CMD", "true")),
        metrics=MetricsSpec(port=9999, path="/prom"),
    )
    monkeypatch.setattr(settings_module, "CATALOG", MappingProxyType({**CATALOG, "newcomer": newcomer}))
    settings = site()
    config = render_prometheus_config(settings, "test")
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "newcomer")
    assert job["static_configs"][0]["targets"] == ["newcomer:9999"] and job["metrics_path"] == "/prom"
    assert job["static_configs"][0]["labels"]["service"] == "newcomer"
    assert "https://new.media.example.org" in _probed(config)
    board = render_dashboards(settings)["media-analytics.json"]
    assert any("newcomer" in target["expr"] for panel in panels(board) for target in panel.get("targets", []))


def test_prometheus_shares_a_network_with_every_target(prod: RunResult) -> None:
    found = containers(prod)

    def nets(service: str) -> set[str]:
        return {net["name"] for net in found[service].inputs.get("networksAdvanced") or []}

    for address in _scraped(_prometheus_yml(prod)):
        service = address.split(":")[0]
        assert nets("prometheus") & nets(service), f"Prometheus cannot reach {service}"
    for client, server in (("cadvisor", "socket-proxy"), ("alloy", "socket-proxy"), ("alloy", "loki")):
        assert nets(client) & nets(server), (client, server)
    for backend in ("prometheus", "loki", "alertmanager"):
        assert nets("grafana") & nets(backend), backend
    assert "ms-prod-proxy" in nets("blackbox-exporter")  # probes leave through the proxy network


def test_only_the_socket_proxy_sees_the_docker_socket(prod: RunResult) -> None:
    for name, res in containers(prod).items():
        for volume in res.inputs.get("volumes") or []:
            if "docker.sock" in volume["hostPath"]:
                assert name == "socket-proxy", name
                assert volume["readOnly"] is True
    proxy = containers(prod)["socket-proxy"].inputs
    assert not proxy.get("ports")
    assert [net["name"] for net in proxy["networksAdvanced"]] == ["ms-prod-socket"]
    # Container inspection shows every container's environment: only the two Docker API readers may reach it.
    readers = sorted(
        name
        for name, res in containers(prod).items()
        if any(net["name"] == "ms-prod-socket" for net in res.inputs.get("networksAdvanced") or [])
    )
    assert readers == ["alloy", "cadvisor", "socket-proxy"]
    env = dict(item.split("=", 1) for item in proxy["envs"])
    assert env["POST"] == "0" and env["CONTAINERS"] == "1" and env["EXEC"] == "0" and env["IMAGES"] == "0"
    cadvisor = {v["containerPath"]: v for v in containers(prod)["cadvisor"].inputs["volumes"]}
    assert set(cadvisor) == {"/sys", "/var/lib/docker"} and all(v["readOnly"] for v in cadvisor.values())
    assert "--docker=tcp://socket-proxy:2375" in containers(prod)["cadvisor"].inputs["command"]


def test_node_exporter_reads_backup_metrics_and_sees_the_storage_roots(prod: RunResult) -> None:
    node = containers(prod)["node-exporter"].inputs
    mounts = {v["containerPath"]: (v["hostPath"], v["readOnly"]) for v in node["volumes"]}
    assert mounts["/textfile"] == ("/srv/backups/metrics", True)
    assert mounts["/host/data"] == ("/data", True)
    assert all(read_only for _, read_only in mounts.values())
    assert "--collector.textfile.directory=/textfile" in node["command"]


def test_secrets_stay_secret(prod: RunResult, run_site: Callable[..., RunResult]) -> None:
    found = containers(prod)
    # Written on the host (read-only root): the configuration plain, each receiver credential a secret file.
    alertmanager = {item["file"]: item["content"] for item in found["alertmanager"].host_files}
    assert isinstance(alertmanager["/etc/alertmanager/alertmanager.yml"], str)
    assert all(isinstance(alertmanager[p], Secret) for p in alertmanager if p.startswith("/etc/alertmanager/secrets/"))
    for name in ("jellystat", "postgres-exporter", "redis-exporter"):
        assert isinstance(found[name].inputs["envs"], Secret), name
    # Grafana reads its secrets from GF_*__FILE files: its environment is plain, and holds none.
    grafana_env = found["grafana"].inputs["envs"]
    assert isinstance(grafana_env, list)
    assert "GF_SECURITY_ADMIN_PASSWORD__FILE=/etc/grafana/provisioning/secrets/security_admin_password" in grafana_env
    assert any(item.startswith("GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET__FILE=") for item in grafana_env)
    grafana_files = {item["file"]: item["content"] for item in found["grafana"].host_files}
    assert all(isinstance(grafana_files[p], Secret) for p in grafana_files if "/secrets/" in p)
    assert isinstance(prod.exports["grafanaAdminPassword"], Secret)
    # Real receiver credentials: present in the uploaded file, absent from everything printed.
    result = run_site(
        minimal_config(
            alerts={
                "email": {"to": ["a@example.org"], "sender": "b@example.org", "smarthost": "smtp.example.org:587",
                          "username": "b@example.org"},
                "webhook": {"kind": "slack", "channel": "#alerts"},
                "telegram": {"chatId": 42},
            }
        ),
        secrets=PROD_SECRETS,
    )  # fmt: skip
    assert result.ok, result.problems
    alertmanager = yaml.safe_load(uploads(containers(result)["alertmanager"])["/etc/alertmanager/alertmanager.yml"])
    pager = next(r for r in alertmanager["receivers"] if r["name"] == "pager")
    assert pager["telegram_configs"][0]["bot_token_file"] == "/etc/alertmanager/secrets/alertTelegramBotToken"
    assert pager["slack_configs"][0]["api_url_file"] == "/etc/alertmanager/secrets/alertWebhookUrl"
    assert pager["email_configs"][0]["auth_password_file"] == "/etc/alertmanager/secrets/alertSmtpPassword"
    written = uploads(containers(result)["alertmanager"])
    assert written["/etc/alertmanager/secrets/alertTelegramBotToken"] == "tg"
    assert written["/etc/alertmanager/secrets/alertWebhookUrl"] == "https://hook"
    assert written["/etc/alertmanager/secrets/alertSmtpPassword"] == "smtp-pw"
    printed = to_json(result)
    for value in PROD_SECRETS.values():
        assert f'"{value}"' not in printed and f"{value}\\n" not in printed


def test_uploaded_files_are_the_pure_renders(prod: RunResult) -> None:
    settings = stack_settings("prod")
    files = uploads(containers(prod)["prometheus"])
    assert files["/etc/prometheus/prometheus.yml"] == to_yaml(render_prometheus_config(settings, "prod"))
    rule_files = {path for path in files if path.startswith("/etc/prometheus/rules/")}
    assert rule_files == {f"/etc/prometheus/rules/{group.rule_file}" for group in rule_groups(settings)}
    command = containers(prod)["prometheus"].inputs["command"]
    assert "--storage.tsdb.retention.time=90d" in command and "--storage.tsdb.retention.size=50GB" in command
    loki = yaml.safe_load(uploads(containers(prod)["loki"])["/etc/loki/loki.yaml"])
    assert loki["limits_config"]["retention_period"] == "31d" and loki["compactor"]["retention_enabled"] is True
    grafana = uploads(containers(prod)["grafana"])
    dashboards = {path.rsplit("/", 1)[1] for path in grafana if path.endswith(".json")}
    assert dashboards == set(render_dashboards(settings))
    assert "/etc/alloy/config.alloy" in uploads(containers(prod)["alloy"])


def test_grafana_signs_in_through_authelia(prod: RunResult) -> None:
    env = dict(item.split("=", 1) for item in containers(prod)["grafana"].inputs["envs"])
    assert env["GF_AUTH_GENERIC_OAUTH_CLIENT_ID"] == "grafana"
    assert env["GF_AUTH_GENERIC_OAUTH_AUTH_URL"] == "https://auth.media.example.org/api/oidc/authorization"
    assert env["GF_AUTH_GENERIC_OAUTH_TOKEN_URL"] == "https://auth.media.example.org/api/oidc/token"
    assert env["GF_SERVER_ROOT_URL"] == "https://grafana.media.example.org/"
    files = uploads(containers(prod)["grafana"])
    assert files[env["GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET__FILE"]] and files[env["GF_SECURITY_ADMIN_PASSWORD__FILE"]]


def test_jellystat_uses_its_generated_database_login(prod: RunResult) -> None:
    """The login PostgreSQL's init creates (database:role list, role password) is the one Jellystat signs in with."""
    jellystat, postgres = env(container(prod, "jellystat")), env(container(prod, "postgres"))
    assert (jellystat["POSTGRES_IP"], jellystat["POSTGRES_USER"], jellystat["POSTGRES_DB"]) == (
        "postgres",
        "jellystat",
        "jellystat",
    )
    assert "jellystat:jellystat" in postgres["MS_DATABASES"].split()
    password = generated_password(prod, "secrets-db-jellystat")
    assert jellystat["POSTGRES_PASSWORD"] == postgres["MS_PASSWORD_JELLYSTAT"] == password
    assert jellystat["JWT_SECRET"] == generated_password(prod, "monitoring-jellystat-jwt") != password


def test_dev_stack_has_no_monitoring(dev: RunResult) -> None:
    assert "prometheus" not in containers(dev) and "monitoring" not in dev.exports


def test_receiver_without_its_secret_is_refused(run_site: Callable[..., RunResult]) -> None:
    result = run_site(minimal_config(alerts={"telegram": {"chatId": -100}}))
    assert [str(p) for p in result.problems] == [
        "media-server:alertTelegramBotToken: alerts.telegram is configured; set the bot token with --secret "
        "(got nothing)"
    ]
    assert result.resources == []
