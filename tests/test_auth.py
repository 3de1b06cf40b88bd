"""AuthLayer and Authelia's generated configuration, checked against Authelia's published schema."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from config.catalog import CATALOG
from config.problems import SettingsError
from config.settings import Settings
from offline.recorder import Secret
from offline.runner import RunResult, run_program
from render import authelia
from render.routes import site_routes
from tests.conftest import PROD_SECRETS, as_stack, minimal_config
from tests.edge_support import container, env, schema, stack_raw, stack_settings, unwrap, uploads

CONFIG_SCHEMA = "authelia-4.39.20-configuration.json"
USERS_SCHEMA = "authelia-4.39.20-user-database.json"


def _validate(document: Any, name: str) -> list[str]:
    validator = Draft202012Validator(schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(document)]


def _authelia_files(result: RunResult) -> dict[str, str]:
    return uploads(container(result, "authelia"))


@pytest.fixture(scope="module")
def ldap_site() -> RunResult:
    raw = {**stack_raw("prod"), "edge": {"auth": {"backend": "ldap"}}}
    result = run_program(as_stack(raw, name="ldap", secrets=PROD_SECRETS))
    assert result.ok, result.problems
    return result


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_generated_documents_validate_against_the_schema(stack: str, request: pytest.FixtureRequest) -> None:
    result: RunResult = request.getfixturevalue(stack)
    files = _authelia_files(result)
    configuration = yaml.safe_load(files[authelia.CONFIG_PATH])
    assert _validate(configuration, CONFIG_SCHEMA) == []
    assert _validate(yaml.safe_load(files[authelia.USERS_PATH]), USERS_SCHEMA) == []
    if authelia.OIDC_PATH in files:
        oidc = yaml.safe_load(files[authelia.OIDC_PATH])
        assert _validate(oidc, CONFIG_SCHEMA) == []
        assert _validate({**configuration, **oidc}, CONFIG_SCHEMA) == []


def test_ldap_mode_validates_and_runs_lldap(ldap_site: RunResult) -> None:
    files = _authelia_files(ldap_site)
    configuration = yaml.safe_load(files[authelia.CONFIG_PATH])
    assert _validate(configuration, CONFIG_SCHEMA) == []
    ldap = configuration["authentication_backend"]["ldap"]
    assert ldap["address"] == "ldap://lldap:3890" and ldap["base_dn"] == "dc=media,dc=example,dc=org"
    assert authelia.USERS_PATH not in files
    authelia_env = env(container(ldap_site, "authelia"))
    lldap = container(ldap_site, "lldap")
    lldap_files = uploads(lldap)
    assert (
        files[authelia_env["AUTHELIA_AUTHENTICATION_BACKEND_LDAP_PASSWORD_FILE"]]
        == lldap_files[env(lldap)["LLDAP_LDAP_USER_PASS_FILE"]]
    )
    assert env(lldap)["LLDAP_LDAP_BASE_DN"] == "dc=media,dc=example,dc=org"
    admin_rules = [r for r in configuration["access_control"]["rules"] if "subject" in r]
    assert admin_rules and all(r["subject"] == ["group:lldap_admin"] for r in admin_rules)


def test_configuration_holds_no_secret_and_names_secret_files(prod: RunResult) -> None:
    res = container(prod, "authelia")
    files, variables = uploads(res), env(res)
    configuration = files[authelia.CONFIG_PATH]
    secret_values = {files[path] for path in authelia.secret_files(stack_settings("prod")).values()}
    assert secret_values and not any(value in configuration for value in secret_values)
    assert list(_secret_keys(yaml.safe_load(configuration))) == []
    file_vars = {k: v for k, v in variables.items() if k.startswith("AUTHELIA_") and k.endswith("_FILE")}
    assert set(file_vars.values()) == set(authelia.secret_files(stack_settings("prod")).values())
    assert all(len(files[path]) >= 40 for path in file_vars.values())
    assert variables["X_AUTHELIA_CONFIG"] == f"{authelia.CONFIG_PATH},{authelia.OIDC_PATH}"
    # Read-only root: written on the host. The configuration is a plain input (a preview shows its diff);
    # the secrets, the users' hashes and the OIDC key are secret files, written apart.
    assert "uploads" not in res.inputs
    delivered = {item["file"]: item["content"] for item in res.host_files}
    assert isinstance(delivered[authelia.CONFIG_PATH], str)
    secret = {authelia.USERS_PATH, authelia.OIDC_PATH, *authelia.secret_files(stack_settings("prod")).values()}
    assert {path for path, content in delivered.items() if isinstance(content, Secret)} == secret


def _secret_keys(document: Any, path: str = "") -> Any:
    """Every key that would hold a secret value (a string under a secret-looking name)."""
    if isinstance(document, dict):
        for key, value in document.items():
            here = f"{path}.{key}"
            if isinstance(value, str) and key.endswith(("secret", "password", "key", "token")):
                yield here
            yield from _secret_keys(value, here)
    elif isinstance(document, list):
        for i, item in enumerate(document):
            yield from _secret_keys(item, f"{path}[{i}]")


def test_shared_credentials_come_from_site_secrets(prod: RunResult) -> None:
    files = uploads(container(prod, "authelia"))
    redis_env = env(container(prod, "redis"))
    assert files["/config/secrets/redis-password"] == redis_env["REDIS_PASSWORD"]
    configuration = yaml.safe_load(files[authelia.CONFIG_PATH])
    assert configuration["storage"]["postgres"]["address"] == "tcp://postgres:5432"
    assert configuration["session"]["redis"]["host"] == "redis"
    assert configuration["session"]["cookies"][0]["domain"] == "media.example.org"


def test_access_control_default_deny_and_two_factor_for_admin_apps() -> None:
    settings = stack_settings("prod")
    configuration = authelia.render_configuration(settings, "authelia", "authelia")
    control = configuration["access_control"]
    assert control["default_policy"] == "deny"
    by_domain = {tuple(r["domain"]): r for r in control["rules"] if "resources" not in r}
    for spec in settings.enabled_services():
        if not spec.routed or spec.public:
            continue
        rule = by_domain[tuple(authelia_hosts(settings, spec.name))]
        if spec.admin:
            assert rule == {"domain": rule["domain"], "policy": "two_factor", "subject": ["group:admins"]}
        else:
            assert rule["policy"] == spec.effective_auth.value
    bypass = [r for r in control["rules"] if "resources" in r]
    declared = [r for r in site_routes(settings) if r.path]
    assert len(bypass) == len(declared)
    first_app_rule = next(i for i, r in enumerate(control["rules"]) if "resources" not in r)
    assert all(i < first_app_rule for i, r in enumerate(control["rules"]) if "resources" in r)
    assert configuration["regulation"]["max_retries"] > 0 and "ip" in configuration["regulation"]["modes"]


def authelia_hosts(settings: Settings, app: str) -> list[str]:
    return [h for r in site_routes(settings) if r.name == app for h in r.hosts]


def test_resources_match_path_and_query() -> None:
    assert authelia.authelia_resource(r"^/rest/.*$") == r"^/rest/[^?\n]*(\?.*)?$"
    assert authelia.authelia_resource(r"^/api$") == r"^/api(\?.*)?$"


def test_users_database_admin_with_generated_bcrypt_hash(prod: RunResult) -> None:
    users = yaml.safe_load(uploads(container(prod, "authelia"))[authelia.USERS_PATH])["users"]
    assert list(users) == ["admin"]
    assert users["admin"]["password"].startswith("$2a$") and users["admin"]["groups"] == ["admins"]
    assert isinstance(prod.exports["autheliaUsers"], Secret)
    assert set(unwrap(prod.exports["autheliaUsers"])) == {"admin"}
    configuration = yaml.safe_load(uploads(container(prod, "authelia"))[authelia.CONFIG_PATH])
    assert configuration["authentication_backend"]["file"]["password"]["argon2"]["variant"] == "argon2id"


def test_oidc_clients_for_immich_and_grafana(prod: RunResult) -> None:
    oidc = yaml.safe_load(uploads(container(prod, "authelia"))[authelia.OIDC_PATH])["identity_providers"]["oidc"]
    clients = {c["client_id"]: c for c in oidc["clients"]}
    assert set(clients) == {"immich-server", "grafana"}
    assert clients["grafana"]["redirect_uris"] == ["https://grafana.media.example.org/login/generic_oauth"]
    assert clients["immich-server"]["redirect_uris"] == [
        "https://photos.media.example.org/auth/login",
        "https://photos.media.example.org/user-settings",
        "app.immich:///oauth-callback",
    ]
    for client in clients.values():
        assert client["client_secret"].startswith("$2a$"), "Authelia stores only the digest"
    assert oidc["jwks"][0]["key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert list(_secret_keys(oidc)), "the secret-key detector used on configuration.yml must see these"


def test_smtp_notifier_needs_its_password(run_site) -> None:  # type: ignore[no-untyped-def]
    smtp = {"address": "submission://smtp.example.org:587", "username": "auth", "sender": "Auth <a@example.org>"}
    result = run_site(minimal_config(edge={"auth": {"smtp": smtp}}))
    assert [str(p) for p in result.problems] == [
        "media-server:smtpPassword: edge.auth.smtp is set; set the relay password with --secret (got nothing)"
    ]
    configured = run_site(minimal_config(edge={"auth": {"smtp": smtp}}), secrets={"smtpPassword": "pw"})
    assert configured.ok, configured.problems
    files = uploads(container(configured, "authelia"))
    assert files["/config/secrets/smtp-password"] == "pw"
    assert yaml.safe_load(files[authelia.CONFIG_PATH])["notifier"]["smtp"]["address"] == smtp["address"]


def test_oidc_client_for_a_disabled_app_is_refused() -> None:
    with pytest.raises(SettingsError) as info:
        stack_settings("dev", edge={"auth": {"oidcClients": ["immich-server"]}})
    assert [str(p) for p in info.value.problems] == [
        "media-server:edge.auth.oidcClients: immich-server is disabled; enable services.immich-server or remove it "
        'from the list (got "immich-server")'
    ]
    with pytest.raises(SettingsError) as info:
        stack_settings("dev", edge={"auth": {"oidcClients": ["sonarr"]}})
    assert "does not support OIDC; expected one of: grafana, immich-server" in str(info.value)


def test_oidc_client_list_narrows_the_clients() -> None:
    settings = stack_settings("prod", edge={"auth": {"oidcClients": ["grafana"]}})
    assert settings.oidc_client_names() == ["grafana"]
    oidc = authelia.render_oidc(settings, "pem", {"grafana": "$2a$10$x"})
    assert [c["client_id"] for c in oidc["identity_providers"]["oidc"]["clients"]] == ["grafana"]


def test_ldap_backend_cannot_switch_lldap_off() -> None:
    with pytest.raises(SettingsError) as info:
        stack_settings("dev", edge={"auth": {"backend": "ldap"}}, services={"lldap": {"enabled": False}})
    assert "media-server:services.lldap.enabled: edge.auth.backend is ldap" in str(info.value)


def test_users_database_schema_rejects_a_plain_password() -> None:
    bad = {"users": {"admin": {"displayname": "A", "password": "hunter2", "email": "a@b.c", "groups": []}}}
    errors = _validate(bad, USERS_SCHEMA)
    assert len(errors) == 1 and errors[0].startswith("users.admin.password: 'hunter2' does not match"), errors
    hashed = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
    assert _validate({"users": {"admin": {**bad["users"]["admin"], "password": hashed}}}, USERS_SCHEMA) == []


def test_no_generated_secret_reaches_the_offline_report(prod: RunResult) -> None:
    from offline.report import to_json

    report = to_json(prod)
    files = uploads(container(prod, "authelia"))
    secrets = [files[path] for path in authelia.secret_files(stack_settings("prod")).values()]
    secrets += list(unwrap(prod.exports["autheliaUsers"]).values())
    assert secrets and not [s for s in secrets if s in report]


def test_extra_users_get_generated_passwords(run_site) -> None:  # type: ignore[no-untyped-def]
    user = {"username": "alice", "displayName": "Alice", "email": "alice@example.org", "groups": ["family"]}
    result = run_site(minimal_config(edge={"auth": {"users": [user]}}))
    assert result.ok, result.problems
    users = yaml.safe_load(uploads(container(result, "authelia"))[authelia.USERS_PATH])["users"]
    assert users["alice"]["groups"] == ["family"] and users["alice"]["password"].startswith("$2a$")
    passwords = unwrap(result.exports["autheliaUsers"])
    assert set(passwords) == {"admin", "alice"} and passwords["admin"] != passwords["alice"]
    with pytest.raises(SettingsError, match="usernames must be unique"):
        stack_settings("dev", edge={"auth": {"users": [{**user, "username": "admin"}]}})


# ------------------------------------------------------------------ the shipped configuration's values, and why
def test_authelia_listens_where_the_catalog_and_the_proxy_expect() -> None:
    """Authelia's own defaults (v4.39.20 schema/server.go tcp://:9091, schema/telemetry.go tcp://:9959/metrics),
    which the catalog entry's port and metrics port repeat and Traefik's forward-auth address dials."""
    from render.traefik import AUTHELIA_AUTHZ

    config = authelia.render_configuration(stack_settings("prod"), "authelia", "authelia")
    spec = CATALOG["authelia"]
    assert spec.metrics is not None
    assert (spec.port, spec.metrics.port) == (9091, 9959)
    assert config["server"]["address"] == "tcp://:9091/"
    assert config["telemetry"]["metrics"] == {"enabled": True, "address": "tcp://:9959/metrics"}
    assert AUTHELIA_AUTHZ.startswith("http://authelia:9091/")
    assert config["session"]["redis"] == {"host": "redis", "port": 6379, "database_index": 0}


def test_second_factor_and_password_rules_as_shipped() -> None:
    settings = stack_settings("prod")
    config = authelia.render_configuration(settings, "authelia", "authelia")
    # 6 digits every 30 s: what every authenticator app supports (RFC 6238's defaults).
    assert config["totp"] == {"issuer": settings.domain, "period": 30, "digits": 6}
    # A container clock is the host's: an unreachable NTP server must not stop the portal.
    assert config["ntp"] == {"disable_failure": True}
    assert config["password_policy"]["standard"] == {
        "enabled": True,
        "min_length": settings.edge.auth.password_min_length,
        "max_length": 128,
        "require_uppercase": True,
        "require_lowercase": True,
        "require_number": True,
        "require_special": False,
    }


def test_file_users_hash_with_authelias_default_argon2id_cost() -> None:
    """authelia v4.39.20 internal/configuration/schema/authentication.go DefaultPasswordConfig."""
    backend = authelia.render_configuration(stack_settings("prod"), "authelia", "authelia")["authentication_backend"]
    assert backend["file"]["password"] == {
        "algorithm": "argon2",
        "argon2": {
            "variant": "argon2id",
            "iterations": 3,
            "memory": 65536,
            "parallelism": 4,
            "key_length": 32,
            "salt_length": 16,
        },
    }


def test_oidc_configuration_file_is_merged_only_with_oidc_clients() -> None:
    plain = authelia.config_env(stack_settings("dev"))
    assert plain["X_AUTHELIA_CONFIG"] == authelia.CONFIG_PATH
    with_oidc = authelia.config_env(stack_settings("prod", edge={"auth": {"oidcClients": ["grafana"]}}))
    assert with_oidc["X_AUTHELIA_CONFIG"] == f"{authelia.CONFIG_PATH},{authelia.OIDC_PATH}"


def test_apex_app_is_where_a_session_lands_by_default() -> None:
    def landing(settings: Settings) -> str | None:
        cookie = authelia.render_configuration(settings, "authelia", "authelia")["session"]["cookies"][0]
        found: str | None = cookie.get("default_redirection_url")
        return found

    apex = [name for name, spec in CATALOG.items() if spec.apex]
    assert apex, "some app is served at the bare domain"
    on = stack_settings("prod", services={name: {"enabled": True} for name in apex})
    assert landing(on) == f"https://{on.domain}"
    off = stack_settings("prod", services={name: {"enabled": False} for name in apex})
    assert landing(off) is None


def test_oidc_clients_are_confidential_with_the_apps_own_policy_and_redirects() -> None:
    settings = stack_settings("prod")
    digests = {name: f"$2a$10${name}" for name in settings.oidc_client_names()}
    clients = authelia.render_oidc(settings, "pem", digests)["identity_providers"]["oidc"]["clients"]
    rules = authelia.render_configuration(settings, "authelia", "authelia")["access_control"]["rules"]
    by_domain = {tuple(r["domain"]): r["policy"] for r in rules if "resources" not in r}
    assert [c["client_id"] for c in clients] == ["grafana", "immich-server"]
    for client in clients:
        name = client["client_id"]
        assert client["public"] is False and client["client_secret"] == digests[name], name
        # signing in to the app through OIDC asks for the same factors as its web route
        assert client["authorization_policy"] == by_domain[tuple(authelia_hosts(settings, name))], name
        assert client["redirect_uris"] == authelia.redirect_uris(settings.service(name), settings)
    assert authelia.redirect_uris(settings.service("grafana"), settings) == [
        "https://grafana.media.example.org/login/generic_oauth"
    ]
    assert authelia.redirect_uris(settings.service("sonarr"), settings) == []  # no OIDC client


def test_file_users_are_enabled_and_may_reset_their_password() -> None:
    settings = stack_settings("prod", edge={"auth": {"users": [{"username": "ann", "displayName": "Ann",
                                                                 "email": "ann@example.org"}]}})  # fmt: skip
    users = authelia.render_users(settings, {"admin": "$2a$10$a", "ann": "$2a$10$b"})["users"]
    assert {name: (user["disabled"], user["password"]) for name, user in users.items()} == {
        "admin": (False, "$2a$10$a"),
        "ann": (False, "$2a$10$b"),
    }
    backend = authelia.render_configuration(settings, "authelia", "authelia")["authentication_backend"]
    assert backend["password_reset"] == {"disable": False}  # by the e-mail address each user has
