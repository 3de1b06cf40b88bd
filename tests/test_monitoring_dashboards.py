"""Dashboards and alert rules use only what this stack provides.

Every data source UID a dashboard names is provisioned; every metric a panel
or an alert rule reads is produced by a scrape job of the site (the per-exporter
reference in config/data/metrics), with labels those series carry; every Loki
stream selector uses labels Alloy sets.
"""

from __future__ import annotations

from typing import Any

import pytest

from config.catalog import CATALOG
from config.settings import Settings
from render.alerts import rule_groups
from render.alloy import LOKI_LABELS
from render.grafana import render_dashboards, render_datasources
from render.metric_reference import DATA, Reference, available, load, reference_files
from tests.monitoring_support import QueryUse, loki_selectors, panels, promql_use, site, stack_settings

REQUIRED_DASHBOARDS = {"System Overview", "Service Health", "Media Analytics", "Performance", "Security Events"}


def _sites() -> dict[str, Settings]:
    return {
        "prod": stack_settings("prod"),
        "defaults": site(),
        "no-edge": site(tiers={"edge": False, "media": True, "monitoring": True, "backup": False}),
        "lean": site(
            tiers={"edge": True, "media": True, "monitoring": True, "backup": True},
            services={name: {"enabled": False} for name in ("cadvisor", "blackbox-exporter", "loki", "alloy")},
        ),
        "bare": site(
            services={
                name: {"enabled": False}
                for name in ("node-exporter", "cadvisor", "blackbox-exporter", "postgres-exporter", "redis-exporter")
            }
        ),
    }


SITES = _sites()


def _check_promql(expr: str, metrics: Reference, where: str) -> QueryUse:
    use = promql_use(expr)
    assert use.selectors, f"{where}: no metric in {expr!r}"
    seen: set[str] = set(use.created)
    for name, labels in use.selectors:
        assert name is not None, f"{where}: selector without a metric name in {expr!r}"
        assert name in metrics, f"{where}: {name} is produced by no scrape job of this site ({expr!r})"
        unknown = labels - metrics[name]
        assert not unknown, f"{where}: {name} has no label(s) {sorted(unknown)} ({expr!r})"
        seen |= metrics[name]
    unknown_grouping = use.grouping - seen
    assert not unknown_grouping, f"{where}: grouping by {sorted(unknown_grouping)} that no series has ({expr!r})"
    return use


def _check_logql(expr: str, where: str) -> None:
    selectors = loki_selectors(expr)
    assert selectors, f"{where}: no stream selector in {expr!r}"
    for matchers in selectors:
        unknown = set(matchers) - LOKI_LABELS
        assert not unknown, f"{where}: Alloy sets no label {sorted(unknown)} ({expr!r})"
        if "service" in matchers:
            assert matchers["service"] in CATALOG, f"{where}: no catalog service {matchers['service']!r}"


@pytest.mark.parametrize("name", sorted(SITES))
def test_the_five_dashboards_exist(name: str) -> None:
    titles = {board["title"] for board in render_dashboards(SITES[name]).values()}
    assert titles == REQUIRED_DASHBOARDS


@pytest.mark.parametrize("name", sorted(SITES))
def test_dashboard_datasources_resolve(name: str) -> None:
    settings = SITES[name]
    provisioned = {source["uid"]: source["type"] for source in render_datasources(settings)["datasources"]}
    assert len(provisioned) == len(render_datasources(settings)["datasources"])
    for file_name, board in render_dashboards(settings).items():
        assert board["uid"] and len(board["uid"]) <= 40
        for panel in panels(board):
            refs: list[dict[str, Any]] = [panel["datasource"]] if "datasource" in panel else []
            refs += [target["datasource"] for target in panel.get("targets", []) if "datasource" in target]
            if panel["type"] != "text":
                assert refs, f"{file_name}: panel {panel['title']!r} names no data source"
            for ref in refs:
                assert ref["uid"] in provisioned, f"{file_name}: {panel['title']!r} uses unknown uid {ref['uid']}"
                assert provisioned[ref["uid"]] == ref["type"], f"{file_name}: {panel['title']!r}"


@pytest.mark.parametrize("name", sorted(SITES))
def test_every_panel_query_uses_metrics_this_site_produces(name: str) -> None:
    settings = SITES[name]
    metrics = available(settings)
    queries = 0
    for file_name, board in render_dashboards(settings).items():
        for panel in panels(board):
            for target in panel.get("targets", []):
                where = f"{file_name} / {panel['title']}"
                if target["datasource"]["type"] == "prometheus":
                    _check_promql(target["expr"], metrics, where)
                else:
                    _check_logql(target["expr"], where)
                queries += 1
    assert queries >= 10


@pytest.mark.parametrize("name", sorted(SITES))
def test_every_alert_rule_uses_metrics_this_site_produces(name: str) -> None:
    settings = SITES[name]
    metrics = available(settings)
    groups = rule_groups(settings)
    checked = 0
    for group in groups:
        assert group.rules, f"{group.name}: an empty rule group"
        for rule in group.rules:
            _check_promql(rule.expr, metrics, f"{group.name}/{rule.alert}")
            checked += 1
    # Even the barest site alerts on availability, certificates and monitoring itself.
    assert {"availability", "certificates", "monitoring"} <= {g.name for g in groups}
    assert checked >= 5


def test_reference_files_parse_and_every_job_with_a_file_is_scraped() -> None:
    files = {path.stem for path in DATA.glob("*.txt")}
    settings = SITES["prod"]
    jobs = set(reference_files(settings))
    for stem in files:
        assert load(stem), stem
        assert stem in jobs or stem in CATALOG, f"{stem}.txt names no catalog entry or job"
    # Everything the dashboards lean on has a reference.
    assert {"node-exporter", "cadvisor", "probe", "traefik", "authelia", "crowdsec", "backup-textfile"} <= files


def test_a_disabled_exporter_takes_its_panels_with_it() -> None:
    every = [panel for board in render_dashboards(SITES["lean"]).values() for panel in panels(board)]
    exprs = [target["expr"] for panel in every for target in panel.get("targets", [])]
    assert not any("container_" in expr for expr in exprs)
    assert not any("probe_" in expr for expr in exprs)
    assert not any(panel.get("datasource", {}).get("uid") == "loki" for panel in every)


def test_media_analytics_follows_the_catalog() -> None:
    prod = SITES["prod"]
    board = render_dashboards(prod)["media-analytics.json"]
    text = " ".join(t["expr"] for p in panels(board) for t in p.get("targets", []))
    for app in ("jellyfin", "navidrome", "audiobookshelf", "immich-server", "kavita", "calibre-web"):
        assert app in text, app
    without_kavita = site(services={"kavita": {"enabled": False}})
    text = " ".join(
        t["expr"]
        for p in panels(render_dashboards(without_kavita)["media-analytics.json"])
        for t in p.get("targets", [])
    )
    assert "kavita" not in text
