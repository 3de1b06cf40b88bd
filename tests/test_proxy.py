"""ProxyLayer and Traefik's generated configuration: routes as projections of the catalog."""

from __future__ import annotations

import json
import re
from types import MappingProxyType

import pytest

import config.settings as settings_module
from config.catalog import CATALOG
from config.data.cloudflare_ips import cloudflare_ranges
from config.pathregex import matches
from config.spec import AuthPolicy, ImageRef, NetworkName, ServiceSpec, Tier
from offline.recorder import Secret
from offline.runner import RunResult
from render import traefik
from render.authelia import access_rules
from render.cloudflare import dns_records
from render.routes import site_routes
from tests.conftest import minimal_config
from tests.edge_support import container, env, stack_settings, upload_yaml, uploads


def _routers(stack: str) -> dict[str, dict[str, object]]:
    routers: dict[str, dict[str, object]] = traefik.render_dynamic(stack_settings(stack))["http"]["routers"]
    return routers


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_routed_app_has_a_router_with_sso_unless_public(stack: str) -> None:
    settings = stack_settings(stack)
    routers = _routers(stack)
    for spec in settings.enabled_services():
        if not spec.routed:
            assert spec.name not in routers
            continue
        router = routers[spec.name]
        assert router["rule"].startswith(f"Host(`{spec.subdomain}.{settings.domain}`)") or spec.apex  # type: ignore[union-attr]
        assert router["entryPoints"] == ["websecure"]
        locked = ["cloudflare-only"] if settings.cloudflare.enabled and settings.cloudflare_proxied(spec) else []
        expected = [*locked, "security-headers", "crowdsec"] + ([] if spec.public else ["authelia"])
        assert router["middlewares"] == expected, spec.name


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_bypass_routers_exist_only_for_declared_paths(stack: str) -> None:
    settings = stack_settings(stack)
    routers = _routers(stack)
    declared = {
        f"{spec.name}-bypass-{i}": path
        for spec in settings.enabled_services()
        if spec.routed and not spec.public
        for i, path in enumerate(spec.bypass_paths, start=1)
    }
    without_sso = {name for name, r in routers.items() if "authelia" not in r["middlewares"]}  # type: ignore[operator]
    # A login route skips SSO only where a declared bypass path already covers its exact path.
    logins = {r.name: r for r in site_routes(settings) if r.login is not None and not r.forward_auth}
    for route in logins.values():
        assert any(matches(p, route.login or "") for p in settings.service(route.app).bypass_paths), route.name
        assert routers[route.name]["rule"].endswith(f"&& Path(`{route.login}`)")  # type: ignore[union-attr]
    assert without_sso == set(declared) | set(logins) | {"authelia", "unknown-host"}
    for name, path in declared.items():
        assert routers[name]["rule"].endswith(f"&& PathRegexp(`{path}`)")  # type: ignore[union-attr]
        # Traefik ranks a router without a priority by its rule's length: the bypass router must outrank its app's.
        app = routers[name.rsplit("-bypass-", 1)[0]]
        assert routers[name]["priority"] > app.get("priority", len(app["rule"]))  # type: ignore[arg-type, operator]


def test_dashboard_only_through_authelia_and_api_never_insecure() -> None:
    settings = stack_settings("prod")
    static = traefik.render_static(settings)
    assert static["api"]["insecure"] is False
    assert set(static["providers"]) == {"file"}, "Traefik must not read the Docker socket"
    router = _routers("prod")["traefik"]
    assert router["service"] == "api@internal"
    assert "authelia" in router["middlewares"]  # type: ignore[operator]
    assert {r.policy for r in site_routes(settings) if r.app == "traefik"} == {AuthPolicy.TWO_FACTOR}


def test_unknown_hosts_fall_to_a_404_catch_all() -> None:
    dynamic = traefik.render_dynamic(stack_settings("dev"))["http"]
    catch_all = dynamic["routers"]["unknown-host"]
    assert catch_all["priority"] == 1 and catch_all["service"] == "noop@internal"
    assert dynamic["middlewares"]["not-found"]["errors"]["statusRewrites"] == {"418": 404}


