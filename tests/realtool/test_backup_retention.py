"""Retention: snapshots at simulated times (restic --time), then the generated forget policy.

The expected survivors come from an independent model of restic's documented policy (newest
first; a snapshot is kept by a --keep-<period> rule when it is the newest of a period not yet
seen, until the rule's count is used up).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.realtool.backup_env import make_site, require

pytestmark = pytest.mark.realtool

NOW = datetime(2025, 6, 26, 22, 0, tzinfo=UTC)
"""A Thursday: yesterday is in this week, last week's newest is not yesterday, last month's not last week's."""
TIMES = sorted(
    {
        *(NOW - timedelta(hours=h) for h in range(4)),  # the last hours
        *(NOW - timedelta(days=d, hours=3) for d in range(1, 5)),  # the last days
        *(NOW - timedelta(weeks=w, hours=5) for w in range(1, 4)),  # the last weeks
        *(NOW - timedelta(days=31 * m, hours=7) for m in range(1, 4)),  # the last months
        NOW - timedelta(days=200),  # last year
    }
)


def bucket(period: str, t: datetime) -> object:
    if period == "hourly":
        return (t.year, t.month, t.day, t.hour)
    if period == "daily":
        return (t.year, t.month, t.day)
    if period == "weekly":
        return t.isocalendar()[:2]
    if period == "monthly":
        return (t.year, t.month)
    return t.year


def expected_survivors(times: list[datetime], keep: dict[str, int]) -> list[datetime]:
    left = dict(keep)
    last: dict[str, object] = {}
    kept = []
    for t in sorted(times, reverse=True):
        keep_it = False
        for period, count in left.items():
            if count > 0 and bucket(period, t) != last.get(period):
                last[period] = bucket(period, t)
                left[period] = count - 1
                keep_it = True
        if keep_it:
            kept.append(t)
    return sorted(kept)


SMALL = {"hourly": 2, "daily": 2, "weekly": 2, "monthly": 2, "yearly": 2}
DEFAULTS = {"hourly": 24, "daily": 7, "weekly": 4, "monthly": 12, "yearly": 0}


def _site_config(retention: dict[str, int] | None) -> dict[str, object]:
    sets: dict[str, dict[str, object]] = {
        s: {"enabled": s == "config"} for s in ("databases", "config", "metadata", "originals", "media")
    }
    if retention is not None:
        sets["config"]["retention"] = retention
    return {"tiers": {"edge": False}, "backup": {"sets": sets}}


def test_each_rule_of_the_small_policy_keeps_a_snapshot_no_other_rule_keeps() -> None:
    """So the real-restic test below fails when the forget call drops any one --keep-<period>."""
    kept = expected_survivors(TIMES, SMALL)
    for period in SMALL:
        without = expected_survivors(TIMES, {**SMALL, period: 0})
        assert len(set(kept) - set(without)) == 1, period


def test_forget_policy_keeps_exactly_the_expected_snapshots(tmp_path: Path) -> None:
    require("restic", "jq", "flock")
    site = make_site(tmp_path, config=_site_config(None))  # the default retention
    source = site.config_root / "traefik"
    source.mkdir(parents=True)
    (source / "traefik.yml").write_text("entryPoints: {}\n")
    assert site.run("init-repositories.sh").returncode == 0
    host = site.site_json()["host"]

    def snapshot(t: datetime) -> None:
        stamp = t.strftime("%Y-%m-%d %H:%M:%S")
        made = site.restic("config", "backup", "--host", host, "--tag", "set=config", "--time", stamp, str(source))
        assert made.returncode == 0, made.stderr

    with ThreadPoolExecutor(max_workers=2) as pool:  # restic backup takes a shared lock
        list(pool.map(snapshot, TIMES))
    other = site.restic("config", "backup", "--host", "another-host", "--tag", "set=config", str(source))
    assert other.returncode == 0

    def survivors() -> list[datetime]:
        remaining = site.snapshots("config")
        assert [s for s in remaining if s["hostname"] == "another-host"], "groups are per host and set"
        return sorted(datetime.fromisoformat(s["time"]).astimezone(UTC) for s in remaining if s["hostname"] == host)

    # The defaults (24 hourly, 7 daily, 4 weekly, 12 monthly) keep every one of these.
    assert site.run("forget.sh", "config").returncode == 0
    assert survivors() == expected_survivors(TIMES, DEFAULTS) == TIMES

    # A tighter policy from settings, regenerated and applied to the same snapshots.
    site.settings = make_site(tmp_path, config=_site_config(SMALL)).settings
    forget = site.run("forget.sh", "config")
    assert forget.returncode == 0, forget.stderr
    kept = survivors()
    assert kept == expected_survivors(TIMES, SMALL)
    assert len(kept) < len(TIMES)
    assert kept[-1] == NOW, "the newest snapshot always stays"
