"""The pure renders of the monitoring tier: rules, Alloy, Loki, Grafana, Prometheus."""

from __future__ import annotations

import re

import pytest

from config.settings import Severity
from render.alerts import TARGET_LABELS, backup_age_expr, rule_groups
from render.alloy import LOKI_LABELS, render_alloy_config
from render.grafana import grafana_env, oidc_redirect_uri, render_datasources
from render.loki import render_loki_config
from render.prometheus import host_label, prometheus_flags, render_prometheus_config
from render.serialise import AlloyBlock, AlloyRef, to_alloy
from tests.monitoring_support import site, stack_settings

REQUIRED_ALERTS = {
    "TargetDown": "a service down (scrape)",
    "ProbeFailed": "a service down (probe)",
    "ContainerRestarting": "a container restarting repeatedly",
    "ContainerUnhealthy": "a container unhealthy for 5 minutes",
    "HostHighCpu": "high CPU",
    "ContainerHighCpu": "high CPU (container)",
    "HostHighMemory": "high memory",
    "ContainerHighMemory": "high memory (container)",
    "DiskAlmostFull": "a disk above a threshold",
    "DiskWillFillSoon": "a disk predicted to fill",
    "TlsCertificateExpiring": "a certificate expiring",
    "CrowdSecDecisionSurge": "a surge of CrowdSec decisions",
    "AutheliaFailedLoginSurge": "a surge of failed logins",
    "BackupTooOld": "a backup older than its allowed age",
    "HostDown": "the host-down alert that silences its apps",
}


def _rules(settings=None):  # type: ignore[no-untyped-def]
    return {rule.alert: rule for group in rule_groups(settings or stack_settings("prod")) for rule in group.rules}


def test_the_issue_s_alerts_all_exist_with_severity_and_runbook() -> None:
    rules = _rules()
    assert set(REQUIRED_ALERTS) <= set(rules)
    for rule in rules.values():
        assert rule.severity in (Severity.CRITICAL, Severity.WARNING)
        assert rule.runbook and rule.summary and rule.description
        for text in rule.annotations().values():
            # Only $labels substitutions: the unit tests compute expected annotations exactly.
            assert re.sub(r"\{\{ \$labels\.[a-z_]+ \}\}", "", text).count("{{") == 0, rule.alert
    assert rules["ContainerUnhealthy"].for_ == "5m" and rules["TargetDown"].for_ == "5m"
    assert len(rules) == 24  # SearchSourceStale (issue 12)


def test_aggregating_rules_keep_the_labels_inhibition_and_routing_need() -> None:
    for rule in _rules().values():
        if " by (" in rule.expr and "max by" not in rule.expr and "Container" not in rule.alert:
            assert all(label in rule.expr for label in TARGET_LABELS), rule.alert
        for labels in rule.case.firing:
            if labels:
                assert "host" in labels, rule.alert


def test_thresholds_come_from_settings() -> None:
    rules = _rules(site(monitoring={"thresholds": {"diskPercent": 70, "certificateDays": 21, "failedLogins": 3}}))
    assert rules["DiskAlmostFull"].expr.endswith("> 70")
    assert "< 21" in rules["TlsCertificateExpiring"].expr
    assert "> 3" in rules["AutheliaFailedLoginSurge"].expr


def test_backup_age_is_per_set() -> None:
    expr = backup_age_expr({"databases": "2h", "config": "26h", "originals": "26h", "media": "8d"}, "26h")
    assert '{set="databases"}) > 7200' in expr
    assert '{set=~"config|originals"}) > 93600' in expr
    assert '{set="media"}) > 691200' in expr
    assert '{set!~"config|databases|media|originals"}) > 93600' in expr


def test_rules_follow_what_is_deployed() -> None:
    no_edge = _rules(site(tiers={"edge": False, "media": True, "monitoring": True, "backup": False}))
    assert not {"CrowdSecDecisionSurge", "AutheliaFailedLoginSurge", "OriginCertificateExpiring"} & set(no_edge)
    assert not any(name.startswith("Backup") for name in no_edge)
    assert "TargetDown" in no_edge