def test_tls_options_and_security_headers() -> None:
    settings = stack_settings("prod", edge={"hstsPreload": True})
    dynamic = traefik.render_dynamic(settings)
    options = dynamic["tls"]["options"]["default"]
    assert options["minVersion"] == "VersionTLS12" and options["sniStrict"] is True
    assert all("GCM" in c or "CHACHA20" in c for c in options["cipherSuites"])
    headers = dynamic["http"]["middlewares"]["security-headers"]["headers"]
    assert headers["stsPreload"] is True and headers["stsSeconds"] >= 31536000
    assert headers["contentTypeNosniff"] and headers["frameDeny"]
    assert headers["referrerPolicy"] and "camera=()" in headers["permissionsPolicy"]


def test_http_redirects_and_metrics_stay_internal() -> None:
    static = traefik.render_static(stack_settings("dev"))
    web = static["entryPoints"]["web"]
    assert web["address"] == ":80"
    assert web["http"]["redirections"]["entryPoint"] == {"to": "websecure", "scheme": "https", "permanent": True}
    assert static["entryPoints"]["metrics"]["address"] == ":8082"
    assert static["metrics"]["prometheus"]["entryPoint"] == "metrics"
    assert static["accessLog"]["filePath"] == "/var/log/traefik/access.log"


def test_forwarded_headers_trusted_only_from_cloudflare() -> None:
    prod = traefik.render_static(stack_settings("prod"))
    dev = traefik.render_static(stack_settings("dev"))
    for entry in ("web", "websecure"):
        assert prod["entryPoints"][entry]["forwardedHeaders"] == {"trustedIPs": cloudflare_ranges()}
        assert dev["entryPoints"][entry]["forwardedHeaders"] == {"trustedIPs": []}
        assert "insecure" not in prod["entryPoints"][entry]["forwardedHeaders"]
    assert "0.0.0.0/0" not in cloudflare_ranges()
    reason = "private family server; the account owner accepts Cloudflare's terms on video"
    tunnel = stack_settings(
        "prod",
        cloudflare={**_prod_cloudflare(), "mode": "tunnel"},
        policy={
            "acknowledgeProxiedMedia": {
                app: reason for app in ("jellyfin", "navidrome", "audiobookshelf", "immich-server")
            }
        },
    )
    assert traefik.trusted_proxies(tunnel) == ["10.10.0.0/24"]


def _prod_cloudflare() -> dict[str, object]:
    return stack_settings("prod").cloudflare.model_dump(by_alias=True, exclude_none=True)


def test_certificates_dns01_with_cloudflare_http01_without_and_staging_selectable() -> None:
    prod = traefik.render_static(stack_settings("prod"))["certificatesResolvers"]["letsencrypt"]["acme"]
    assert prod["dnsChallenge"]["provider"] == "cloudflare" and "httpChallenge" not in prod
    dev = traefik.render_static(stack_settings("dev", edge={"acme": {"staging": True}}))
    acme = dev["certificatesResolvers"]["letsencrypt"]["acme"]
    assert acme["httpChallenge"] == {"entryPoint": "web"} and acme["caServer"] == traefik.STAGING_CA


def test_route_via_reaches_qbittorrent_through_gluetun() -> None:
    services = traefik.render_dynamic(stack_settings("prod"))["http"]["services"]
    assert services["qbittorrent"]["loadBalancer"]["servers"] == [{"url": "http://gluetun:8080"}]


