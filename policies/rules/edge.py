"""The edge's configuration as the containers receive it: Traefik and Authelia files among the uploads.

Contract with the edge layer: Traefik's static file at /etc/traefik/traefik.yml,
dynamic files under /etc/traefik/dynamic/, Authelia's at /config/configuration.yml
(its secrets as *_FILE uploads). Traefik static settings given as command
arguments or TRAEFIK_* variables are read too. When none of it exists the
rules that need it have nothing to check and pass.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import yaml

from .common import Resource, ci_get, ci_path, get_path, is_list, is_map, items, number, text, truthy

TRAEFIK = "traefik"
AUTHELIA = "authelia"
TRAEFIK_STATIC = ("/etc/traefik/traefik.yml", "/etc/traefik/traefik.yaml")
TRAEFIK_DYNAMIC_DIR = "/etc/traefik/dynamic/"
AUTHELIA_CONFIG = ("/config/configuration.yml", "/config/configuration.yaml")


def upload_paths(res: Resource) -> list[str]:
    """Where a container's uploads go (read without touching contents, which may be unknown at preview)."""
    return [text(get_path(upload, "file")) for upload in items(res.props.get("uploads"))]


def uploaded_files(res: Resource) -> dict[str, str]:
    """Container path -> text of every upload (content or contentBase64)."""
    out: dict[str, str] = {}
    for upload in items(res.props.get("uploads")):
        path = text(get_path(upload, "file"))
        content = get_path(upload, "content")
        if isinstance(content, str):
            out[path] = content
            continue
        encoded = text(get_path(upload, "contentBase64"))
        if encoded:
            try:
                out[path] = base64.b64decode(encoded).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                out[path] = ""
    return out


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=128)
def _parse(content: str) -> tuple[Any, str]:
    """Every rule reads the same few files; parse each text once (callers get a copy)."""
    try:
        return yaml.load(content, Loader=_LOADER), ""  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        return None, str(exc).splitlines()[0]


def load_yaml(path: str, content: str, errors: list[str]) -> dict[str, Any]:
    doc, error = _parse(content)
    if error:
        errors.append(f"{path} is not valid YAML ({error})")
        return {}
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        errors.append(f"{path} is not a YAML mapping")
        return {}
    return copy.deepcopy(doc)


