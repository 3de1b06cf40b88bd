"""Reading stack config: once, in __main__.py, and for the offline check from stack files.

Structured values arrive as JSON text (Pulumi's wire form for objects and
lists); secrets that the program cannot generate are read as Pulumi secrets
and never enter the settings model.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import config as runtime_config
from pydantic import ValidationError

from config.problems import NAMESPACE, Problem, SettingsError, problems_from
from config.search import SECRET_KEYS as SEARCH_SECRET_KEYS
from config.search import source_plans
from config.settings import Settings
from config.stack_yaml import StackFileError, load_yaml_file, mapping_items, mark, value_node

SECRET_KEYS: dict[str, str] = {
    "sshPrivateKey": "Private key for Docker over SSH and host preparation (host.auth = key).",
    "cloudflareApiToken": "Cloudflare API token for the program, scoped to the zone: Zone DNS Edit, Zone WAF Edit "
    "(custom and rate limiting rules), Cache Rules Edit, Zone Settings Edit; with cloudflare.mode tunnel also "
    "Account Cloudflare Tunnel Edit.",
    "cloudflareDnsToken": "Cloudflare API token for Traefik's ACME DNS-01 challenge only: Zone Read and DNS Edit on "
    "the zone (a token apart from cloudflareApiToken, so the proxy cannot touch the WAF or zone settings).",
    "vpnWireguardPrivateKey": "WireGuard private key from the VPN provider (media.vpn.type wireguard).",
    "vpnWireguardPresharedKey": "Optional WireGuard preshared key, for providers that issue one.",
    "vpnUser": "OpenVPN user name from the VPN provider (media.vpn.type openvpn).",
    "vpnPassword": "OpenVPN password from the VPN provider (media.vpn.type openvpn).",
    "alertSmtpPassword": "SMTP password for alert e-mail (alerts.email.username).",
    "alertWebhookUrl": "Webhook URL for alerts (Discord/Slack/ntfy/generic; it embeds the channel's token).",
    "alertTelegramBotToken": "Telegram bot token for alerts (alerts.telegram).",
    "smtpPassword": "Password of the mail relay Authelia sends codes through (edge.auth.smtp).",
    "backupRepositoryPassword": "Optional: the restic repositories' password to use instead of generating one "
    "(restoring onto a new stack).",
    "backupS3AccessKeyId": "Access key ID for S3-compatible off-site backup repositories (backup.offsite kind s3).",
    "backupS3SecretAccessKey": "Secret access key for S3-compatible off-site backup repositories.",
    "backupB2AccountId": "Backblaze B2 application key ID for off-site backup repositories (kind b2).",
    "backupB2AccountKey": "Backblaze B2 application key for off-site backup repositories.",
    "backupSftpPrivateKey": "SSH private key for SFTP off-site backup repositories (kind sftp).",
    "backupRcloneConfig": "rclone.conf text defining the remotes of rclone off-site backup repositories (kind rclone).",
    **{key: what for key, what in SEARCH_SECRET_KEYS.values()},
}
"""Secret config the program reads but cannot generate: key -> what it is. Set with --secret."""

OFFLINE_SECRET_PLACEHOLDER = "offline-placeholder-secret"  # noqa: S105 - stands in for ciphertext


@dataclass(frozen=True)
class Site:
    """Validated settings plus the secret config values (as Pulumi secrets)."""

    settings: Settings
    secrets: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)

    def secret(self, key: str) -> pulumi.Output[str] | None:
        return self.secrets.get(key)


def _decode(value: str) -> Any:
    text = value.strip()
    if text[:1] in "{[":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return value
    return value


def parse_settings(raw: Mapping[str, Any]) -> Settings:
    """Validate plain (non-secret) config values, keyed without the namespace. Raises SettingsError."""
    try:
        return Settings.model_validate(dict(raw))
    except ValidationError as exc:
        raise SettingsError(problems_from(exc, Settings, top_level_extra=list(SECRET_KEYS))) from None


def _config_keys() -> set[str]:
    # The SDK has no public "list keys": the engine hands config over in these two places.
    return set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())


def _is_secret(full_key: str) -> bool:
    # Under the CLI the secret key list arrives in the environment; under mocks, through set_all_config.
    return runtime_config.is_config_secret(full_key) or full_key in runtime_config.get_config_secret_keys_env()


def load_site() -> Site:
    """Read every `media-server:` key once. Called only from __main__.py."""
    cfg = pulumi.Config(NAMESPACE)
    raw: dict[str, Any] = {}
    secrets: dict[str, pulumi.Output[str]] = {}
    problems: list[Problem] = []
    for full_key in sorted(_config_keys()):
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            if (unknown := namespace_problem(full_key)) is not None:
                problems.append(unknown)
            continue
        if key in SECRET_KEYS:
            if not _is_secret(full_key):
                problems.append(
                    Problem(full_key, "a plain value", f"must be set with `pulumi config set --secret {key}`")
                )
                continue
            value = cfg.get_secret(key)
            if value is not None:
                secrets[key] = value
            continue
        value_text = cfg.get(key)
        if value_text is not None:
            raw[key] = _decode(value_text)
    try:
        settings = parse_settings(raw)
    except SettingsError as exc:
        problems.extend(exc.problems)
        raise SettingsError(problems) from None
    if problems:
        raise SettingsError(problems)
    _require_secrets(settings, secrets)
    return Site(settings=settings, secrets=secrets)


def settings_of(stack: StackConfig) -> Settings:
    """The validated settings of a stack file's config, as load_site reads them (secret keys left out).
    Raises SettingsError. For reports that explain a plan; the program itself reads config through load_site."""
    prefix = f"{NAMESPACE}:"
    raw = {
        key.removeprefix(prefix): _decode(value)
        for key, value in stack.values.items()
        if key.startswith(prefix) and key.removeprefix(prefix) not in SECRET_KEYS
    }
    return parse_settings(raw)


def _require_secrets(settings: Settings, secrets: Mapping[str, object]) -> None:
    problems = []
    if settings.host.mode == "ssh" and settings.host.auth == "key" and "sshPrivateKey" not in secrets:
        problems.append(Problem(f"{NAMESPACE}:sshPrivateKey", "nothing", "host.auth is key; set the key with --secret"))
    if settings.cloudflare.enabled and "cloudflareApiToken" not in secrets:
        problems.append(
            Problem(f"{NAMESPACE}:cloudflareApiToken", "nothing", "Cloudflare is enabled; set the token with --secret")
        )
    if settings.cloudflare.enabled and settings.tiers.edge and "cloudflareDnsToken" not in secrets:
        problems.append(
            Problem(
                f"{NAMESPACE}:cloudflareDnsToken",
                "nothing",
                "Cloudflare is enabled, so Traefik gets its certificates by DNS-01; set a token with only Zone Read "
                "and DNS Edit on the zone with --secret",
            )
        )
    problems.extend(_vpn_secret_problems(settings, secrets))
    if settings.tiers.monitoring:
        for key, why in settings.alerts.required_secrets().items():
            if key not in secrets:
                problems.append(Problem(f"{NAMESPACE}:{key}", "nothing", f"{why} with --secret"))
    if settings.tiers.edge and settings.edge.auth.smtp is not None and "smtpPassword" not in secrets:
        problems.append(
            Problem(
                f"{NAMESPACE}:smtpPassword", "nothing", "edge.auth.smtp is set; set the relay password with --secret"
            )
        )
    problems.extend(_search_secret_problems(settings, secrets))
    if settings.tiers.backup:
        for i, repo in enumerate(settings.backup.offsite):
            for key in repo.secret_keys:
                if key not in secrets:
                    problems.append(
                        Problem(
                            f"{NAMESPACE}:{key}",
                            "nothing",
                            f"backup.offsite[{i}] ({repo.name}) is a {repo.kind} repository; set {key} with --secret",
                        )
                    )
    if problems:
        raise SettingsError(problems)


def _search_secret_problems(settings: Settings, secrets: Mapping[str, object]) -> list[Problem]:
    """Navidrome's Subsonic API logs in with a user and its password: one without the other is a mistake."""
    key = SEARCH_SECRET_KEYS["navidrome"][0]
    navidrome = next(plan for plan in source_plans(settings) if plan.source == "navidrome")
    if not settings.is_enabled("search") or not navidrome.indexed:
        return []
    if key in secrets and settings.search.source("navidrome").user is None:
        return [
            Problem(
                f"{NAMESPACE}:search.sources.navidrome.user",
                "nothing",
                f"{key} is set, so the search service logs in to Navidrome; expected the user it belongs to",
            )
        ]
    return []


