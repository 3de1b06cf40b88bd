"""The search service as a service of the platform (issue 12): container, files, secrets, route, widget,
monitoring, settings, and Elasticsearch only for its engine.

What the program renders for the service is loaded with the service's own loader
(images/search/mediasearch/config.py, `parse`), so the two sides of search.json cannot drift.
"""

from __future__ import annotations

import base64
import io
import json
import tarfile
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from mediasearch.config import ConfigError, parse
from mediasearch.model import SOURCES

from config.catalog import CATALOG
from config.problems import SettingsError
from config.search import (
    CONFIG_FILE,
    ELASTIC_PASSWORD_FILE,
    LISTEN_PORT,
    SECRET_KEYS,
    SOURCE_APPS,
    key_file,
    missing_key_reason,
    source_plans,
)
from config.settings import Settings
from config.stack import parse_settings
from offline.recorder import Recorded, Secret
from offline.runner import RunResult, run_program
from render.alerts import SEARCH_LAST_SUCCESS, rule_groups
from render.authelia import access_rules
from render.grafana import render_dashboards
from render.homepage import CONFIG_DIR as HOMEPAGE_CONFIG
from render.prometheus import render_prometheus_config
from render.routes import site_routes
from render.search import render_search_config
from tests.conftest import PROD_SECRETS, as_stack, containers, minimal_config
from tests.edge_support import env, stack_raw, stack_settings, unwrap, uploads
from tests.monitoring_support import panels

SEARCH_SECRETS = {key for key, _ in SECRET_KEYS.values()}
ES_ENGINE = {"engine": "elasticsearch"}


def _search(result: RunResult) -> Recorded:
    found: Recorded = containers(result)["search"]
    return found


def _config(result: RunResult) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(uploads(_search(result))[CONFIG_FILE])
    return loaded


def _sources(result: RunResult) -> dict[str, dict[str, Any]]:
    return {source["app"]: source for source in _config(result)["sources"]}


def _volumes(res: Recorded) -> dict[str, tuple[str, bool]]:
    return {v["containerPath"]: (v["hostPath"], v.get("readOnly", False)) for v in unwrap(res.inputs["volumes"])}


def _written_secrets(result: RunResult) -> dict[str, tarfile.TarInfo]:
    """The archive the secret write command hands the host: its files, by host path."""
    (command,) = [r for r in result.resources if r.name == "media-search-files-write-secrets"]
    stdin = command.inputs["stdin"]
    assert isinstance(stdin, Secret), "the secret files' archive reached the engine as a plain input"
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(str(stdin.value)))) as tar:
        return {"/" + m.name: m for m in tar.getmembers() if m.isfile() and not m.name.endswith("-secrets")}


def _es_site() -> dict[str, Any]:
    raw = stack_raw("prod")
    return {
        **raw,
        "search": {**raw["search"], **ES_ENGINE},
        "services": {**raw["services"], "elasticsearch": {"memory": "3g"}},
    }


@pytest.fixture(scope="module")
def with_es() -> RunResult:
    result = run_program(as_stack(_es_site(), name="prod", secrets=PROD_SECRETS))
    assert result.ok, result.problems
    return result


# ------------------------------------------------------------------ the two sides of search.json
def test_the_program_knows_every_source_the_service_has_a_connector_for() -> None:
    assert tuple(SOURCE_APPS) == SOURCES
    assert set(SECRET_KEYS) == set(SOURCES) - {"calibre-web"}


def test_the_immich_key_documented_is_the_narrowest_the_connector_works_with() -> None:
    from mediasearch.connectors.immich import REQUIRED_PERMISSIONS

    described = SECRET_KEYS["immich"][1]
    listed = described.split("needs: ", 1)[1].split(" (", 1)[0]
    assert listed.split(", ") == sorted(REQUIRED_PERMISSIONS)


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_what_each_stack_renders_loads_with_the_services_own_loader(stack: str, request: pytest.FixtureRequest) -> None:
    result: RunResult = request.getfixturevalue(stack)
    loaded = parse(_config(result))
    assert loaded.engine.kind == "sqlite" and loaded.engine.path == "/index/search.db"
    assert [s.app for s in loaded.sources] == list(SOURCES)
    assert loaded.public_url == f"https://search.{stack_settings(stack).domain}"
    assert (loaded.incremental_seconds, loaded.full_seconds, loaded.source_timeout_seconds) == (900, 86400, 60)