def test_a_new_catalog_app_gets_router_access_rule_and_record(monkeypatch: pytest.MonkeyPatch) -> None:
    newcomer = ServiceSpec(
        name="audiobook-requests",
        display_name="Requests",
        tier=Tier.MEDIA,
        image=ImageRef(repository="example/requests", tag="1.2.3"),
        port=5055,
        subdomain="requests",
        auth=AuthPolicy.ONE_FACTOR,
        own_auth=True,
        bypass_paths=(r"^/api/v1/status$",),
        networks=(NetworkName.PROXY,),
    )
    monkeypatch.setattr(settings_module, "CATALOG", MappingProxyType({**CATALOG, newcomer.name: newcomer}))
    settings = stack_settings("prod")
    routers = traefik.render_dynamic(settings)["http"]["routers"]
    assert routers["audiobook-requests"]["rule"] == "Host(`requests.media.example.org`)"
    assert routers["audiobook-requests-bypass-1"]["rule"].endswith("PathRegexp(`^/api/v1/status$`)")
    rules = access_rules(settings)
    assert {"domain": ["requests.media.example.org"], "policy": "one_factor"} in rules
    assert any(r["resources"] == [r"^/api/v1/status(\?.*)?$"] for r in rules if "resources" in r)
    assert "requests.media.example.org" in {r.name for r in dns_records(settings)}


# ------------------------------------------------------------------ the program under mocks
def test_traefik_gets_its_files_and_no_socket(prod: RunResult) -> None:
    res = container(prod, "traefik")
    files = uploads(res)
    assert set(files) >= {"/etc/traefik/traefik.yml", "/etc/traefik/dynamic/site.yml"}
    assert upload_yaml(prod, "traefik", "/etc/traefik/traefik.yml") == traefik.render_static(stack_settings("prod"))
    assert not any("docker.sock" in str(v) for v in res.inputs.get("volumes", []))
    assert env(res)["CF_DNS_API_TOKEN_FILE"] == traefik.CLOUDFLARE_TOKEN_FILE
    # Read-only root: written on the host; the configuration plain, the token a secret file of its own.
    assert "uploads" not in res.inputs
    delivered = {item["file"]: item["content"] for item in res.host_files}
    assert isinstance(delivered["/etc/traefik/dynamic/site.yml"], str)
    assert isinstance(delivered[traefik.CLOUDFLARE_TOKEN_FILE], Secret)
    assert sorted(p["external"] for p in res.inputs["ports"]) == [80, 443]
    assert res.inputs["user"] == "1000:1000" and res.inputs["capabilities"]["adds"] == []


def test_crowdsec_reads_the_access_log_and_shares_the_bouncer_key(prod: RunResult) -> None:
    crowdsec = container(prod, "crowdsec")
    acquisition = upload_yaml(prod, "crowdsec", "/etc/crowdsec/acquis.d/traefik.yaml")
    assert acquisition == {"filenames": ["/var/log/traefik/access.log"], "labels": {"type": "traefik"}}
    log_mounts = [v for v in crowdsec.inputs["volumes"] if v["containerPath"] == "/var/log/traefik"]
    assert log_mounts and log_mounts[0]["readOnly"] is True
    bouncer = container(prod, "crowdsec-bouncer")
    key = env(crowdsec)["BOUNCER_KEY_traefik"]
    assert key and env(bouncer)["CROWDSEC_BOUNCER_API_KEY"] == key
    assert isinstance(crowdsec.inputs["envs"], Secret) and isinstance(bouncer.inputs["envs"], Secret)
    trusted = env(bouncer)["TRUSTED_PROXIES"].split(",")
    assert trusted[0] == "10.10.0.0/24" and trusted[1:] == cloudflare_ranges()