def vpn_secret_keys(settings: Settings) -> tuple[str, ...]:
    """The secret config keys gluetun needs for the configured VPN type."""
    return ("vpnWireguardPrivateKey",) if settings.media.vpn.type == "wireguard" else ("vpnUser", "vpnPassword")


def _vpn_secret_problems(settings: Settings, secrets: Mapping[str, object]) -> list[Problem]:
    if not settings.is_enabled("gluetun"):
        return []
    return [
        Problem(
            f"{NAMESPACE}:{key}",
            "nothing",
            f"the download client's traffic leaves only through the VPN (media.vpn.type {settings.media.vpn.type}); "
            f"set the provider's credential with `pulumi config set --secret {key}`",
        )
        for key in vpn_secret_keys(settings)
        if key not in secrets
    ]


# ------------------------------------------------------------------ stack files (offline)
@dataclass(frozen=True)
class StackConfig:
    """Config as the engine would hand it to the program: `ns:key` -> text, plus the secret keys."""

    name: str
    values: dict[str, str]
    secret_keys: list[str]


ENGINE_NAMESPACE = "pulumi"
"""The engine's own config namespace (pulumi:disable-default-providers and the like)."""


def known_keys() -> list[str]:
    """Every `media-server:` key a stack may set: the settings' top-level keys and the secret keys."""
    fields = [f.alias or name for name, f in Settings.model_fields.items()]
    return sorted(f"{NAMESPACE}:{key}" for key in [*fields, *SECRET_KEYS])