def test_the_elasticsearch_engine_renders_what_the_service_loads(with_es: RunResult) -> None:
    engine = parse(_config(with_es)).engine
    assert (engine.kind, engine.url, engine.index) == ("elasticsearch", "http://elasticsearch:9200", "media-search")
    assert (engine.user, engine.password_file) == ("elastic", ELASTIC_PASSWORD_FILE)


@pytest.mark.parametrize(
    ("schedule", "timeout"),
    [({"incremental": "1m", "full": "5m"}, "1s"), ({"incremental": "7d", "full": "30d"}, "1h")],
)
def test_both_ends_of_every_allowed_range_load(schedule: dict[str, str], timeout: str) -> None:
    """The settings' bounds are the service's (a setting the program accepts never stops the service)."""
    stale = "8d" if schedule["incremental"] == "7d" else "2m"
    settings = parse_settings(
        minimal_config(search={"schedule": schedule, "sourceTimeout": timeout, "staleAfter": stale})
    )
    parse(render_search_config(settings, SEARCH_SECRETS))


def test_the_loader_refuses_what_the_settings_refuse() -> None:
    """The check above has teeth: a value past the settings' bound is one the service refuses too."""
    rendered = render_search_config(parse_settings(minimal_config()), SEARCH_SECRETS)
    with pytest.raises(ConfigError, match="incremental_seconds"):
        parse({**rendered, "incremental_seconds": 59})


# ------------------------------------------------------------------ the container
def test_the_container_is_our_image_unprivileged_on_a_read_only_root(prod: RunResult) -> None:
    search = _search(prod)
    inputs = unwrap(search.inputs)
    (image,) = [r for r in prod.resources if r.name == "media-search-image"]
    assert image.inputs["name"] == "media-server/search:1.0.0" and image.inputs["build"]["context"] == "images/search"
    assert inputs["readOnly"] is True and inputs["user"] == "1000:1000"
    assert inputs["capabilities"]["drops"] == ["ALL"] and not inputs["capabilities"].get("adds")
    assert inputs["securityOpts"] == ["no-new-privileges:true"]
    assert inputs["memory"] == 256
    assert inputs["command"] == ["python3", "-m", "mediasearch", "serve", "--config", "/config/search.json"]
    assert inputs["healthcheck"]["tests"] == ["CMD", "wget", "-q", "--spider", "http://127.0.0.1:8080/healthz"]
    assert [n["name"] for n in inputs["networksAdvanced"]] == ["ms-prod-proxy", "ms-prod-media"]
    assert not inputs.get("ports")


def test_mounts_read_only_but_the_index_and_books_where_calibre_web_has_them(prod: RunResult) -> None:
    volumes = _volumes(_search(prod))
    assert volumes == {
        "/config": ("/opt/mediaserver/search/config", True),
        "/run/secrets/search": ("/opt/mediaserver/search/secrets", True),
        "/index": ("/var/cache/mediaserver/search/index", False),
        "/books": ("/data/media/books", True),
    }
    assert _volumes(containers(prod)["calibre-web"])["/books"][0] == volumes["/books"][0]


def test_books_follow_the_calibre_library_setting(run_site: Callable[..., RunResult]) -> None:
    result = run_site(minimal_config(media={"calibreLibrary": "/data/library/calibre"}))
    assert _volumes(_search(result))["/books"] == ("/data/library/calibre", True)
    assert _volumes(containers(result)["calibre-web"])["/books"][0] == "/data/library/calibre"


# ------------------------------------------------------------------ secrets: files, never env or labels
def test_each_key_is_a_read_only_secret_file_for_the_service_user(prod: RunResult) -> None:
    search = _search(prod)
    written = _written_secrets(prod)
    expected = {f"/opt/mediaserver/search/secrets/{source}" for source in SECRET_KEYS}
    assert set(written) == expected
    for member in written.values():
        assert (member.mode, member.uid, member.gid) == (0o400, 1000, 1000), member.name
    # The files' contents are the stack's secrets, and reached the engine only as a secret.
    assert isinstance(search.host_files, list)
    files = {item["file"]: item for item in search.host_files}
    assert CONFIG_FILE in files and not isinstance(files[CONFIG_FILE]["content"], Secret)


