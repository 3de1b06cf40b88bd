"""SSO bypass paths: RE2, one anchored expression, never a UI page, only on apps with a login of their own, and
matched the same way by Traefik (path) and Authelia (path + query)."""

from __future__ import annotations

import json

import pytest

from config.catalog import CATALOG
from config.pathregex import authelia_resource, bypass_problem, compile_re2, matches
from config.problems import SettingsError
from render.authelia import access_rules
from render.routes import site_routes
from tests.edge_support import stack_settings

# The examples, and around them: (regex, the words the refusal must carry).
REFUSED = [
    ("^/api|.*", "alternation outside a group"),
    ("^/(api|.*)$", "matches /, which must stay behind single sign-on"),
    ("^/.*", "not anchored at the end"),
    ("^/api", "not anchored at the end"),
    ("^/.*$", "matches /,"),
    ("^/(index\\.html|api)$", "matches /index.html"),
    ("^/adm.*$", "matches /admin"),
    ("^/a$|^/b$", "alternation outside a group"),
    ("^/api$\n", "whitespace"),
    ("^/api`) || PathPrefix(`/$", "backtick"),
    ("/api/.*$", "not anchored at the start"),
    ("^api/.*$", "does not start with ^/"),
    ("^/api/(?!admin).*$", "invalid perl operator: (?!"),
    ("^/api/(x)\\1$", "invalid escape sequence: \\1"),
    ("^/api/a++$", "bad repetition operator"),
    ("^/api\\Z", "invalid escape sequence: \\Z"),
    ("^/(?i)api$", "inline flags"),
    ("^/api($|/x)$", "inside"),
    ("^/api\\?x$", "query string"),
    ("^/api[?]$", "query string"),
    ("^/api[!-~]$", "class that matches '?'"),
    ("^/api\\S$", "escape \\S"),
    ("^/api\\x3f$", "escape \\x"),
]


@pytest.mark.parametrize(("pattern", "words"), REFUSED)
def test_bypass_path_refused_with_reason(pattern: str, words: str) -> None:
    problem = bypass_problem(pattern)
    assert problem is not None and words in problem, problem


@pytest.mark.parametrize(("pattern", "words"), REFUSED)
def test_settings_refuse_the_bypass_path_naming_the_key(pattern: str, words: str) -> None:
    with pytest.raises(SettingsError) as info:
        stack_settings("prod", services={"sonarr": {"bypassPaths": [pattern]}})
    (problem,) = info.value.problems
    assert problem.key == "media-server:services.sonarr.bypassPaths[0]"
    assert problem.value == json.dumps(pattern) and words in problem.message


def test_every_catalog_bypass_path_is_narrow() -> None:
    declared = [(spec.name, p) for spec in CATALOG.values() for p in spec.bypass_paths]
    assert len(declared) >= 17
    for name, pattern in declared:
        assert bypass_problem(pattern) is None, (name, pattern)
        assert CATALOG[name].own_auth, name
        assert not [u for u in CATALOG[name].ui_paths if matches(pattern, u)], name


@pytest.mark.parametrize("app", ["prometheus", "alertmanager", "traefik", "homepage"])
def test_no_bypass_path_for_an_app_without_its_own_login(app: str) -> None:
    assert not CATALOG[app].own_auth
    with pytest.raises(SettingsError) as info:
        stack_settings("prod", services={app: {"bypassPaths": ["^/api/v1/status$"]}})
    (problem,) = info.value.problems
    assert problem.key == f"media-server:services.{app}.bypassPaths"
    assert "no login of its own" in problem.message


@pytest.mark.parametrize(
    ("app", "pattern", "page"),
    [("jellyfin", "^/web/.*$", "/web/"), ("navidrome", "^/app/.*$", "/app/"), ("sonarr", "^/cal.*$", "/calendar")],
)
def test_no_bypass_path_over_a_page_of_the_apps_ui(app: str, pattern: str, page: str) -> None:
    with pytest.raises(SettingsError) as info:
        stack_settings("prod", services={app: {"bypassPaths": [pattern]}})
    (problem,) = info.value.problems
    assert problem.key == f"media-server:services.{app}.bypassPaths" and f"matches {page}" in problem.message


def test_jellyfin_asset_rule_with_a_query_is_not_bypassed_by_authelia() -> None:
    """The issue's example: Authelia bypassed /web/index.html?x=.js (path + query), Traefik did not (path)."""
    (assets,) = [p for p in CATALOG["jellyfin"].bypass_paths if "web/" in p]
    resource = compile_re2(authelia_resource(assets))
    assert not matches(assets, "/web/index.html")
    assert resource.search("/web/index.html?x=.js") is None
    assert matches(assets, "/web/main.bundle.js") and resource.search("/web/main.bundle.js?v=10.11.3")


SAMPLE_URLS = [
    "/",
    "/?x=/api/v3/a",
    "/index.html",
    "/admin",
    "/api",
    "/api?apikey=1",
    "/api/v3/series",
    "/api/v3/series?includeSeasonImages=true",
    "/apiary",
    "/calendar?x=/api/v3/",
    "/rest/ping.view?u=a&p=b",
    "/app/?x=/rest/",
    "/share/abc",
    "/Users/AuthenticateByName",
    "/Users/AuthenticateByName?x",
    "/web/index.html?x=.js",
    "/web/main.js",
    "/web/main.js?x=1",
    "/Items/1/Images/Primary?tag=a.png",
    "/opds",
    "/opds/search?q=a",
    "/opdsx",
    "/login?next=/api/x",
    "/socket.io/?EIO=4",
    "/.well-known/immich",
    "/.well-known/immich?x",
]


def test_authelia_and_traefik_bypass_the_same_urls() -> None:
    """Authelia matches `path?query` against the resource, Traefik the path against the route: same verdicts."""
    for spec in CATALOG.values():
        for pattern in spec.bypass_paths:
            resource = compile_re2(authelia_resource(pattern))
            for url in SAMPLE_URLS:
                path = url.split("?", 1)[0]
                assert bool(resource.search(url)) == matches(pattern, path), (spec.name, pattern, url)


def test_prod_access_rules_use_the_path_only_resources() -> None:
    settings = stack_settings("prod")
    resources = [r["resources"][0] for r in access_rules(settings) if "resources" in r]
    assert resources == [authelia_resource(r.path) for r in site_routes(settings) if r.path and r.app != "authelia"]
    assert all(".*" not in r.removesuffix("(\\?.*)?$") for r in resources)
