"""The real promtool (Debian `prometheus`) checks prometheus.yml, the rule files, and runs every rule's unit test.

`promtool test rules` runs one test file per alert group: for every alert,
series that must fire it and series that must not (and, where the rule has
a `for`, an earlier evaluation at which nothing fires yet).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from config.settings import Settings
from render.alerts import (
    RULES_DIR,
    render_rule_file,
    render_rule_test,
    render_rule_tests,
    rule_groups,
)
from render.prometheus import render_prometheus_config
from render.serialise import to_yaml
from tests.monitoring_support import site, stack_settings

pytestmark = pytest.mark.realtool
TESTS = "tests"

SITES = {
    "prod": lambda: stack_settings("prod"),
    "defaults": site,
    "strict-thresholds": lambda: site(
        monitoring={
            "thresholds": {
                "cpuPercent": 70,
                "memoryPercent": 75.5,
                "diskPercent": 60,
                "diskFillWindow": "6h",
                "certificateDays": 30,
                "restarts": 5,
                "restartWindow": "1h",
                "crowdsecDecisions": 3,
                "failedLogins": 4,
                "securityWindow": "30m",
            },
            "backupMaxAge": {"databases": "1h", "media": "14d", "originals": "3d"},
            "backupMaxAgeDefault": "2d",
        }
    ),
}


def _promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: run `make setup-system` (Debian package prometheus)"
    return found


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def _write_site(settings: Settings, root: Path, stack: str = "test") -> Path:
    """prometheus.yml and rules/<group>.yml as in the container; the unit tests in tests/<group>.test.yml."""
    (root / RULES_DIR).mkdir(parents=True)
    (root / TESTS).mkdir()
    (root / "prometheus.yml").write_text(to_yaml(render_prometheus_config(settings, stack)))
    for group in rule_groups(settings):
        (root / RULES_DIR / group.rule_file).write_text(to_yaml(render_rule_file(group)))
        (root / TESTS / group.test_file).write_text(to_yaml(render_rule_test(group, f"../{RULES_DIR}")))
    return root


@pytest.mark.parametrize("name", sorted(SITES))
def test_promtool_checks_config_and_rules(name: str, tmp_path: Path) -> None:
    settings = SITES[name]()
    root = _write_site(settings, tmp_path)
    result = _run("check", "config", "prometheus.yml", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    groups = rule_groups(settings)
    assert f"SUCCESS: {len(groups)} rule files found" in result.stdout + result.stderr
    files = [f"{RULES_DIR}/{group.rule_file}" for group in groups]
    result = _run("check", "rules", *files, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    total = sum(len(group.rules) for group in groups)
    found = sum(int(line.split()[1]) for line in result.stdout.splitlines() if "rules found" in line)
    assert found == total


@pytest.mark.parametrize("name", sorted(SITES))
def test_promtool_unit_tests_every_alert(name: str, tmp_path: Path) -> None:
    settings = SITES[name]()
    root = _write_site(settings, tmp_path)
    groups = rule_groups(settings)
    # One test file per group, and in it a test for every alert of that group.
    for group in groups:
        tested = {check["alertname"] for test in render_rule_test(group)["tests"] for check in test["alert_rule_test"]}
        assert tested == {rule.alert for rule in group.rules}, group.name
        for rule in group.rules:
            assert rule.case.firing, f"{rule.alert}: the test must expect the alert to fire"
            assert len(rule.case.series) > len(rule.case.firing) or rule.alert == "BackupMetricsMissing", rule.alert
    assert set(render_rule_tests(settings)) == {group.test_file for group in groups}
    result = _run("test", "rules", *[f"{TESTS}/{group.test_file}" for group in groups], cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(groups)


def _broken_run(tmp_path: Path, group_name: str, alert: str, edit: Callable[[str], str]) -> str:
    """Rewrite one rule's expression, run its group's unit tests, return promtool's failing output."""
    settings = site()
    root = _write_site(settings, tmp_path)
    group = next(group for group in rule_groups(settings) if group.name == group_name)
    document = render_rule_file(group)
    rule = next(rule for rule in document["groups"][0]["rules"] if rule["alert"] == alert)  # type: ignore[index]
    rule["expr"] = edit(rule["expr"])
    (root / RULES_DIR / group.rule_file).write_text(to_yaml(document))
    result = _run("test", "rules", f"{TESTS}/{group.test_file}", cwd=root)
    assert result.returncode != 0, "promtool accepted a broken rule"
    return result.stdout + result.stderr


def test_a_rule_that_cannot_fire_fails_its_unit_test(tmp_path: Path) -> None:
    """The unit tests have teeth: a threshold nothing reaches, and the firing half fails."""
    output = _broken_run(tmp_path, "host", "DiskAlmostFull", lambda expr: expr.replace("> 85", "> 99.99"))
    assert "DiskAlmostFull" in output


def test_a_rule_that_fires_too_widely_fails_its_unit_test(tmp_path: Path) -> None:
    """...and a rule that fires for healthy series fails the quiet half."""
    output = _broken_run(tmp_path, "availability", "TargetDown", lambda _: "up >= 0")
    assert "TargetDown" in output


def test_search_staleness_fires_for_the_stale_source_only(tmp_path: Path) -> None:
    """The quiet half of SearchSourceStale's test: a source indexed at every scrape, one the service has just
    started reporting and one whose service restarted must not fire (the limit turned round fires them)."""
    output = _broken_run(tmp_path, "search", "SearchSourceStale", lambda expr: expr.replace(") >", ") <"))
    assert 'source="jellyfin"' in output and 'source="immich"' in output and 'source="navidrome"' in output
