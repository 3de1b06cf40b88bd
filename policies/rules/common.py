"""What every rule shares: resource types, reading props as the engine sends them, allowlists, policy objects.

Props arrive as the engine hands them to a policy: camelCase keys, numbers as
floats, secrets unwrapped, wrapped in pulumi_policy's unknown-checking proxy
(Mappings and Sequences, not dicts and lists). Reading a value that is not
known yet raises UnknownValueError; rules never catch it, so the engine
reports "can't run during preview" instead of a pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

PROJECT = "media-server"

CONTAINER = "docker:index/container:Container"
HOST_FILES = "media-server:app:HostFiles"
"""Files written on the host for a container: props `uploads` (plain) and `secretUploads`, shaped like a
container's `uploads`, and `labels`."""
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
NETWORK = "docker:index/network:Network"
DOCKER_PROVIDER = "pulumi:providers:docker"
DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"
ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting"
RULESET = "cloudflare:index/ruleset:Ruleset"
BOT_MANAGEMENT = "cloudflare:index/botManagement:BotManagement"

LABEL_SERVICE = "media-server.service"
LABEL_TIER = "media-server.tier"

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

RULE_NAME = re.compile(r"^ms-(?P<num>\d{3})-[a-z0-9-]+$")


# ------------------------------------------------------------------ reading props
def is_map(value: object) -> bool:
    return isinstance(value, Mapping)