def test_no_key_in_env_labels_config_or_exports(prod: RunResult) -> None:
    search = _search(prod)
    assert set(env(search)) == {"TZ"}
    assert not isinstance(search.inputs["envs"], Secret)
    labels = json.dumps(search.inputs["labels"])
    config = uploads(search)[CONFIG_FILE]
    exports = json.dumps(prod.exports, default=str)
    for value in ("offline-placeholder-secret", *(f"placeholder-{key}" for key in SEARCH_SECRETS)):
        assert value not in labels and value not in config and value not in exports


def test_secret_files_carry_the_values_the_stack_holds(run_site: Callable[..., RunResult]) -> None:
    given = {"searchJellyfinApiKey": "jf-key-1234567890", "searchKavitaApiKey": "kv-key-1234567890"}
    result = run_site(minimal_config(), secrets=given)
    search = _search(result)
    secret = [item for item in search.host_files if item["file"].startswith("/run/secrets/")]
    assert {item["file"]: unwrap(item["content"]) for item in secret} == {
        key_file("jellyfin"): "jf-key-1234567890",
        key_file("kavita"): "kv-key-1234567890",
    }
    assert all(isinstance(item["content"], Secret) for item in secret)


# ------------------------------------------------------------------ which sources, and why not
def test_an_app_that_is_off_is_not_indexed_and_not_addressed(dev: RunResult) -> None:
    sources = _sources(dev)
    for source in ("immich", "kavita", "calibre-web", "audiobookshelf"):
        app = SOURCE_APPS[source]
        assert sources[source]["enabled"] is False
        assert f"services.{app}.enabled" in sources[source]["reason"]
        assert sources[source]["url"] is None and sources[source]["key_file"] is None
    assert "/books" not in _volumes(_search(dev))
    assert sources["calibre-web"]["library"] is None


def test_an_app_without_its_key_is_explained_not_indexed(dev: RunResult) -> None:
    sources = _sources(dev)
    assert sources["jellyfin"] == {
        "app": "jellyfin",
        "enabled": False,
        "url": None,
        "public_url": "https://jellyfin.media.localhost",
        "key_file": None,
        "user": None,
        "library": None,
        "reason": "no API key; set `media-server:searchJellyfinApiKey`",
    }
    assert sources["navidrome"]["reason"] == "no password; set `media-server:searchNavidromePassword`"
    assert not [r for r in dev.resources if r.name == "media-search-files-write-secrets"]


def test_prod_indexes_every_source_with_its_key(prod: RunResult) -> None:
    sources = _sources(prod)
    assert all(s["enabled"] and s["reason"] == "" for s in sources.values())
    assert sources["navidrome"]["user"] == "search"
    assert sources["calibre-web"]["library"] == "/books/metadata.db" and sources["calibre-web"]["key_file"] is None
    assert sources["immich"]["url"] == "http://immich-server:2283"
    assert sources["immich"]["public_url"] == "https://photos.media.example.org"


def test_sources_are_planned_from_the_apps_the_site_runs() -> None:
    plans = {p.source: p for p in source_plans(parse_settings(minimal_config(services={"kavita": {"enabled": False}})))}
    assert plans["jellyfin"].indexed and plans["jellyfin"].reason == ""
    assert not plans["kavita"].indexed and "services.kavita.enabled" in plans["kavita"].reason
    assert plans["immich"].app == "immich-server"


def test_the_service_listens_where_the_catalog_routes_scrapes_and_checks_it() -> None:
    spec = CATALOG["search"]
    assert spec.port == LISTEN_PORT and spec.metrics is not None and spec.metrics.port == LISTEN_PORT
    assert spec.healthcheck is not None and f"127.0.0.1:{LISTEN_PORT}/healthz" in spec.healthcheck.test[-1]
    assert render_search_config(parse_settings(minimal_config()), ())["listen_port"] == LISTEN_PORT


def test_a_source_turned_off_is_explained() -> None:
    settings = parse_settings(minimal_config(search={"sources": {"jellyfin": {"enabled": False}}}))
    (jellyfin,) = [s for s in render_search_config(settings, SEARCH_SECRETS)["sources"] if s["app"] == "jellyfin"]
    assert jellyfin["enabled"] is False and "sources.jellyfin.enabled is false" in jellyfin["reason"]
    assert missing_key_reason("kavita") == "no API key; set `media-server:searchKavitaApiKey`"


