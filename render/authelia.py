"""Authelia's configuration, users database and OIDC provider, as data.

configuration.yml holds no secret: every secret is a file of its own under
/config/secrets, named by an AUTHELIA_*_FILE variable (secret_files). The
OIDC provider (its signing key and the clients' secret digests) is a second
configuration file, /config/secrets/oidc.yml, merged by Authelia
(X_AUTHELIA_CONFIG lists both). The tests validate every document against
Authelia's published JSON schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from config.pathregex import authelia_resource
from config.settings import Settings
from config.spec import AuthPolicy, ServiceSpec
from render.routes import admins_group, auth_portal_host, site_routes

CONFIG_PATH = "/config/configuration.yml"
USERS_PATH = "/config/users_database.yml"
SECRETS_DIR = "/config/secrets"
OIDC_PATH = f"{SECRETS_DIR}/oidc.yml"
NOTIFICATIONS_PATH = "/config/notification.txt"
PORT = 9091
METRICS_PORT = 9959
LDAP_ADDRESS = "ldap://lldap:3890"

# Secret -> the environment variable Authelia reads the file path from: AUTHELIA_ + the configuration key
# in capitals with '_' for '.', + _FILE. Only keys listed as secrets may be loaded so (v4.39.20,
# docs/content/configuration/methods/secrets.md; tests/test_secret_files.py keeps the list).
_SECRET_ENV = {
    "session": "AUTHELIA_SESSION_SECRET_FILE",
    "jwt": "AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET_FILE",
    "storage-encryption-key": "AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE",
    "postgres-password": "AUTHELIA_STORAGE_POSTGRES_PASSWORD_FILE",
    "redis-password": "AUTHELIA_SESSION_REDIS_PASSWORD_FILE",
    "smtp-password": "AUTHELIA_NOTIFIER_SMTP_PASSWORD_FILE",
    "ldap-password": "AUTHELIA_AUTHENTICATION_BACKEND_LDAP_PASSWORD_FILE",
    "oidc-hmac": "AUTHELIA_IDENTITY_PROVIDERS_OIDC_HMAC_SECRET_FILE",
}

ARGON2 = {
    "variant": "argon2id",
    "iterations": 3,
    "memory": 65536,
    "parallelism": 4,
    "key_length": 32,
    "salt_length": 16,
}


def secret_files(settings: Settings) -> dict[str, str]:
    """The secrets this site's Authelia reads: name -> container path (see secret_env)."""
    names = ["session", "jwt", "storage-encryption-key", "postgres-password", "redis-password"]
    if settings.edge.auth.smtp is not None:
        names.append("smtp-password")
    if settings.edge.auth.backend == "ldap":
        names.append("ldap-password")
    if settings.oidc_client_names():
        names.append("oidc-hmac")
    return {name: f"{SECRETS_DIR}/{name}" for name in names}


def config_env(settings: Settings) -> dict[str, str]:
    """Plain environment: where each secret file is, and which configuration files to merge."""
    env = {_SECRET_ENV[name]: path for name, path in secret_files(settings).items()}
    env["X_AUTHELIA_CONFIG"] = ",".join([CONFIG_PATH, OIDC_PATH] if settings.oidc_client_names() else [CONFIG_PATH])
    return env


def access_rules(settings: Settings) -> list[dict[str, Any]]:
    """Bypass paths first (the first matching rule wins), then one rule per app; everything else is denied."""
    routes = [r for r in site_routes(settings) if r.app != "authelia"]
    rules: list[dict[str, Any]] = [
        {"domain": list(r.hosts), "resources": [authelia_resource(r.path)], "policy": AuthPolicy.BYPASS.value}
        for r in routes
        if r.path is not None
    ]
    for route in routes:
        if route.path is not None or route.login is not None:
            continue
        rule: dict[str, Any] = {"domain": list(route.hosts), "policy": route.policy.value}
        if route.admin:
            rule["subject"] = [f"group:{admins_group(settings)}"]
        rules.append(rule)
    return rules


def ldap_base_dn(settings: Settings) -> str:
    return ",".join(f"dc={label}" for label in settings.domain.split("."))


def _authentication_backend(settings: Settings) -> dict[str, Any]:
    auth = settings.edge.auth
    backend: dict[str, Any] = {"password_reset": {"disable": False}, "refresh_interval": "5m"}
    if auth.backend == "ldap":
        base_dn = ldap_base_dn(settings)
        backend["ldap"] = {
            "address": LDAP_ADDRESS,
            "implementation": "lldap",
            "timeout": "5s",
            "start_tls": False,
            "base_dn": base_dn,
            "user": f"uid={auth.admin_user},ou=people,{base_dn}",
        }
    else:
        backend["file"] = {
            "path": USERS_PATH,
            "watch": False,
            "password": {"algorithm": "argon2", "argon2": ARGON2},
        }
    return backend


def _home_url(settings: Settings) -> str | None:
    for spec in settings.enabled_services():
        if spec.apex and spec.routed:
            return f"https://{settings.domain}"
    return None