def nearest(key: str, known: list[str]) -> str:
    """ "; did you mean X?" for the closest known key, or ""."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def namespace_problem(full_key: str, where: str | None = None) -> Problem | None:
    """A config key outside the project's (and the engine's) namespace: a typo the program would silently ignore."""
    namespace, sep, _ = full_key.partition(":")
    if not sep or namespace in (NAMESPACE, ENGINE_NAMESPACE):
        return None
    return Problem(
        where or full_key,
        json.dumps(full_key),
        f"unknown config namespace {namespace!r}: this program reads only {NAMESPACE}:<key>"
        + nearest(full_key, known_keys()),
    )


def _config_section(path: Path, doc: Any, root: yaml.Node | None, default_namespace: str) -> dict[str, Any]:
    """The `config:` mapping of a project or stack file, keys made `namespace:key`; StackFileError when malformed."""
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise StackFileError(
            mark(path, root), f"the file is a {type(doc).__name__}; expected a mapping with a config: key"
        )
    config = doc.get("config")
    config_node = value_node(root, "config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise StackFileError(
            mark(path, config_node), f"config is a {type(config).__name__}; expected a mapping of keys"
        )
    places = mapping_items(config_node)
    problems: list[Problem] = []
    merged: dict[str, Any] = {}
    for key, value in config.items():
        if not isinstance(key, str):
            problems.append(
                Problem(str(path), json.dumps(key, default=str), "config keys are text such as media-server:domain")
            )
            continue
        full = key if ":" in key else f"{default_namespace}:{key}"
        found = namespace_problem(full, mark(path, places.get(key)))
        if found is not None:
            problems.append(found)
            continue
        merged[full] = value
    if problems:
        raise SettingsError(problems)
    return merged


def _read(path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        return load_yaml_file(path)
    except StackFileError as exc:
        raise SettingsError([Problem(exc.where, exc.value, exc.message)]) from None


def _project_defaults(project_file: Path) -> dict[str, Any]:
    doc, root = _read(project_file)
    name = doc.get("name", NAMESPACE) if isinstance(doc, dict) else NAMESPACE
    defaults: dict[str, Any] = {}
    try:
        section = _config_section(project_file, doc, root, str(name))
    except StackFileError as exc:
        raise SettingsError([Problem(exc.where, exc.value, exc.message)]) from None
    for full, value in section.items():
        if isinstance(value, dict) and ("default" in value or "type" in value):
            if "default" in value:
                defaults[full] = value["default"]
        else:
            defaults[full] = value
    return defaults


def load_stack_file(stack_file: Path, project_file: Path | None = None) -> StackConfig:
    """Merge Pulumi.yaml defaults with a Pulumi.<stack>.yaml, the way the CLI does.

    Raises SettingsError (each problem at file:line:column) when a file is not valid YAML, not a mapping, too
    large once its aliases are expanded, or sets a key outside the project's namespace."""
    project_file = project_file or stack_file.with_name("Pulumi.yaml")
    merged: dict[str, Any] = _project_defaults(project_file) if project_file.exists() else {}
    doc, root = _read(stack_file)
    try:
        merged.update(_config_section(stack_file, doc, root, NAMESPACE))
    except StackFileError as exc:
        raise SettingsError([Problem(exc.where, exc.value, exc.message)]) from None
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in merged.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[key] = OFFLINE_SECRET_PLACEHOLDER
            secret_keys.append(key)
        elif isinstance(value, str):
            values[key] = value
        else:
            values[key] = json.dumps(value)
    return StackConfig(name=stack_name(stack_file), values=values, secret_keys=sorted(secret_keys))


def stack_name(stack_file: Path) -> str:
    return stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