# ------------------------------------------------------------------ route, sign-in, dashboard
def test_routed_behind_one_factor_with_no_bypass() -> None:
    settings = stack_settings("prod")
    routes = [r for r in site_routes(settings) if r.app == "search"]
    assert [(r.name, r.hosts, r.path, r.policy.value, r.backend) for r in routes] == [
        ("search", ("search.media.example.org",), None, "one_factor", "http://search:8080")
    ]
    rules = [r for r in access_rules(settings) if "search.media.example.org" in r["domain"]]
    assert rules == [{"domain": ["search.media.example.org"], "policy": "one_factor"}]


def test_homepage_search_bar_searches_the_site(prod: RunResult, dev: RunResult) -> None:
    widgets = yaml.safe_load(uploads(containers(prod)["homepage"])[f"{HOMEPAGE_CONFIG}/widgets.yaml"])
    (search,) = [w["search"] for w in widgets if "search" in w]
    assert search == {"provider": "custom", "url": "https://search.media.example.org/?q=", "target": "_blank"}
    services = yaml.safe_load(uploads(containers(dev)["homepage"])[f"{HOMEPAGE_CONFIG}/services.yaml"])
    media = next(group["Media"] for group in services if "Media" in group)
    (tile,) = [item["Search"] for item in media if "Search" in item]
    assert tile["href"] == "https://search.media.localhost" and tile["siteMonitor"] == "http://search:8080/healthz"


def test_without_search_the_bar_is_a_web_search(run_site: Callable[..., RunResult]) -> None:
    result = run_site(minimal_config(search={"enabled": False}))
    assert "search" not in containers(result)
    widgets = yaml.safe_load(uploads(containers(result)["homepage"])[f"{HOMEPAGE_CONFIG}/widgets.yaml"])
    assert {"search": {"provider": "duckduckgo", "target": "_blank"}} in widgets


# ------------------------------------------------------------------ monitoring
def test_scraped_alerted_and_on_the_service_health_dashboard() -> None:
    settings = stack_settings("prod", search={"staleAfter": "2d"})
    jobs = {job["job_name"]: job for job in render_prometheus_config(settings, "prod")["scrape_configs"]}
    assert jobs["search"]["static_configs"][0]["targets"] == ["search:8080"]
    assert jobs["search"]["metrics_path"] == "/metrics"
    (group,) = [g for g in rule_groups(settings) if g.name == "search"]
    (rule,) = group.rules
    assert rule.alert == "SearchSourceStale" and rule.expr == f"(time() - {SEARCH_LAST_SUCCESS}) > 172800"
    assert "search.staleAfter (2d)" in rule.description
    board = render_dashboards(settings)["service-health.json"]
    exprs = [t["expr"] for panel in panels(board) for t in panel.get("targets", [])]
    (age,) = [panel for panel in panels(board) if "time since each source last indexed" in panel["title"]]
    assert age["targets"][0]["expr"] == f"time() - {SEARCH_LAST_SUCCESS}" and "(2d)" in age["description"]
    assert any("mediasearch_documents" in e for e in exprs)


def test_no_search_no_search_monitoring() -> None:
    settings = stack_settings("prod", search={"enabled": False})
    assert "search" not in {job["job_name"] for job in render_prometheus_config(settings, "prod")["scrape_configs"]}
    assert "search" not in {g.name for g in rule_groups(settings)}
    board = render_dashboards(settings)["service-health.json"]
    assert not any("mediasearch" in json.dumps(panel) for panel in panels(board))


# ------------------------------------------------------------------ Elasticsearch only for its engine
def test_elasticsearch_leaves_the_default_stacks(prod: RunResult, dev: RunResult) -> None:
    for result in (prod, dev):
        assert "elasticsearch" not in containers(result)
        assert not [r for r in result.resources if r.name.endswith("-elastic")]