def is_list(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def items(value: object) -> list[Any]:
    """The elements of a list-like value (every element is read, so an unknown one raises)."""
    return list(value) if is_list(value) else []  # type: ignore[call-overload]


def text(value: object) -> str:
    return value if isinstance(value, str) else ""


def truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on")


def number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def fmt(value: float) -> str:
    """A number as people write it (the engine sends 80 as 80.0)."""
    return f"{value:g}"


def get_path(value: object, *path: str) -> Any:
    """Nested lookup through maps; None when any step is missing."""
    for key in path:
        if not is_map(value):
            return None
        value = value.get(key)  # type: ignore[attr-defined]
    return value


def ci_get(mapping: object, key: str) -> Any:
    """Case-insensitive key lookup (Traefik keys from env vars arrive lowercased)."""
    if not is_map(mapping):
        return None
    wanted = key.lower()
    for k in mapping:  # type: ignore[attr-defined]
        if isinstance(k, str) and k.lower() == wanted:
            return mapping[k]  # type: ignore[index]
    return None


def ci_path(value: object, *path: str) -> Any:
    for key in path:
        value = ci_get(value, key)
        if value is None:
            return None
    return value


# ------------------------------------------------------------------ containers
@dataclass(frozen=True)
class Resource:
    """One resource as a rule sees it (a resource policy's args or a stack policy's resource)."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    secret_outputs: tuple[str, ...] = ()
    """The resource's additional_secret_outputs (camelCase property names)."""

    @staticmethod
    def of(args: ResourceValidationArgs | PolicyResource) -> Resource:
        secret = tuple(str(n) for n in (args.opts.additional_secret_outputs or [])) if args.opts else ()
        return Resource(type=args.resource_type, name=args.name, urn=args.urn, props=args.props, secret_outputs=secret)

    @property
    def labels(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in items(self.props.get("labels")):
            if is_map(item):
                out[text(item.get("label"))] = text(item.get("value"))
        return out

    @property
    def service(self) -> str:
        """The catalog name (label media-server.service), else the container name, else the resource name."""
        return self.labels.get(LABEL_SERVICE) or text(self.props.get("name")) or self.name

    @property
    def tier(self) -> str:
        return self.labels.get(LABEL_TIER, "")

    @property
    def envs(self) -> list[tuple[str, str]]:
        out = []
        for entry in items(self.props.get("envs")):
            key, sep, value = text(entry).partition("=")
            if sep:
                out.append((key, value))
        return out


class _Merged(Mapping[str, Any]):
    """A container's props with the files written for it on the host added to its uploads."""

    def __init__(self, props: Mapping[str, Any], files: list[Any]) -> None:
        self._props, self._files = props, files

    def __getitem__(self, key: str) -> Any:
        if key == "uploads":
            return [*items(self._props.get("uploads")), *self._files]
        return self._props[key]

    def __iter__(self) -> Iterator[str]:
        return iter({*self._props, "uploads"})

    def __len__(self) -> int:
        return len({*self._props, "uploads"})


def containers(resources: Iterable[PolicyResource]) -> list[Resource]:
    """Every container, with the files written on the host for it (HostFiles) among its uploads: a stack
    rule sees a container's whole configuration however it is delivered."""
    resources = list(resources)
    written: dict[str, list[Any]] = {}
    for r in resources:
        if r.resource_type == HOST_FILES:
            files = Resource.of(r)
            # Plain and secret files are two properties (secretness would spread over one); the engine
            # hands policies both unwrapped.
            for key in ("uploads", "secretUploads"):
                written.setdefault(files.service, []).extend(items(files.props.get(key)))
    found = [Resource.of(r) for r in resources if r.resource_type == CONTAINER]
    return [replace(c, props=_Merged(c.props, written[c.service])) if c.service in written else c for c in found]


def of_type(resources: Iterable[PolicyResource], type_token: str) -> list[Resource]:
    return [Resource.of(r) for r in resources if r.resource_type == type_token]


# ------------------------------------------------------------------ service kinds
KINDS = ("database", "cache", "search", "auth", "proxy", "monitoring")
_KIND_WORDS: dict[str, tuple[str, ...]] = {
    "database": ("postgres", "postgresql", "postgis", "mariadb", "mysql", "mongo", "mongodb", "couchdb", "timescaledb"),
    "cache": ("redis", "valkey", "keydb", "memcached", "dragonfly"),
    "search": ("elasticsearch", "opensearch", "meilisearch", "typesense", "solr"),
    "auth": ("authelia", "lldap", "authentik", "keycloak", "openldap"),
    "proxy": ("traefik", "caddy", "nginx", "haproxy", "crowdsec"),
    "monitoring": ("prometheus", "loki", "alertmanager", "mimir", "tempo", "victoriametrics", "influxdb", "thanos"),
}
_TIER_KINDS = {"data": "database", "auth": "auth", "edge": "proxy"}


def kind_of(res: Resource, overrides: Mapping[str, Any]) -> str | None:
    """What a container is, from its catalog name (then its tier): configured kinds win.

    Exporters are not backends even when named after one (postgres-exporter).
    """
    service = res.service
    configured = overrides.get(service) if is_map(overrides) else None
    if isinstance(configured, str):
        return configured
    words = set(re.split(r"[^a-z0-9]+", service.lower()))
    if "exporter" in words:
        return None
    for kind, keywords in _KIND_WORDS.items():
        if words & set(keywords):
            return kind
    return _TIER_KINDS.get(res.tier)


KINDS_PROPERTY: dict[str, Any] = {
    "type": "object",
    "description": "Service kind by catalog name, for services the built-in names and tiers do not classify.",
    "additionalProperties": {"type": "string", "enum": list(KINDS)},
    "default": {},
}


# ------------------------------------------------------------------ allowlists
JUSTIFICATION_MIN_CHARS = 20
_PLACEHOLDERS = {"todo", "tbd", "fixme", "n/a", "na", "none", "xxx", "temp", "temporary", "test", "because"}


def justified(value: object) -> bool:
    if not isinstance(value, str):
        return False
    words = value.strip()
    return len(words) >= JUSTIFICATION_MIN_CHARS and words.lower().strip(".! ") not in _PLACEHOLDERS


def allowlist_property(description: str, fields: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """JSON schema of an allowlist keyed by service. `justification` is not schema-required on purpose:
    an entry without one must surface as a violation, not as a config error that stops the engine."""
    entry: dict[str, Any] = {
        "type": "object",
        "properties": {
            "justification": {"type": "string", "description": "Why this service needs the exception."},
            **(fields or {}),
        },
        "additionalProperties": False,
    }
    return {"type": "object", "description": description, "additionalProperties": entry, "default": {}}


def allowlist_entry(config: Mapping[str, Any], service: str, report: Report) -> Mapping[str, Any] | None:
    """The service's allowlist entry when it carries a justification; an unjustified entry is reported and ignored."""
    entries = config.get("allowlist") or {}
    entry = entries.get(service) if isinstance(entries, Mapping) else None
    if not isinstance(entry, Mapping):
        return None
    if not justified(entry.get("justification")):
        report(
            f"the allowlist entry for {service!r} has no justification, so it is ignored; "
            f"fix: add a 'justification' of at least {JUSTIFICATION_MIN_CHARS} characters saying why {service} needs it"
        )
        return None
    return entry


def entry_strings(entry: Mapping[str, Any] | None, key: str) -> list[str]:
    if entry is None:
        return []
    return [str(v) for v in (entry.get(key) or []) if isinstance(v, str)]


# ------------------------------------------------------------------ policy objects
class Report(Protocol):
    """Report one violation; a stack rule names the resource by URN (the engine's report_violation)."""

    def __call__(self, message: str, urn: str | None = None, /) -> None: ...


Check = Callable[[Resource, Mapping[str, Any], Report], None]
StackCheck = Callable[[Sequence[PolicyResource], Mapping[str, Any], Report], None]


def at(report: Report, urn: str) -> Report:
    """A reporter that ties violations to this resource unless told otherwise."""

    def emit(message: str, other: str | None = None, /) -> None:
        report(message, other or urn)

    return emit


def _reporter(report: ReportViolation) -> Report:
    def emit(message: str, urn: str | None = None, /) -> None:
        report(message, urn)

    return emit


def rule_id(policy_name: str) -> str:
    match = RULE_NAME.match(policy_name)
    if not match:
        raise ValueError(f"policy name {policy_name!r} does not carry a rule ID (ms-NNN-...)")
    return f"MS-{match['num']}"


def _metadata(
    name: str, description: str, level: EnforcementLevel, remediation: str, config: Mapping[str, Any] | None
) -> dict[str, Any]:
    rule_id(name)  # a name without an ID is a programming error, caught at import
    return {
        "name": name,
        "description": description,
        "enforcement_level": level,
        "config_schema": PolicyConfigSchema(properties=dict(config)) if config else None,
        "remediation_steps": remediation,
    }


def resource_rule(
    name: str,
    description: str,
    level: EnforcementLevel,
    types: tuple[str, ...],
    check: Check,
    remediation: str,
    config: Mapping[str, Any] | None = None,
) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type in types:
            check(Resource.of(args), args.get_config() or {}, _reporter(report))

    return ResourceValidationPolicy(validate=validate, **_metadata(name, description, level, remediation, config))


def stack_rule(
    name: str,
    description: str,
    level: EnforcementLevel,
    check: StackCheck,
    remediation: str,
    config: Mapping[str, Any] | None = None,
) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        check(args.resources, args.get_config() or {}, _reporter(report))

    return StackValidationPolicy(validate=validate, **_metadata(name, description, level, remediation, config))