def test_wireguard_publishes_only_its_udp_port_and_provisions_peers(run_site) -> None:  # type: ignore[no-untyped-def]
    result = run_site(
        minimal_config(
            services={"wireguard": {"enabled": True}},
            edge={"wireguard": {"endpoint": "vpn.example.org", "peers": [{"name": "phone"}, {"name": "laptop"}]}},
        )
    )
    assert result.ok, result.problems
    wg = container(result, "wireguard")
    assert wg.inputs["ports"] == [{"internal": 51820, "external": 51820, "protocol": "udp"}]
    assert wg.inputs["sysctls"]["net.ipv4.ip_forward"] == "1"
    assert "SYS_MODULE" not in wg.inputs["capabilities"]["adds"]
    variables = env(wg)
    assert variables["INIT_HOST"] == "vpn.example.org" and variables["INIT_PORT"] == "51820"
    assert isinstance(wg.inputs["envs"], Secret), "the admin password is a secret env value"
    peers = container(result, "wireguard-peers")
    assert upload_yaml(result, "wireguard-peers", "/peers/peers.json") == {"peers": ["phone", "laptop"]}
    assert env(peers)["WG_EASY_PASSWORD"] == variables["INIT_PASSWORD"]
    assert peers.inputs["restart"] == "on-failure" and not peers.inputs.get("ports")
    with_vpn = stack_settings(
        "dev", services={"wireguard": {"enabled": True}}, edge={"wireguard": {"endpoint": "vpn.example.org"}}
    )
    router = traefik.render_dynamic(with_vpn)
    assert "authelia" in router["http"]["routers"]["wireguard"]["middlewares"]
    assert isinstance(result.exports["wireguardAdminPassword"], Secret)


def test_routes_export_lists_every_route_with_its_policy(prod: RunResult) -> None:
    rows = prod.exports["routes"]
    expected = site_routes(stack_settings("prod"))
    assert [r["router"] for r in rows] == [r.name for r in expected]
    assert {r["policy"] for r in rows} == {"two_factor", "one_factor", "bypass"}
    assert all(re.fullmatch(r"http://[a-z0-9-]+:\d+|api@internal", r["backend"]) for r in rows)


def test_bypass_path_override_and_bad_regex() -> None:
    settings = stack_settings("dev", services={"jellyfin": {"bypassPaths": []}})
    assert not [r for r in site_routes(settings) if r.app == "jellyfin" and r.path]
    from config.problems import SettingsError

    for bad, message in (
        ("^/api/(", "not a regex Traefik and Authelia (Go, RE2) accept: missing )"),
        ("^/api/(?!admin).*$", "invalid perl operator: (?!"),
        ("/api/.*", "not anchored at the start"),
        (r"^/api\?.*$", "query string"),
    ):
        with pytest.raises(SettingsError) as info:
            stack_settings("dev", services={"jellyfin": {"bypassPaths": [bad]}})
        (problem,) = info.value.problems
        assert problem.key == "media-server:services.jellyfin.bypassPaths[0]"
        assert message in problem.message and problem.value == json.dumps(bad)


def test_forward_auth_middlewares_as_shipped() -> None:
    """Both forward-auth servers read X-Forwarded-* from Traefik (which rewrites them for untrusted
    clients: see trusted_proxies), and an oversized auth answer is refused rather than buffered."""
    from render import traefik as render_traefik
    from tests.edge_support import stack_settings

    middlewares = render_traefik.render_dynamic(stack_settings("prod"))["http"]["middlewares"]
    for name, address in (
        ("authelia", "http://authelia:9091/api/authz/forward-auth"),
        ("crowdsec", "http://crowdsec-bouncer:8080/api/v1/forwardAuth"),
    ):
        forward = middlewares[name]["forwardAuth"]
        assert forward["address"] == address
        assert forward["trustForwardHeader"] is True
        assert forward["maxResponseBodySize"] == 1048576


def test_traefik_never_calls_home() -> None:
    from render import traefik as render_traefik
    from tests.edge_support import stack_settings

    static = render_traefik.render_static(stack_settings("prod"))
    assert static["global"] == {"checkNewVersion": False, "sendAnonymousUsage": False}


def test_route_table_rows_show_every_path_or_the_bypass_regex() -> None:
    from render.routes import route_table, site_routes
    from tests.edge_support import stack_settings

    routes = {r.name: r for r in site_routes(stack_settings("prod"))}
    rows = {row["router"]: row for row in route_table(list(routes.values()))}
    assert rows["sonarr"]["path"] == "/*" and rows["sonarr"]["policy"] == "two_factor"
    assert rows["sonarr-bypass-1"]["path"] == routes["sonarr-bypass-1"].path == r"^/api/v[0-9]+/.*$"
    assert rows["sonarr"]["hosts"] == "sonarr.media.example.org"