def test_the_elasticsearch_engine_brings_the_node_and_shares_its_password(with_es: RunResult) -> None:
    es = containers(with_es)["elasticsearch"]
    assert es.inputs["memory"] == 3072
    search = _search(with_es)
    assert [n["name"] for n in unwrap(search.inputs["networksAdvanced"])] == [
        "ms-prod-proxy",
        "ms-prod-media",
        "ms-prod-data",
    ]
    files = {item["file"]: unwrap(item["content"]) for item in search.host_files}
    assert files[ELASTIC_PASSWORD_FILE] == env(es)["ELASTIC_PASSWORD"]
    (password,) = [r for r in with_es.resources if r.name == "secrets-elastic"]
    assert password.type == "random:index/randomPassword:RandomPassword"


def test_the_elasticsearch_variant_is_clean_too(with_es: RunResult) -> None:
    """The engine option is a real stack: a second `up` changes nothing and the policy gate passes it."""
    from offline.gate import evaluate
    from offline.readback import second_up

    second = second_up(with_es.resources)
    assert second.unmodelled == [] and [c.as_dict() for c in second.changes] == []
    verdict = evaluate(with_es)
    assert verdict.ok, [v.as_dict() for v in verdict.mandatory]


# ------------------------------------------------------------------ settings: refused before any resource
def _problems(raw: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(SettingsError) as info:
        parse_settings(raw)
    return [(p.key, p.value, p.message) for p in info.value.problems]


@pytest.mark.parametrize(
    ("overrides", "key", "value", "says"),
    [
        (
            {"search": {"sources": {"kavita": {"enabled": True}}}, "services": {"kavita": {"enabled": False}}},
            "media-server:search.sources.kavita.enabled",
            "true",
            "services.kavita.enabled true, or search.sources.kavita.enabled false",
        ),
        (
            {"search": {"sources": {"immich": {"enabled": True}}}, "tiers": {"media": False}},
            "media-server:search.sources.immich.enabled",
            "true",
            "indexes immich-server, which is off",
        ),
        (
            {"services": {"elasticsearch": {"enabled": True}}},
            "media-server:services.elasticsearch.enabled",
            "true",
            "expected search.engine: elasticsearch, or services.elasticsearch.enabled removed",
        ),
        (
            {"search": ES_ENGINE, "services": {"elasticsearch": {"enabled": False}}},
            "media-server:search.engine",
            '"elasticsearch"',
            "services.elasticsearch.enabled is false",
        ),
        (
            {"search": {"enabled": False}, "services": {"search": {"enabled": True}}},
            "media-server:services.search.enabled",
            "true",
            "search.enabled is false",
        ),
        (
            {"search": {"engine": "solr"}},
            "media-server:search.engine",
            '"solr"',
            "Input should be 'sqlite' or 'elasticsearch'",
        ),
        (
            {"search": {"schedule": {"incremental": "30s"}}},
            "media-server:search.schedule.incremental",
            '"30s"',
            "expected whole seconds from 1m to 7d",
        ),
        (
            {"search": {"schedule": {"incremental": "90500ms"}}},
            "media-server:search.schedule.incremental",
            '"90500ms"',
            "expected whole seconds",
        ),
        (
            {"search": {"schedule": {"incremental": "2h", "full": "1h"}}},
            "media-server:search.schedule.full",
            '"1h"',
            "shorter than schedule.incremental (2h)",
        ),
        (
            {"search": {"schedule": {"full": "31d"}}},
            "media-server:search.schedule.full",
            '"31d"',
            "from 5m to 30d",
        ),
        (
            {"search": {"staleAfter": "15m"}},
            "media-server:search.staleAfter",
            '"15m"',
            "not longer than schedule.incremental (15m)",
        ),
        (
            {"search": {"sourceTimeout": "2h"}},
            "media-server:search.sourceTimeout",
            '"2h"',
            "from 1s to 1h",
        ),
        (
            {"search": {"sources": {"jellyfin": {"user": "me"}}}},
            "media-server:search.sources.jellyfin.user",
            '"me"',
            "only navidrome's source takes a user",
        ),
        (
            {"search": {"sources": {"plex": {"enabled": True}}}},
            "media-server:search.sources.plex",
            '"plex"',
            "expected one of: jellyfin, navidrome, audiobookshelf, kavita, calibre-web, immich",
        ),
        (
            {"search": {"sources": {"navidrome": {"user": "search\n"}}}},
            "media-server:search.sources.navidrome.user",
            '"search\\n"',
            "control character",
        ),
        (
            {"search": {"sources": {"navidrome": {"user": "a b"}}}},
            "media-server:search.sources.navidrome.user",
            '"a b"',
            "should match pattern",
        ),
    ],
)
def test_bad_search_settings_are_refused_naming_key_value_and_what_is_allowed(
    overrides: dict[str, Any], key: str, value: str, says: str
) -> None:
    problems = _problems(minimal_config(**overrides))
    assert [(k, v) for k, v, _ in problems] == [(key, value)], problems
    assert says in problems[0][2]


def test_navidromes_password_without_its_user_is_refused(run_site: Callable[..., RunResult]) -> None:
    result = run_site(minimal_config(), secrets={"searchNavidromePassword": "pw-1234567890"})
    assert [(p.key, p.value) for p in result.problems] == [("media-server:search.sources.navidrome.user", "nothing")]
    assert "searchNavidromePassword is set" in result.problems[0].message and result.resources == []
    fine = run_site(
        minimal_config(search={"sources": {"navidrome": {"user": "search"}}}),
        secrets={"searchNavidromePassword": "pw-1234567890"},
    )
    assert fine.ok, fine.problems
    assert _sources(fine)["navidrome"]["key_file"] == key_file("navidrome")


def test_a_search_key_given_as_plain_config_is_refused(run_site: Callable[..., RunResult]) -> None:
    """Read as a secret or not at all: a plain value would sit in the stack file and the state in clear."""
    result = run_program(as_stack({**minimal_config(), "searchKavitaApiKey": "plain-key-1234567890"}))
    assert [p.key for p in result.problems] == ["media-server:searchKavitaApiKey"]
    assert "--secret" in result.problems[0].message


def test_search_off_or_its_tier_off_deploys_nothing_of_it() -> None:
    for raw in (
        minimal_config(search={"enabled": False, **ES_ENGINE}),
        minimal_config(search=ES_ENGINE, services={"search": {"enabled": False}}),
    ):
        settings: Settings = parse_settings(raw)
        assert not settings.is_enabled("search") and not settings.is_enabled("elasticsearch")
    # An override that leaves the switch alone (a memory limit) keeps search, and its engine, on.
    kept = parse_settings(minimal_config(search=ES_ENGINE, services={"search": {"memory": "512m"}}))
    assert kept.is_enabled("search") and kept.is_enabled("elasticsearch")
    no_media = parse_settings(minimal_config(tiers={"media": False, "monitoring": False}, search=ES_ENGINE))
    assert not no_media.is_enabled("search") and not no_media.is_enabled("elasticsearch")


def test_the_metric_reference_is_what_the_service_exposes() -> None:
    """Dashboards and the alert may use only config/data/metrics/search.txt: it must be the service's output."""
    from mediasearch.metrics import Metrics
    from mediasearch.model import SourceStatus
    from prometheus_client.parser import text_string_to_metric_families

    from render.metric_reference import load

    statuses = [SourceStatus(app=app, state="connected", documents=3, last_success=1.0) for app in SOURCES]
    metrics = Metrics()
    metrics.query_duration.observe(0.004)
    exposed: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(metrics.render(statuses, SOURCES)):
        for sample in family.samples:
            exposed.setdefault(sample.name, set()).update(sample.labels)
    assert {name: frozenset(labels) for name, labels in exposed.items()} == load("search")


def test_make_check_says_which_sources_are_indexed_and_why_not(dev: RunResult, prod: RunResult) -> None:
    from rich.console import Console

    from offline.plan import plan_of
    from offline.report import print_plan

    plan = plan_of(dev, stack_settings("dev"))
    assert plan["search"]["engine"] == "sqlite"
    jellyfin = next(s for s in plan["search"]["sources"] if s["source"] == "jellyfin")
    assert jellyfin == {"source": "jellyfin", "indexed": False, "reason": missing_key_reason("jellyfin")}
    out = io.StringIO()
    print_plan(plan, dev, Console(file=out, width=200, soft_wrap=False, highlight=False))
    text = out.getvalue()
    assert "Search (sqlite): indexes nothing yet" in text
    assert "  jellyfin: no API key; set `media-server:searchJellyfinApiKey`" in text
    prod_plan = plan_of(prod, stack_settings("prod"))
    assert all(s["indexed"] for s in prod_plan["search"]["sources"])
