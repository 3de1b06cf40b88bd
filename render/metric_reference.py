"""The metric-name reference (config/data/metrics/*.txt): what each scrape job of the stack produces.

Dashboards and alert rules may only use metrics (and labels) listed for a job
the site actually scrapes; tests check them against this reference.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from config.settings import Settings
from render.prometheus import probe_targets, scrape_targets

DATA = Path(__file__).resolve().parent.parent / "config" / "data" / "metrics"
TARGET_LABELS = frozenset({"job", "instance", "host", "service", "tier"})
SYNTHETIC = {
    # Prometheus writes these for every target and for every alerting rule.
    "up": frozenset(),
    "scrape_duration_seconds": frozenset(),
    "scrape_samples_scraped": frozenset(),
    "scrape_series_added": frozenset(),
    "ALERTS": frozenset({"alertname", "alertstate", "severity"}),
    "ALERTS_FOR_STATE": frozenset({"alertname", "severity"}),
}
_LINE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[a-zA-Z0-9_,]*)\})?$")

Reference = dict[str, frozenset[str]]
"""Metric name -> the labels its series carry (target labels not included)."""


@cache
def load(job: str) -> Reference:
    path = DATA / f"{job}.txt"
    metrics: Reference = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise ValueError(f"{path.name}:{number}: expected metric_name or metric_name{{label,...}}, got {line!r}")
        labels = frozenset(filter(None, (match["labels"] or "").split(",")))
        metrics[match["name"]] = labels
    return metrics


def reference_files(settings: Settings) -> list[str]:
    """The reference files that apply to this site: one per scrape job, plus probes and backup textfiles."""
    files = [target.job for target in scrape_targets(settings)]
    if probe_targets(settings):
        files.append("probe")
    if settings.is_enabled("backup") and settings.is_enabled("node-exporter"):
        files.append("backup-textfile")
    return files


def available(settings: Settings) -> Reference:
    """Every metric this site's Prometheus holds, with its labels (target labels included)."""
    out: dict[str, frozenset[str]] = {name: labels | TARGET_LABELS for name, labels in SYNTHETIC.items()}
    for job in reference_files(settings):
        if not (DATA / f"{job}.txt").exists():
            continue  # a job whose metrics no dashboard or rule uses (e.g. an app's own endpoint)
        for name, labels in load(job).items():
            out[name] = out.get(name, frozenset()) | labels | TARGET_LABELS
    return out
