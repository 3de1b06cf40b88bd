"""Authelia: its secrets, its access control and regulation, its password hashing (MS-022 to MS-024)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource

from .common import (
    ADVISORY,
    CONTAINER,
    HOST_FILES,
    MANDATORY,
    Report,
    Resource,
    containers,
    get_path,
    is_map,
    number,
    resource_rule,
    stack_rule,
    text,
)
from .edge import Authelia, access_rules, authelia_of, edge_of, load_yaml

_TEMPLATE_SECRET = re.compile(r"^\{\{\s*secret\s+[\"']([^\"']+)[\"']\s*\}\}$")
_WEAK = ("insecure", "changeme", "change_me", "example", "secret", "password", "you_must_generate", "a_very_important")


@dataclass(frozen=True)
class SecretSpec:
    label: str
    key: str
    path: tuple[str, ...]
    env: tuple[str, ...]
    min_chars: int


SECRETS = (
    SecretSpec("session secret", "session.secret", ("session", "secret"), ("AUTHELIA_SESSION_SECRET",), 64),
    SecretSpec(
        "reset-password JWT secret",
        "identity_validation.reset_password.jwt_secret",
        ("identity_validation", "reset_password", "jwt_secret"),
        ("AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET", "AUTHELIA_JWT_SECRET"),
        64,
    ),
    SecretSpec(
        "storage encryption key",
        "storage.encryption_key",
        ("storage", "encryption_key"),
        ("AUTHELIA_STORAGE_ENCRYPTION_KEY",),
        20,
    ),
)


def _from_file(cfg: Authelia, path: str) -> tuple[str | None, str]:
    if path in cfg.files:
        return cfg.files[path].strip(), path
    return None, f"{path}, which is not among the container's uploads so its value cannot be checked"


def secret_value(cfg: Authelia, spec: SecretSpec) -> tuple[str | None, str]:
    """(value, where it came from); value None when missing or not checkable (where says why)."""
    for name in spec.env:
        if name in cfg.env:
            return cfg.env[name], f"env {name}"
        if f"{name}_FILE" in cfg.env:
            return _from_file(cfg, cfg.env[f"{name}_FILE"])
    value = get_path(cfg.config, *spec.path)
    if value is None and spec.key.endswith("jwt_secret"):
        value = get_path(cfg.config, "jwt_secret")
    if isinstance(value, str):
        template = _TEMPLATE_SECRET.match(value.strip())
        return _from_file(cfg, template[1]) if template else (value, spec.key)
    return None, "nowhere (neither the configuration nor an AUTHELIA_*_FILE variable sets it)"


def _secrets_generated(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    cfg = authelia_of(res)
    if cfg is None or not cfg.present:
        return
    for error in cfg.errors:
        report(f"Authelia configuration {error}; fix: render it with render/serialise.py from a dict")
    seen: dict[str, str] = {}
    for spec in SECRETS:
        value, where = secret_value(cfg, spec)
        if value is None:
            report(
                f"Authelia's {spec.label} ({spec.key}) is set {where}; fix: generate it with RandomPassword and "
                f"upload it as a file named by {spec.env[0]}_FILE"
            )
            continue
        if len(value) < spec.min_chars:
            report(
                f"Authelia's {spec.label} from {where} has {len(value)} characters; fix: generate at least "
                f"{spec.min_chars} (RandomPassword length)"
            )
        if any(w in value.lower() for w in _WEAK) or len(set(value)) < 10:
            report(f"Authelia's {spec.label} from {where} does not look generated; fix: use a RandomPassword result")
        if value in seen:
            report(f"Authelia's {spec.label} reuses the {seen[value]}; fix: generate a separate value for each")
        seen.setdefault(value, spec.label)


def _secrets_in_stack(resources: Sequence[PolicyResource], config: Mapping[str, Any], report: Report) -> None:
    # A stack rule: the *_FILE variables are on the container, the files may be written on the host for it.
    for res in containers(resources):
        _secrets_generated(res, config, lambda message, urn=None, _res=res: report(message, urn or _res.urn))


ms_022 = stack_rule(
    "ms-022-authelia-secrets",
    "Authelia's session secret, reset-password JWT secret and storage encryption key are present and generated: "
    "the encryption key at least 20 characters, the others at least 64 (Authelia docs).",
    MANDATORY,
    _secrets_in_stack,
    "Generate each with pulumi-random (RandomPassword) and upload it as a file read through AUTHELIA_*_FILE.",
)


# ------------------------------------------------------------------ MS-023
ADMIN_SERVICES = (
    "traefik", "wireguard", "lldap", "sonarr", "radarr", "lidarr", "readarr", "mylar3", "prowlarr", "bazarr",
    "qbittorrent", "prometheus", "alertmanager", "jellystat",
)  # fmt: skip
"""The catalog's admin apps (a test keeps this in step with config/catalog.py)."""


