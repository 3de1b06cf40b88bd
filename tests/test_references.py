"""No component is left pointing at one that is off (issue 11, finding 8).

Every reference one deployed container makes to another (an address such as
`http://crowdsec-bouncer:8080` in its env, command or generated files) is
found in a full site's run. For each pair, switching the referenced app off
is either refused by the settings with a message naming both (the catalog's
depends_on), or the reference follows: the run registers no reference to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from config.catalog import CATALOG
from config.problems import SettingsError
from config.stack import parse_settings
from offline.recorder import Secret
from offline.runner import RunResult, run_program
from tests.conftest import PROD_SECRETS, as_stack, containers
from tests.edge_support import stack_raw


def _text(value: Any) -> Iterator[str]:
    if isinstance(value, Secret):
        yield from _text(value.value)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "image":  # image references (postgres:17) are not addresses
                yield from _text(item)
    elif isinstance(value, list):
        for item in value:
            yield from _text(item)
    elif isinstance(value, str):
        yield value


def _address(name: str) -> re.Pattern[str]:
    """`name` used as a host: after // or a non-name character, before :port (or a path after //)."""
    return re.compile(rf"(?:(?<=//)|(?<![\w./@-])){re.escape(name)}(?=:[0-9])|//{re.escape(name)}(?=/)")


def references(result: RunResult) -> set[tuple[str, str]]:
    """(referrer, referenced) for every container naming another catalog app as a host."""
    pairs = set()
    for service, res in containers(result).items():
        text = "\n".join([*_text(res.inputs), *_text(res.host_files or [])])
        pairs |= {(service, other) for other in CATALOG if other != service and _address(other).search(text)}
    return pairs


def _prod_raw() -> dict[str, Any]:
    return stack_raw("prod")


def _without(raw: dict[str, Any], name: str) -> dict[str, Any]:
    services = {**raw.get("services", {}), name: {**raw.get("services", {}).get(name, {}), "enabled": False}}
    return {**raw, "services": services}


@pytest.fixture(scope="module")
def full() -> RunResult:
    result = run_program(as_stack(_prod_raw(), name="prod", secrets=PROD_SECRETS))
    assert result.ok, result.problems
    return result


def test_the_scan_finds_the_references_the_issue_names(full: RunResult) -> None:
    pairs = references(full)
    assert {("traefik", "crowdsec-bouncer"), ("traefik", "authelia"), ("grafana", "prometheus")} <= pairs
    assert ("crowdsec-bouncer", "crowdsec") in pairs and ("alloy", "loki") in pairs


def _switch_off(raw: dict[str, Any], name: str) -> tuple[set[str], list[str]]:
    """Switch `name` off, then each app the settings say needs something off, until they accept the site.
    Returns the apps off and the settings' messages on the way (each names the app and what it needs)."""
    off, said = {name}, []
    for _ in range(len(CATALOG)):
        site = raw
        for app in sorted(off):
            site = _without(site, app)
        try:
            parse_settings(site)
        except SettingsError as exc:
            needing = {
                p.key.split(".")[1] for p in exc.problems if p.key.endswith(".enabled") and " needs " in p.message
            }
            assert needing - off, [str(p) for p in exc.problems]  # refused for another reason than a dependency
            said += [p.message for p in exc.problems]
            off |= needing
            continue
        return off, said
    raise AssertionError(f"switching {name} off never settles")


def _batches(pairs: set[tuple[str, str]], offs: dict[str, set[str]]) -> list[list[str]]:
    """Referenced apps grouped so that one run checks each group: a group switches off no referrer of a member
    that the member's own switch-off would have left on (each run costs seconds; one per app would be minutes)."""
    referrers = {r: {a for a, b in pairs if b == r} for r in offs}
    groups: list[list[str]] = []
    for name in sorted(offs):
        for group in groups:
            union = set().union(offs[name], *(offs[m] for m in group))
            if all(referrers[m] & union <= offs[m] for m in (*group, name)):
                group.append(name)
                break
        else:
            groups.append([name])
    return groups


def test_every_reference_is_refused_or_follows(full: RunResult) -> None:
    pairs = references(full)
    raw = _prod_raw()
    offs: dict[str, set[str]] = {}
    for name in sorted({b for _, b in pairs}):
        off, said = _switch_off(raw, name)
        for referrer in sorted(off - {name}):
            # Refused first: the settings name the app that needs it and what it needs.
            assert any(m.startswith(f"{referrer} needs ") for m in said), (referrer, said)
        offs[name] = off
    checked = set()
    for group in _batches(pairs, offs):
        off = set().union(*(offs[m] for m in group))
        site = raw
        for app in sorted(off):
            site = _without(site, app)
        result = run_program(as_stack(site, name="prod", secrets=PROD_SECRETS))
        assert result.ok, result.problems
        dangling = sorted((a, b) for a, b in references(result) if b in off)
        assert dangling == [], f"{sorted(off)} off, yet still addressed: {dangling}"
        checked |= set(group)
    assert checked == set(offs)


def test_the_issue_pairs_are_refused_naming_both() -> None:
    for referenced, referrer in (("crowdsec-bouncer", "traefik"), ("authelia", "traefik"), ("prometheus", "grafana")):
        off, said = _switch_off(_prod_raw(), referenced)
        assert referrer in off
        assert f"{referrer} needs {referenced}, which is disabled" in " ".join(said)


def test_crowdsec_off_names_traefik_and_the_bouncer() -> None:
    raw = _prod_raw()
    with pytest.raises(SettingsError) as info:
        parse_settings(_without(raw, "crowdsec-bouncer"))
    assert [str(p) for p in info.value.problems] == [
        "media-server:services.traefik.enabled: traefik needs crowdsec-bouncer, which is disabled; expected "
        "services.crowdsec-bouncer.enabled true, or traefik disabled (got true)"
    ]


def test_edge_tier_off_with_cloudflare_is_an_error_not_a_silent_drop() -> None:
    raw = {**_prod_raw(), "tiers": {"edge": False}}
    with pytest.raises(SettingsError) as info:
        parse_settings(raw)
    assert [p.key for p in info.value.problems] == ["media-server:tiers.edge"]
    assert "cloudflare.enabled is true, but Cloudflare fronts the edge tier" in info.value.problems[0].message


def test_without_traefik_the_summary_prints_no_urls(run_site: Any) -> None:
    result = run_site({"domain": "media.example.org", "host": {"mode": "local"}, "tiers": {"edge": False}})
    assert result.ok and result.exports["urls"] == {}