def test_an_app_on_two_hosts_matches_either() -> None:
    from render import traefik as render_traefik
    from tests.edge_support import stack_settings

    routers = render_traefik.render_dynamic(stack_settings("prod"))["http"]["routers"]
    assert routers["homepage"]["rule"] == "(Host(`home.media.example.org`) || Host(`media.example.org`))"
    assert routers["sonarr"]["rule"] == "Host(`sonarr.media.example.org`)"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_router_priorities_login_over_bypass_over_app(stack: str) -> None:
    """Traefik tries routers by priority (a rule's length when unset): an app's router keeps the default, its bypass
    routers 1000 + their rule's length, its login routers 3000 + theirs, so a login endpoint is rate-limited even
    where a bypass path covers it, and a bypass path skips SSO even though the app's Host rule also matches."""
    settings = stack_settings(stack)
    routers = _routers(stack)
    logins = 0
    for route in site_routes(settings):
        router = routers[route.name]
        rule = router["rule"]
        assert isinstance(rule, str)
        if route.login is not None:
            logins += 1
            assert router["priority"] == 3000 + len(rule), route.name
        elif route.path is not None:
            assert router["priority"] == 1000 + len(rule), route.name
        else:
            assert "priority" not in router, route.name
    assert logins > 0


def test_login_rate_limit_as_documented() -> None:
    """README (Security model): login endpoints of DNS-only hosts, 10 a minute per client address, bursts of 5."""
    middlewares = traefik.render_dynamic(stack_settings("prod"))["http"]["middlewares"]
    assert middlewares["login-rate-limit"] == {"rateLimit": {"average": 10, "period": "1m", "burst": 5}}


def test_static_configuration_as_shipped() -> None:
    prod = traefik.render_static(stack_settings("prod"))
    dev = traefik.render_static(stack_settings("dev"))
    for static in (prod, dev):
        for entry in ("web", "websecure"):
            # an encoded NUL or backslash in a path is refused, never decoded into what a backend sees
            assert static["entryPoints"][entry]["http"]["encodedCharacters"] == {
                "allowEncodedNullCharacter": False,
                "allowEncodedBackSlash": False,
            }
        # the program rewrites the dynamic files in place: Traefik must pick them up without a restart
        assert static["providers"] == {"file": {"directory": "/etc/traefik/dynamic", "watch": True}}
        # render/grafana.py's panels read traefik_service_* by exported_service; router metrics are kept beside them
        assert static["metrics"]["prometheus"] == {
            "entryPoint": "metrics",
            "addRoutersLabels": True,
            "addServicesLabels": True,
        }
    # Cloudflare (prod): one wildcard certificate by DNS-01 for the domain and every app's host
    assert prod["entryPoints"]["websecure"]["http"]["tls"] == {
        "certResolver": "letsencrypt",
        "domains": [{"main": "media.example.org", "sans": ["*.media.example.org"]}],
    }
    assert dev["entryPoints"]["websecure"]["http"]["tls"] == {"certResolver": "letsencrypt"}


def test_hsts_covers_every_subdomain() -> None:
    headers = traefik.render_dynamic(stack_settings("prod"))["http"]["middlewares"]["security-headers"]["headers"]
    assert headers["stsIncludeSubdomains"] is True


def test_login_routes_are_named_like_bypass_routes_counting_from_one() -> None:
    logins = [(r.name, r.login) for r in site_routes(stack_settings("prod")) if r.login is not None]
    assert logins == [
        ("jellyfin-login-1", "/Users/AuthenticateByName"),
        ("navidrome-login-1", "/auth/login"),
        ("audiobookshelf-login-1", "/login"),
        ("immich-server-login-1", "/api/auth/login"),
    ]