def _session(settings: Settings) -> dict[str, Any]:
    auth = settings.edge.auth
    cookie: dict[str, Any] = {
        "domain": settings.domain,
        "authelia_url": f"https://{auth_portal_host(settings)}",
        "name": "authelia_session",
        "same_site": "lax",
        "expiration": auth.session_expiration,
        "inactivity": auth.session_inactivity,
        "remember_me": auth.remember_me,
    }
    home = _home_url(settings)
    if home:
        cookie["default_redirection_url"] = home
    return {"cookies": [cookie], "redis": {"host": "redis", "port": 6379, "database_index": 0}}


def _notifier(settings: Settings) -> dict[str, Any]:
    smtp = settings.edge.auth.smtp
    if smtp is None:
        return {"disable_startup_check": False, "filesystem": {"filename": NOTIFICATIONS_PATH}}
    return {
        "disable_startup_check": False,
        "smtp": {"address": smtp.address, "username": smtp.username, "sender": smtp.sender, "subject": "[{title}]"},
    }


def render_configuration(settings: Settings, database: str, role: str) -> dict[str, Any]:
    """configuration.yml for this site. `database`/`role` name Authelia's login on the shared PostgreSQL."""
    auth = settings.edge.auth
    return {
        "theme": "auto",
        "default_2fa_method": "totp",
        "server": {
            "address": f"tcp://:{PORT}/",
            # The image's healthcheck writes into /app; the root filesystem is read-only, so the container
            # healthcheck asks /api/health directly instead.
            "disable_healthcheck": True,
            "endpoints": {"authz": {"forward-auth": {"implementation": "ForwardAuth"}}},
        },
        "log": {"level": "info", "format": "json"},
        "telemetry": {"metrics": {"enabled": True, "address": f"tcp://:{METRICS_PORT}/metrics"}},
        "totp": {"issuer": settings.domain, "period": 30, "digits": 6},
        "webauthn": {"display_name": settings.domain},
        "ntp": {"disable_failure": True},
        "authentication_backend": _authentication_backend(settings),
        "password_policy": {
            "standard": {
                "enabled": True,
                "min_length": auth.password_min_length,
                "max_length": 128,
                "require_uppercase": True,
                "require_lowercase": True,
                "require_number": True,
                "require_special": False,
            }
        },
        "access_control": {"default_policy": "deny", "rules": access_rules(settings)},
        "session": _session(settings),
        # Bans by user and by client address (the real client: see render.traefik.trusted_proxies).
        "regulation": {
            "modes": ["user", "ip"],
            "max_retries": auth.max_retries,
            "find_time": auth.find_time,
            "ban_time": auth.ban_time,
        },
        "storage": {
            "postgres": {"address": "tcp://postgres:5432", "database": database, "username": role, "schema": "public"}
        },
        "notifier": _notifier(settings),
    }


def users(settings: Settings) -> list[dict[str, Any]]:
    """Users of the file backend (the admin first), without passwords."""
    auth = settings.edge.auth
    admin = {
        "username": auth.admin_user,
        "displayname": "Administrator",
        "email": auth.admin_email or f"admin@{settings.domain}",
        "groups": [admins_group(settings)],
    }
    extra = [
        {"username": u.username, "displayname": u.display_name, "email": u.email, "groups": list(u.groups)}
        for u in auth.users
    ]
    return [admin, *extra]


def render_users(settings: Settings, password_hashes: Mapping[str, str]) -> dict[str, Any]:
    """users_database.yml: each user with the bcrypt hash of a generated password."""
    return {
        "users": {
            user["username"]: {
                "disabled": False,
                "displayname": user["displayname"],
                "password": password_hashes[user["username"]],
                "email": user["email"],
                "groups": user["groups"],
            }
            for user in users(settings)
        }
    }


def redirect_uris(spec: ServiceSpec, settings: Settings) -> list[str]:
    client = spec.oidc_client
    if client is None:
        return []
    return [f"https://{spec.subdomain}.{settings.domain}{path}" for path in client.redirect_paths] + list(
        client.extra_redirect_uris
    )


def render_oidc(settings: Settings, signing_key_pem: str, client_secret_digests: Mapping[str, str]) -> dict[str, Any]:
    """The OIDC provider: signing key and one client per app (client_id = catalog name)."""
    clients = []
    for name in settings.oidc_client_names():
        spec = settings.service(name)
        client = spec.oidc_client
        assert client is not None  # settings.oidc_client_names lists only apps with a client spec
        clients.append(
            {
                "client_id": name,
                "client_name": spec.display_name,
                "client_secret": client_secret_digests[name],
                "public": False,
                "authorization_policy": "two_factor" if spec.effective_auth is AuthPolicy.TWO_FACTOR else "one_factor",
                "require_pkce": client.require_pkce,
                **({"pkce_challenge_method": "S256"} if client.require_pkce else {}),
                "redirect_uris": redirect_uris(spec, settings),
                "scopes": list(client.scopes),
                "response_types": ["code"],
                "grant_types": ["authorization_code"],
                "userinfo_signed_response_alg": "none",
                "token_endpoint_auth_method": client.token_endpoint_auth_method,
            }
        )
    return {
        "identity_providers": {
            "oidc": {
                "jwks": [{"key_id": "main", "algorithm": "RS256", "use": "sig", "key": signing_key_pem}],
                "cors": {
                    "endpoints": ["authorization", "token", "revocation", "introspection", "userinfo"],
                    "allowed_origins_from_client_redirect_uris": True,
                },
                "clients": clients,
            }
        }
    }
