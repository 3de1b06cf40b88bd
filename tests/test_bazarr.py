"""Bazarr, the README's worked example of adding an app: each projection of its one catalog entry.

The generic tests (test_catalog, test_image_facts, test_proxy, test_auth, test_backup, test_policy_pack) already
hold every entry to the catalog's rules; these pin what is particular to Bazarr, so that an edit to its entry that
opens its socket, splits its paths from Sonarr's or drops a fact's source fails here by name.
"""

from __future__ import annotations

import re
import textwrap

import pytest

from config.catalog import BAZARR_API, CATALOG
from config.facts import version_key
from config.image_facts import FACTS
from config.pathregex import matches
from config.problems import SettingsError
from config.stack import parse_settings
from offline.runner import RunResult
from render import traefik
from render.authelia import access_rules
from render.backup import RunnerLayout, backup_sets
from render.homepage import render_services
from render.routes import site_routes
from tests.conftest import containers, minimal_config
from tests.edge_support import stack_raw, stack_settings

BAZARR = {"bazarr": {"enabled": True}}
API_CALLS = ("/api/system/ping", "/api/series", "/api/episodes/wanted", "/api/system/account", "/api/webhooks/plex")
"""What API clients call (bazarr/api/*/: the namespaces' routes), all with the key but ping and the form login."""
STAYS_BEHIND_SSO = ("/", "/series", "/settings/general", "/api/", "/api/socket.io/", "/bazarr.log", "/images/series/1")
"""The UI, Swagger's page (/api/), the socket whose events need no key, and two routes its own login skips."""


def _authelia_match(resource: str, path: str, query: str = "") -> bool:
    """Authelia matches `resources` against the cleaned path plus `?` and the raw query (Go regexp: RE2)."""
    return matches(resource, f"{path}?{query}" if query else path)


def test_optional_off_by_default_on_in_prod() -> None:
    assert CATALOG["bazarr"].enabled_by_default is False
    assert not parse_settings(minimal_config()).is_enabled("bazarr")
    assert not stack_settings("dev").is_enabled("bazarr")
    assert stack_settings("prod").is_enabled("bazarr")
    assert stack_raw("prod")["services"]["bazarr"] == {"enabled": True}


def test_needs_sonarr_and_radarr() -> None:
    for missing in ("sonarr", "radarr"):
        with pytest.raises(SettingsError) as info:
            parse_settings(minimal_config(services={**BAZARR, missing: {"enabled": False}}))
        assert [str(p) for p in info.value.problems] == [
            f"media-server:services.bazarr.enabled: bazarr needs {missing}, which is disabled; "
            f"expected services.{missing}.enabled true, or bazarr disabled (got true)"
        ]


def test_container_drops_to_the_site_user_with_the_init_capabilities(prod: RunResult) -> None:
    bazarr = containers(prod)["bazarr"]
    env = dict(item.split("=", 1) for item in bazarr.inputs["envs"])
    assert (env["PUID"], env["PGID"], env["UMASK"]) == ("1000", "1000", "002")
    (image,) = [r for r in prod.of_type("docker:index/remoteImage:RemoteImage") if r.name == "media-bazarr-image"]
    assert image.inputs["name"] == "lscr.io/linuxserver/bazarr:1.6.0"
    assert sorted(bazarr.inputs["capabilities"]["adds"]) == sorted(FACTS["bazarr"].entrypoint.capabilities)
    assert [n["name"] for n in bazarr.inputs["networksAdvanced"]] == ["ms-prod-proxy", "ms-prod-media"]


def test_sees_the_data_tree_where_sonarr_and_radarr_do(prod: RunResult) -> None:
    """Sonarr reports /data/media/tv/...: Bazarr writes the .srt beside that file, so the paths must be the same."""
    found = containers(prod)

    def volumes(name: str) -> dict[str, tuple[str, bool]]:
        return {v["containerPath"]: (v["hostPath"], v.get("readOnly", False)) for v in found[name].inputs["volumes"]}

    bazarr = volumes("bazarr")
    assert bazarr == {"/config": ("/opt/mediaserver/bazarr", False), "/data": ("/data", False)}
    assert volumes("sonarr")["/data"] == volumes("radarr")["/data"] == bazarr["/data"]


def test_healthcheck_asks_the_unauthenticated_ping_with_a_tool_the_pinned_build_has(prod: RunResult) -> None:
    spec = CATALOG["bazarr"]
    assert spec.healthcheck is not None
    assert spec.healthcheck.test == ("CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:6767/api/system/ping")
    assert containers(prod)["bazarr"].inputs["healthcheck"]["tests"] == list(spec.healthcheck.test)
    curl = FACTS["bazarr"].binaries["curl"].source
    assert (curl.repo, curl.path, curl.verified) == ("linuxserver/docker-bazarr", "package_versions.txt", True)
    # The facts were read at the linuxserver build of the catalog's release: v1.6.0-lsNN is a build of 1.6.0.
    assert version_key(curl.ref)[0] == version_key(spec.image.tag)[0] and re.fullmatch(r"v1\.6\.0-ls\d+", curl.ref)
    assert FACTS["bazarr"].user.source.ref == curl.ref and FACTS["bazarr"].user.name == "root"
    assert FACTS["bazarr"].writes.paths == ("/config", "/data")


