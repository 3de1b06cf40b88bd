"""config/search.py without a program run: when Elasticsearch is wanted, and which sources are indexed."""

from __future__ import annotations

from typing import Any

import pytest

from config.search import elasticsearch_wanted, source_plans
from config.stack import parse_settings
from tests.conftest import minimal_config

ES = {"engine": "elasticsearch"}


@pytest.mark.parametrize(
    ("overrides", "wanted"),
    [
        ({"search": ES}, True),
        ({"search": ES, "services": {"search": {"enabled": True}}}, True),  # the same switch, said twice
        ({"search": ES, "services": {"search": {"enabled": False}}}, False),  # the service is off
        ({}, False),  # the embedded engine needs no node
    ],
)
def test_elasticsearch_is_wanted_only_by_a_running_search_on_it(overrides: dict[str, Any], wanted: bool) -> None:
    assert elasticsearch_wanted(parse_settings(minimal_config(**overrides))) is wanted


def test_a_source_is_indexed_exactly_when_nothing_stops_it() -> None:
    plans = source_plans(parse_settings(minimal_config(services={"navidrome": {"enabled": False}})))
    assert plans and all(plan.indexed is (plan.reason == "") for plan in plans)
    navidrome = next(plan for plan in plans if plan.source == "navidrome")
    assert not navidrome.indexed and "is not deployed on this site (services.navidrome.enabled)" in navidrome.reason


def test_search_without_the_calibre_source_keeps_its_own_mounts() -> None:
    """Turning the Calibre source off drops only the library mount, never the config, keys or index."""
    settings = parse_settings(minimal_config(search={"sources": {"calibre-web": {"enabled": False}}}))
    targets = [m.target for m in settings.service("search").mounts]
    assert "/books" not in targets
    assert {"/config", "/run/secrets/search", "/index"} <= set(targets)