def _access_control(resources: Sequence[PolicyResource], config: Mapping[str, Any], report: Report) -> None:
    edge = edge_of(containers(resources))
    cfg = edge.authelia
    if cfg is None:
        return
    urn = cfg.resource.urn
    default = text(get_path(cfg.config, "access_control", "default_policy")).strip().lower() or "deny"
    if default != "deny":
        report(f"Authelia's access_control.default_policy is {default}; fix: set it to deny", urn)
    regulation = get_path(cfg.config, "regulation")
    if is_map(regulation) and "max_retries" in regulation:
        retries = number(regulation.get("max_retries"))
        if retries is None or retries <= 0:
            report("Authelia's regulation is off (max_retries 0); fix: set regulation.max_retries to 3 or more", urn)
    admin = {str(s) for s in (config.get("adminServices") or ADMIN_SERVICES)}
    rules = access_rules(cfg)
    for host, app in sorted(edge.host_apps().items()):
        if app not in admin:
            continue
        for rule in rules:
            if not rule.matches(host):
                continue
            if rule.resources:
                if rule.policy == "one_factor":
                    report(f"admin app {app} ({host}) has paths with one_factor; fix: use two_factor", urn)
                continue
            if rule.policy in ("bypass", "one_factor"):
                report(
                    f"admin app {app} ({host}) is reachable with policy {rule.policy}; fix: give its access rule "
                    f"two_factor",
                    urn,
                )
            if not rule.conditional:
                break


ms_023 = stack_rule(
    "ms-023-authelia-access-control",
    "Authelia denies by default, admin apps need two_factor, and regulation is on with max_retries > 0 "
    "(Authelia access control, regulation).",
    MANDATORY,
    _access_control,
    "Set access_control.default_policy deny, two_factor rules for admin apps, and regulation.max_retries >= 1.",
    config={
        "adminServices": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Catalog names of admin apps (two_factor only).",
            "default": list(ADMIN_SERVICES),
        }
    },
)


# ------------------------------------------------------------------ MS-024
ARGON2_MINIMUM = {"iterations": 3, "memory": 65536, "parallelism": 4, "key_length": 32, "salt_length": 16}
_ARGON2_HASH = re.compile(r"^\$argon2id\$v=\d+\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)\$")
_BCRYPT_HASH = re.compile(r"\$2[aby]\$(?P<cost>[0-9]{2})\$[./A-Za-z0-9]{53}")
BCRYPT_MINIMUM_COST = 10
"""The program's users' hashes are pulumi-random's `bcryptHash` of a generated 32-character password (Go's
bcrypt.DefaultCost, 10). Authelia 4.39.20 verifies any hash go-crypt decodes, bcrypt's $2a$/$2b$/$2y$ included
(internal/authentication/file_user_provider_database.go: crypt.Decode), and hashes every password a user sets
with the configured algorithm (argon2id). Against ~190 bits of generated password the work factor is moot."""


def _password_hashing(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    cfg = authelia_of(res)
    if cfg is None or not cfg.present:
        return
    backend = get_path(cfg.config, "authentication_backend", "file")
    if not is_map(backend):
        return
    algorithm = text(get_path(backend, "password", "algorithm")).lower() or "argon2"
    if algorithm != "argon2":
        report(f"Authelia hashes passwords with {algorithm}; fix: use argon2 (argon2id)")
    argon2 = get_path(backend, "password", "argon2")
    if is_map(argon2):
        variant = text(argon2.get("variant")).lower() or "argon2id"
        if variant != "argon2id":
            report(f"Authelia's argon2 variant is {variant}; fix: use argon2id")
        for key, minimum in ARGON2_MINIMUM.items():
            value = number(argon2.get(key))
            if value is not None and value < minimum:
                report(f"Authelia's argon2 {key} is {value:g}, below the default {minimum}; fix: raise it")
    users = cfg.files.get(text(backend.get("path")))
    if users:
        _user_hashes(users, report)


def _user_hashes(users_file: str, report: Report) -> None:
    errors: list[str] = []
    doc = load_yaml("the users database", users_file, errors)
    for error in errors:
        report(f"Authelia's {error}; fix: render it with render/serialise.py")
    users = doc.get("users")
    for name, user in sorted(users.items()) if isinstance(users, dict) else ():
        digest = text(user.get("password")) if is_map(user) else ""
        match = _ARGON2_HASH.match(digest)
        bcrypt = _BCRYPT_HASH.fullmatch(digest)
        if bcrypt:
            if int(bcrypt["cost"]) < BCRYPT_MINIMUM_COST:
                report(
                    f"user {name}'s bcrypt hash has cost {int(bcrypt['cost'])}, below {BCRYPT_MINIMUM_COST}; "
                    "fix: rehash it (argon2id, or bcrypt at cost 10 or more of a generated password)"
                )
        elif not match:
            report(
                f"user {name}'s password is neither argon2id nor a generated password's bcrypt; "
                "fix: hash it with argon2id"
            )
        elif int(match["m"]) < 65536 or int(match["t"]) < 3 or int(match["p"]) < 4:
            report(f"user {name}'s argon2id hash is weaker than Authelia's default (m=65536,t=3,p=4); fix: rehash")


ms_024 = resource_rule(
    "ms-024-authelia-password-hashing",
    "Authelia's file backend hashes passwords with argon2id at no less than its default cost (Authelia file "
    "backend docs).",
    ADVISORY,
    (CONTAINER, HOST_FILES),
    _password_hashing,
    "Use authentication_backend.file.password.algorithm argon2 with Authelia's argon2id defaults.",
)