@pytest.mark.parametrize("path", API_CALLS)
def test_api_clients_reach_the_api_without_sso(path: str) -> None:
    routers = traefik.render_dynamic(stack_settings("prod"))["http"]["routers"]
    assert routers["bazarr-bypass-1"]["rule"].endswith(f"&& PathRegexp(`{BAZARR_API}`)")
    assert matches(BAZARR_API, path)
    (rule,) = [r for r in access_rules(stack_settings("prod")) if r["domain"] == ["bazarr.media.example.org"]][:1]
    assert rule["policy"] == "bypass" and _authelia_match(rule["resources"][0], path, "apikey=x")


@pytest.mark.parametrize("path", STAYS_BEHIND_SSO)
def test_ui_socket_and_log_stay_behind_two_factor(path: str) -> None:
    settings = stack_settings("prod")
    rules = [r for r in access_rules(settings) if r["domain"] == ["bazarr.media.example.org"]]
    bypass, app = rules
    assert not matches(BAZARR_API, path)
    assert not _authelia_match(bypass["resources"][0], path) and not _authelia_match(bypass["resources"][0], path, "x")
    assert app == {"domain": ["bazarr.media.example.org"], "policy": "two_factor", "subject": ["group:admins"]}
    assert "authelia" in traefik.render_dynamic(settings)["http"]["routers"]["bazarr"]["middlewares"]


def test_a_wider_bypass_would_open_the_socket() -> None:
    """The guard above is not vacuous: the arrs' style ^/api/.*$ would let anyone watch Bazarr's events."""
    assert matches(r"^/api/.*$", "/api/socket.io/") and not matches(BAZARR_API, "/api/socket.io/")


def test_its_login_is_rate_limited_where_cloudflare_does_not_see_it() -> None:
    dev = parse_settings({**stack_raw("dev"), "services": {**stack_raw("dev")["services"], **BAZARR}})
    (login,) = [r for r in site_routes(dev) if r.app == "bazarr" and r.login]
    assert (login.name, login.login, login.policy.value) == ("bazarr-login-1", "/api/system/account", "bypass")
    assert "login-rate-limit" in traefik.render_dynamic(dev)["http"]["routers"]["bazarr-login-1"]["middlewares"]
    assert not [r for r in site_routes(stack_settings("prod")) if r.app == "bazarr" and r.login]  # proxied


def test_backed_up_with_its_database_copied_online() -> None:
    sets = backup_sets(stack_settings("prod"), RunnerLayout())
    assert "/source/config/bazarr" in sets["config"]["services"]["bazarr"]
    assert {s["source"] for s in sets["databases"]["sqlite"] if s["service"] == "bazarr"} == {
        "/source/config/bazarr/db/bazarr.db"
    }
    exclude = set(sets["config"]["exclude"])
    assert {f"/source/config/bazarr/{d}/**" for d in ("log", "cache", "backup", "restore")} <= exclude
    assert "/source/config/bazarr/db/bazarr.db" in exclude  # the live file: the databases set holds its copy


def test_dashboard_tile_with_a_status_dot_on_the_ping() -> None:
    services = render_services(stack_settings("prod"))
    tiles = {name: tile for group in services for items in group.values() for i in items for name, tile in i.items()}
    assert tiles["Bazarr"] == {
        "href": "https://bazarr.media.example.org",
        "description": "Subtitles",
        "icon": "bazarr.png",
        "siteMonitor": "http://bazarr:6767/api/system/ping",
    }
    (group,) = [g for g in services if any("Bazarr" in item for item in next(iter(g.values())))]
    assert list(group) == ["Content management"]


def test_a_site_cannot_widen_the_bypass_over_the_socket() -> None:
    with pytest.raises(SettingsError) as info:
        parse_settings(minimal_config(services={"bazarr": {"enabled": True, "bypassPaths": ["^/api/.*$"]}}))
    (problem,) = [str(p) for p in info.value.problems]
    assert problem.startswith(
        "media-server:services.bazarr.bypassPaths: bazarr bypass path ^/api/.*$ matches /api/socket.io/"
    )


def test_the_readmes_worked_example_is_the_entry() -> None:
    """The README's excerpt of the entry, run in the catalog's namespace, builds exactly the catalog's Bazarr."""
    import config.catalog as catalog_module
    from offline.runner import ROOT

    readme = (ROOT / "README.md").read_text()
    start = readme.index("\n## Adding an app, by example: Bazarr\n")
    section = readme[start : readme.index("\n## ", start + 1)]
    entry, facts = (textwrap.dedent(block) for block in re.findall(r"```python\n(.*?)```", section, re.DOTALL))
    assert eval(entry, vars(catalog_module)) == CATALOG["bazarr"]  # noqa: S307 - the repository's own README
    build = FACTS["bazarr"].binaries["curl"].source.ref
    assert facts.startswith('_FACTS["bazarr"] = _lsio(\n    "bazarr",\n    ' + f'"{build}",')
    assert f"@ `{build}`" in section and f'"{CATALOG["bazarr"].image.tag}"' in entry