def test_alloy_syntax_escapes_and_references() -> None:
    text = to_alloy(
        [
            AlloyBlock(
                "loki.write",
                "x",
                (
                    ("name", 'a "quoted" \\ value\n'),
                    ("flag", True),
                    ("count", 3),
                    ("ref", [AlloyRef("loki.write.default.receiver")]),
                    ("map", {"__path__": "/x"}),
                    AlloyBlock("endpoint", body=(("url", "http://loki:3100"),)),
                ),
            )
        ]
    )
    assert 'name = "a \\"quoted\\" \\\\ value\\n"' in text
    assert "flag = true" in text and "count = 3" in text
    assert "ref = [loki.write.default.receiver]" in text
    assert '"__path__" = "/x",' in text
    assert text.startswith('loki.write "x" {') and "  endpoint {" in text
    with pytest.raises(ValueError, match="not an Alloy reference"):
        AlloyRef("not a ref")
    with pytest.raises(ValueError, match="not an Alloy attribute name"):
        AlloyBlock("a", body=(("bad-name", 1),))


def test_alloy_ships_container_logs_and_traefik_access_log() -> None:
    blocks = {(block.name, block.label): block for block in render_alloy_config(stack_settings("prod"))}
    assert ("loki.source.docker", "containers") in blocks
    assert ("loki.source.file", "traefik_access") in blocks
    relabel = blocks[("discovery.relabel", "containers")]
    targets = {dict(rule.body)["target_label"] for rule in relabel.body if isinstance(rule, AlloyBlock)}
    assert targets <= LOKI_LABELS and {"service", "tier", "container"} <= targets
    docker = dict(item for item in blocks[("discovery.docker", "containers")].body if isinstance(item, tuple))
    assert docker["host"] == "tcp://socket-proxy:2375"
    no_edge = {b.name for b in render_alloy_config(site(tiers={"edge": False}))}
    assert "loki.source.file" not in no_edge


def test_loki_retention() -> None:
    config = render_loki_config(site(monitoring={"lokiRetention": "14d"}))
    assert config["limits_config"]["retention_period"] == "14d"
    assert config["compactor"]["retention_enabled"] is True


def test_prometheus_flags_and_labels() -> None:
    prod = stack_settings("prod")
    flags = prometheus_flags(prod)
    assert "--storage.tsdb.retention.time=90d" in flags and "--storage.tsdb.retention.size=50GB" in flags
    assert "--web.external-url=https://prometheus.media.example.org/" in flags
    assert host_label(prod) == "media-host.example.org" and host_label(site()) == "localhost"
    config = render_prometheus_config(prod, "prod")
    cadvisor = next(job for job in config["scrape_configs"] if job["job_name"] == "cadvisor")
    assert cadvisor["metric_relabel_configs"][0]["target_label"] == "service"
    for job in config["scrape_configs"]:
        assert {"host", "service", "tier"} <= set(job["static_configs"][0]["labels"]), job["job_name"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]


def test_grafana_without_authelia_has_no_oidc() -> None:
    env = grafana_env(site(tiers={"edge": False}), oidc=False)
    assert not any(key.startswith("GF_AUTH_GENERIC_OAUTH") for key in env)
    assert oidc_redirect_uri(stack_settings("prod")) == "https://grafana.media.example.org/login/generic_oauth"
    env = grafana_env(stack_settings("prod"), oidc=True)
    assert env["GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH"] == "contains(groups[*], 'admins') && 'Admin' || 'Viewer'"
    assert "PASSWORD" not in " ".join(env) and "SECRET" not in " ".join(env)


def test_datasources_have_fixed_uids() -> None:
    sources = {s["uid"]: s for s in render_datasources(stack_settings("prod"))["datasources"]}
    assert set(sources) == {"prometheus", "loki", "alertmanager"}
    assert sources["prometheus"]["url"] == "http://prometheus:9090" and sources["prometheus"]["isDefault"] is True