def _merge(into: dict[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in other.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value
    return into


def _set(tree: dict[str, Any], path: list[str], value: Any) -> None:
    node = tree
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = value


def _cli_static(args: Iterable[str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for arg in args:
        if not arg.startswith("--"):
            continue
        key, sep, value = arg[2:].partition("=")
        _set(tree, key.split("."), value if sep else "true")
    return tree


def _env_static(envs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in envs:
        if key.upper().startswith("TRAEFIK_"):
            _set(tree, key[len("TRAEFIK_") :].lower().split("_"), value)
    return tree


def enabled(node: Mapping[str, Any] | None, key: str) -> bool:
    """A Traefik section is on when its key is present (`api:` or `--api`) and not explicitly false."""
    if node is None or not any(isinstance(k, str) and k.lower() == key.lower() for k in node):
        return False
    value = ci_get(node, key)
    return not (value is False or (isinstance(value, str) and value.strip().lower() == "false"))


def as_list(value: object) -> list[str]:
    """A list from YAML, or a comma-separated CLI/env/label value."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [text(v) for v in items(value)] if is_list(value) else []


# ------------------------------------------------------------------ Traefik
@dataclass
class Traefik:
    resource: Resource
    static: dict[str, Any] = field(default_factory=dict)
    dynamic: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def present(self) -> bool:
        return bool(self.static or self.dynamic or self.errors)

    def section(self, *path: str) -> dict[str, Any]:
        found = ci_path(self.dynamic, *path)
        return found if isinstance(found, dict) else {}

    @property
    def entry_points(self) -> dict[str, Any]:
        found = ci_get(self.static, "entryPoints")
        return found if isinstance(found, dict) else {}

    @property
    def docker_provider(self) -> bool:
        return enabled(ci_get(self.static, "providers"), "docker") or enabled(ci_get(self.static, "providers"), "swarm")


def traefik_of(res: Resource) -> Traefik | None:
    """Traefik's configuration when this container is Traefik (by catalog name or by its config paths)."""
    if res.service != TRAEFIK and not any(p.startswith("/etc/traefik/") for p in upload_paths(res)):
        return None
    files = uploaded_files(res)
    cfg = Traefik(resource=res)
    for path in TRAEFIK_STATIC:
        if path in files:
            _merge(cfg.static, load_yaml(path, files[path], cfg.errors))
    _merge(cfg.static, _cli_static(text(a) for a in items(res.props.get("command"))))
    _merge(cfg.static, _env_static(res.envs))
    for path in sorted(files):
        if path.startswith(TRAEFIK_DYNAMIC_DIR) and path.endswith((".yml", ".yaml")):
            _merge(cfg.dynamic, load_yaml(path, files[path], cfg.errors))
    return cfg


def label_config(containers: Iterable[Resource], exposed_by_default: bool) -> dict[str, Any]:
    """Dynamic config Traefik's Docker provider would build from container labels."""
    tree: dict[str, Any] = {}
    for res in containers:
        labels = res.labels
        if not truthy(labels.get("traefik.enable", "true" if exposed_by_default else "false")):
            continue
        for key, value in labels.items():
            if key.startswith("traefik.http."):
                _set(tree, ["http", *key[len("traefik.http.") :].split(".")], value)
        routers = [k for k in labels if k.startswith("traefik.http.routers.")]
        if not routers:
            # Traefik gives an exposed container a router of its own on the default rule.
            _set(tree, ["http", "routers", f"{res.service}-default"], {"rule": "", "service": res.service})
        for key in routers:
            name = key.split(".")[3]
            router = ci_path(tree, "http", "routers", name)
            if isinstance(router, dict) and "service" not in router:
                router["service"] = res.service
    return tree


# ------------------------------------------------------------------ routers and middlewares
_MATCHER = re.compile(r"(?P<fn>HostRegexp|Host|PathRegexp|PathPrefix|Path)\(\s*[`\"](?P<arg>[^`\"]*)[`\"]\s*\)")


@dataclass(frozen=True)
class Router:
    name: str
    rule: str
    service: str
    middlewares: tuple[str, ...]
    """Entry-point middlewares first, then the router's own (names without @provider)."""

    @property
    def hosts(self) -> list[str]:
        return [m["arg"].lower() for m in _MATCHER.finditer(self.rule) if m["fn"] == "Host"]

    @property
    def paths(self) -> list[tuple[str, str]]:
        return [(m["fn"], m["arg"]) for m in _MATCHER.finditer(self.rule) if m["fn"].startswith("Path")]

    @property
    def path_limited(self) -> bool:
        """`Host(..) && PathX(..)` or `Host(..) && (PathX(..) || PathX(..))`: a path-limited route of one host."""
        shape = _MATCHER.sub(
            lambda m: "H" if m["fn"] == "Host" else ("P" if m["fn"].startswith("Path") else "X"), self.rule
        )
        shape = re.sub(r"\s+", "", shape)
        paths = r"(P|\(P(\|\|P)*\))"
        return bool(re.fullmatch(rf"H&&{paths}|{paths}&&H", shape))


def _names(value: object) -> list[str]:
    return [n.split("@", 1)[0] for n in as_list(value)]


def routers(cfg: Traefik, extra: Mapping[str, Any] | None = None) -> list[Router]:
    """HTTP routers of the file provider (plus label routers when given), with entry-point middlewares."""
    all_eps = list(cfg.entry_points)
    found = dict(cfg.section("http", "routers"))
    found.update(ci_path(extra, "http", "routers") or {})
    out = []
    for name, router in sorted(found.items()):
        if not is_map(router):
            continue
        eps = as_list(ci_get(router, "entryPoints")) or all_eps
        ep_mws = [m for ep in eps for m in _names(ci_path(cfg.entry_points.get(ep), "http", "middlewares"))]
        out.append(
            Router(
                name=str(name),
                rule=text(ci_get(router, "rule")),
                service=text(ci_get(router, "service")),
                middlewares=tuple(ep_mws + _names(ci_get(router, "middlewares"))),
            )
        )
    return out


def secure_headers(headers: object) -> bool:
    sts = number(ci_get(headers, "stsSeconds")) or 0
    frames = (
        truthy(ci_get(headers, "frameDeny"))
        or bool(text(ci_get(headers, "customFrameOptionsValue")))
        or "frame-ancestors" in text(ci_get(headers, "contentSecurityPolicy")).lower()
    )
    return sts > 0 and truthy(ci_get(headers, "contentTypeNosniff")) and frames


def _bouncer_address(address: str) -> bool:
    lowered = address.lower()
    return "crowdsec" in lowered or "bouncer" in lowered


def crowdsec_plugin(cfg: Traefik, name: str) -> bool:
    """A Traefik plugin that is the CrowdSec bouncer (by its module in experimental.plugins, or its name)."""
    module = text(ci_path(cfg.static, "experimental", "plugins", name, "moduleName"))
    return "crowdsec" in module.lower() or _bouncer_address(name)


def crowdsec_plugins(cfg: Traefik) -> list[tuple[str, Mapping[str, Any]]]:
    """(middleware name, plugin settings) of every CrowdSec bouncer middleware in the file config."""
    out = []
    for name, mw in sorted(cfg.section("http", "middlewares").items()):
        plugin = ci_get(mw, "plugin")
        for pname, settings in plugin.items() if isinstance(plugin, Mapping) else ():
            if crowdsec_plugin(cfg, str(pname)):
                out.append((str(name), settings if isinstance(settings, Mapping) else {}))
    return out


def crowdsec_forward_auths(cfg: Traefik) -> list[tuple[str, str]]:
    """(middleware name, address) of every forward-auth middleware that asks a CrowdSec bouncer service."""
    out = []
    for name, mw in sorted(cfg.section("http", "middlewares").items()):
        address = text(ci_path(mw, "forwardAuth", "address"))
        if address and _bouncer_address(address):
            out.append((str(name), address))
    return out


def middleware_kinds(
    cfg: Traefik, names: Iterable[str], extra: Mapping[str, Any] | None = None, seen: frozenset[str] = frozenset()
) -> set[str]:
    """What a router's middlewares do: forward-auth, crowdsec, basic-auth, headers, redirect (chains expanded)."""
    defined = dict(cfg.section("http", "middlewares"))
    defined.update(ci_path(extra, "http", "middlewares") or {})
    kinds: set[str] = set()
    for name in names:
        mw = ci_get(defined, name)
        if not is_map(mw) or name in seen:
            continue
        forward = ci_get(mw, "forwardAuth")
        if forward is not None:
            kinds.add("crowdsec" if _bouncer_address(text(ci_get(forward, "address"))) else "forward-auth")
        if ci_get(mw, "basicAuth") is not None or ci_get(mw, "digestAuth") is not None:
            kinds.add("basic-auth")
        plugin = ci_get(mw, "plugin")
        if any(crowdsec_plugin(cfg, str(pname)) for pname in (plugin if is_map(plugin) else ())):
            kinds.add("crowdsec")
        headers = ci_get(mw, "headers")
        if headers is not None and secure_headers(headers):
            kinds.add("headers")
        if ci_get(mw, "redirectScheme") is not None:
            kinds.add("redirect")
        chain = ci_get(mw, "chain")
        if chain is not None:
            kinds |= middleware_kinds(cfg, _names(ci_get(chain, "middlewares")), extra, seen | {name})
    return kinds


def forward_auth_targets(cfg: Traefik, extra: Mapping[str, Any] | None = None) -> set[str]:
    """Hosts that forward-auth middlewares ask (the auth portal, e.g. authelia)."""
    defined = dict(cfg.section("http", "middlewares"))
    defined.update(ci_path(extra, "http", "middlewares") or {})
    out = set()
    for mw in defined.values():
        address = text(ci_path(mw, "forwardAuth", "address"))
        host = urlsplit(address).hostname if address else None
        if host and not _bouncer_address(address):
            out.add(host.lower())
    return out


def router_app(cfg: Traefik, router: Router, extra: Mapping[str, Any] | None = None) -> str:
    """The catalog name a router leads to: its service's backend host (hosts are catalog names)."""
    if router.service.endswith("@internal"):
        return TRAEFIK
    base = router.service.split("@", 1)[0]
    services = dict(cfg.section("http", "services"))
    services.update(ci_path(extra, "http", "services") or {})
    for server in items(ci_path(ci_get(services, base), "loadBalancer", "servers")):
        host = urlsplit(text(ci_get(server, "url"))).hostname
        if host:
            return host.lower()
    return base


def host_apps(cfg: Traefik | None, extra: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Public host name -> catalog name, from the routers."""
    if cfg is None:
        return {}
    out: dict[str, str] = {}
    for router in routers(cfg, extra):
        app = router_app(cfg, router, extra)
        for host in router.hosts:
            out.setdefault(host, app)
    return out


# ------------------------------------------------------------------ Authelia
@dataclass
class Authelia:
    resource: Resource
    config: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    present: bool = False


def authelia_of(res: Resource) -> Authelia | None:
    if res.service != AUTHELIA and not any(p in AUTHELIA_CONFIG for p in upload_paths(res)):
        return None
    files = uploaded_files(res)
    env = dict(res.envs)
    cfg = Authelia(resource=res, files=files, env=env)
    for path in AUTHELIA_CONFIG:
        if path in files:
            cfg.config = load_yaml(path, files[path], cfg.errors)
            cfg.present = True
    cfg.present = cfg.present or any(k.startswith("AUTHELIA_") for k in env)
    return cfg


@dataclass(frozen=True)
class AccessRule:
    domains: tuple[str, ...]
    regexes: tuple[str, ...]
    policy: str
    resources: tuple[str, ...]
    conditional: bool = False
    """Limited to some subjects, networks, methods or queries: later rules still apply to everyone else."""

    def matches(self, host: str) -> bool:
        host = host.lower()
        for domain in self.domains:
            d = domain.lower()
            if d == host or (d.startswith("*.") and host.endswith(d[1:])):
                return True
        for pattern in self.regexes:
            try:
                if re.search(pattern, host):
                    return True
            except re.error:
                continue
        return False


def access_rules(cfg: Authelia) -> list[AccessRule]:
    out = []
    for rule in items(get_path(cfg.config, "access_control", "rules")):
        if not is_map(rule):
            continue
        out.append(
            AccessRule(
                domains=tuple(as_list(rule.get("domain"))),
                regexes=tuple(as_list(rule.get("domain_regex"))),
                policy=text(rule.get("policy")).lower(),
                resources=tuple(as_list(rule.get("resources"))),
                conditional=any(rule.get(k) for k in ("subject", "networks", "methods", "query")),
            )
        )
    return out


# Authelia matches `resources` against the path and the query string, Traefik's PathRegexp against the path
# alone: the edge layer writes a route's `^/api/.*$` as the resource `^/api/[^?\n]*(\?.*)?$` (no part of the
# path may consume the `?`, then any query).
_QUERY_SUFFIX = re.compile(r"\((?:\?:)?\\\?\.\*\)\?\$$")
PATH_DOT = "[^?\\n]"
"""Go's `.` less `?`: how the edge layer writes a path's `.` in an Authelia resource."""
PATH_NEGATED = "[^\\?"
"""The start of a negated class that also excludes `?`."""


def path_regex(resource: str) -> str:
    r"""An Authelia resource as the path regex it stands for: a trailing `(\?.*)?$` (any query) becomes `$`, and
    `[^?\n]` / `[^\?...]` (path characters only) become `.` / `[^...]`."""
    return _QUERY_SUFFIX.sub("$", resource).replace(PATH_DOT, ".").replace(PATH_NEGATED, "[^")


def bypass_resources(cfg: Authelia | None, host: str) -> set[str]:
    """Path regexes Authelia lets through without login on this host (the catalog's declared bypass paths),
    as written and in their path-only form (what a Traefik PathRegexp router for the same path reads)."""
    if cfg is None:
        return set()
    found = {r for rule in access_rules(cfg) if rule.policy == "bypass" and rule.matches(host) for r in rule.resources}
    return found | {path_regex(r) for r in found}


def portal_hosts(cfg: Authelia | None) -> set[str]:
    if cfg is None:
        return set()
    out = set()
    for cookie in items(get_path(cfg.config, "session", "cookies")):
        host = urlsplit(text(get_path(cookie, "authelia_url"))).hostname
        if host:
            out.add(host.lower())
    return out


# ------------------------------------------------------------------ the whole edge, for stack rules
@dataclass
class Edge:
    traefik: Traefik | None
    authelia: Authelia | None
    labels: dict[str, Any]
    """Dynamic config from Docker labels (only when Traefik's Docker provider is on)."""

    def routers(self) -> list[Router]:
        return routers(self.traefik, self.labels) if self.traefik else []

    def kinds(self, router: Router) -> set[str]:
        return middleware_kinds(self.traefik, router.middlewares, self.labels) if self.traefik else set()

    def app(self, router: Router) -> str:
        return router_app(self.traefik, router, self.labels) if self.traefik else router.service

    def host_apps(self) -> dict[str, str]:
        return host_apps(self.traefik, self.labels)

    def portals(self) -> set[str]:
        """Catalog names of the auth portal (what forward-auth asks)."""
        return forward_auth_targets(self.traefik, self.labels) if self.traefik else set()


def edge_of(containers: list[Resource]) -> Edge:
    traefik = next((t for t in map(traefik_of, containers) if t is not None and t.present), None)
    authelia = next((a for a in map(authelia_of, containers) if a is not None and a.present), None)
    labels: dict[str, Any] = {}
    if traefik is not None and traefik.docker_provider:
        providers = ci_get(traefik.static, "providers")
        exposed = ci_path(providers, "docker", "exposedByDefault")
        exposed_default = not (exposed is False or text(exposed).lower() == "false")
        others = [c for c in containers if c.urn != traefik.resource.urn]
        labels = label_config(others, exposed_default)
    return Edge(traefik=traefik, authelia=authelia, labels=labels)
