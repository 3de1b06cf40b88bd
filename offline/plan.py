"""The plan a person reads before `pulumi up`: what they get, where, who may log in, how it is reached.

`plan_of` gathers it as plain data from a recorded run plus the validated settings (the JSON carries it
too); `offline.report` prints it. Every fact comes from what the program registered (DNS records, images,
containers) or from the same pure functions the program renders with (routes), never from a second copy.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from components.files import HOST_FILES
from config.search import CONFIG_FILE, SEARCH
from config.settings import BACKUP_SETS, GpuKind, Settings
from offline.recorder import Recorded
from offline.runner import CONTAINER, RunResult
from render.routes import admins_group, site_routes

REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"
SERVICE_LABEL = "media-server.service"

NON_PUBLIC_SUFFIXES = frozenset({"localhost", "local", "internal", "test", "example", "invalid", "lan", "home"})
"""Names no public CA issues certificates for (RFC 2606, RFC 6761, RFC 6762, ICANN's .internal)."""

SECRET_OUTPUTS: dict[str, str] = {
    "autheliaUsers": "login -> password of every portal user (the admin first)",
    "grafanaAdminPassword": "Grafana's local admin (break-glass; day to day you sign in through the portal)",
    "wireguardAdminPassword": "wg-easy's admin",
    "backupRepositoryPassword": "the restic repositories' password: keep a copy off this server",
    "oidcClientSecrets": "client secrets for apps configured in their own UI (Immich's OAuth settings)",
}
"""Secret stack outputs a person reads once, by export name (the names __main__.py exports)."""


def output_command(stack: str, name: str) -> str:
    return f"pulumi stack output --stack {stack} --show-secrets {name}"


def label(res: Recorded, key: str) -> str:
    for item in res.inputs.get("labels", []) or []:
        if isinstance(item, dict) and item.get("label") == key:
            return str(item.get("value"))
    return ""


def _images(result: RunResult) -> dict[str, str]:
    """ContainerService URN -> the image reference as pulled (repository:tag[@digest]), or built from where."""
    images = {}
    for res in result.of_type(REMOTE_IMAGE):
        name = str(res.inputs.get("name", ""))
        build = res.inputs.get("build")
        if isinstance(build, dict) and build.get("context"):
            context = str(build["context"]).replace("\\", "/")
            name += f" (built from {context[context.rfind('/images/') + 1 :] if '/images/' in context else context})"
        images[res.parent or ""] = name
    return images


def _network(res: Recorded, by_id: dict[str, str]) -> str:
    nets = res.inputs.get("networksAdvanced") or []
    names = [str(n.get("name", "")).rsplit("-", 1)[-1] for n in nets if isinstance(n, dict)]
    if names:
        return ", ".join(names)
    mode = str(res.inputs.get("networkMode", ""))
    kind, _, target = mode.partition(":")
    if kind == "container":  # the id is the engine's; the plan names the container it belongs to
        return f"container:{by_id.get(target, target)}"
    return mode


def containers(result: RunResult) -> list[dict[str, str]]:
    """Every container: service, tier, networks, image as pulled."""
    images = _images(result)
    found = result.of_type(CONTAINER)
    by_id = {res.id: label(res, SERVICE_LABEL) or str(res.inputs.get("name", "")) for res in found}
    rows = [
        {
            "service": label(res, SERVICE_LABEL),
            "tier": label(res, "media-server.tier"),
            "networks": _network(res, by_id),
            "image": images.get(res.parent or "", str(res.inputs.get("image", ""))),
        }
        for res in found
    ]
    return sorted(rows, key=lambda r: (r["tier"], r["service"]))


def dns_records(result: RunResult) -> list[dict[str, Any]]:
    rows = [
        {
            "name": str(r.inputs.get("name", "")),
            "type": str(r.inputs.get("type", "")),
            "content": str(r.inputs.get("content", "")),
            "proxied": bool(r.inputs.get("proxied", False)),
        }
        for r in result.of_type(DNS_RECORD)
    ]
    return sorted(rows, key=lambda r: (r["name"], r["type"]))


def _reach(host: str, records: dict[str, dict[str, Any]], settings: Settings) -> str:
    record = records.get(host)
    if host == "localhost" or host.endswith(".localhost"):
        return "this machine"  # browsers and systemd-resolved answer *.localhost with loopback (RFC 6761)
    if record is None:
        return "LAN/own DNS" if not settings.cloudflare.enabled else "no record"
    if settings.cloudflare.mode == "tunnel":
        return "tunnel"
    return "proxied" if record["proxied"] else "DNS-only"


def apps(result: RunResult, settings: Settings) -> list[dict[str, Any]]:
    """Every routed app: URL, who may use it, how it is reached."""
    records = {r["name"]: r for r in dns_records(result)}
    group = admins_group(settings)
    routes = site_routes(settings)
    bypass = Counter(r.app for r in routes if r.path is not None and r.login is None)  # login routes: rate limits
    rows = []
    for route in routes:
        if route.path is not None:
            continue
        policy = route.policy.value
        who = f"group {group}" if route.admin else ("public" if policy == "bypass" else "any user")
        rows.append(
            {
                "app": route.app,
                "url": f"https://{route.hosts[0]}",
                "otherHosts": list(route.hosts[1:]),
                "policy": policy,
                "who": who,
                "bypassPaths": bypass.get(route.app, 0),
                "reached": _reach(route.hosts[0], records, settings),
            }
        )
    return rows


def _backups(settings: Settings) -> dict[str, Any]:
    if not settings.tiers.backup:
        return {"enabled": False, "sets": []}
    sets = []
    for name in BACKUP_SETS:
        backup_set = settings.backup.sets.get(name)
        if not backup_set.enabled:
            continue
        keep = backup_set.retention
        kept = {k: getattr(keep, k) for k in ("hourly", "daily", "weekly", "monthly", "yearly") if getattr(keep, k)}
        destinations = [f"local {settings.paths.backup_root}"] + [
            repo.name if repo.name == repo.kind else f"{repo.name} ({repo.kind})"
            for repo in settings.backup.offsite
            if name in repo.sets
        ]
        sets.append({"set": name, "schedule": backup_set.schedule, "keep": kept, "destinations": destinations})
    return {"enabled": True, "paused": settings.backup.paused, "timezone": settings.timezone, "sets": sets}


def _login(result: RunResult, settings: Settings) -> dict[str, Any] | None:
    if not settings.tiers.edge:
        return None
    auth = settings.edge.auth
    portal = next((f"https://{r.hosts[0]}" for r in site_routes(settings) if r.app == "authelia"), None)
    return {
        "portal": portal,
        "backend": auth.backend,
        "admin": auth.admin_user,
        "adminGroup": admins_group(settings),
        "secondFactor": "e-mail via " + auth.smtp.address
        if auth.smtp
        else "one-time codes written to notification.txt in Authelia's config directory (no SMTP)",
        "passwordCommand": output_command(result.stack, "autheliaUsers") if "autheliaUsers" in result.exports else None,
    }


def _acme(settings: Settings) -> str:
    ca = "Let's Encrypt staging (untrusted certificates)" if settings.edge.acme.staging else "Let's Encrypt"
    if settings.domain.split(".")[-1] in NON_PUBLIC_SUFFIXES:
        # No CA issues for a reserved name: Traefik answers with its own self-signed default certificate.
        return f"none for .{settings.domain.split('.')[-1]} (no CA issues them): Traefik's self-signed one"
    return ca


def _search(result: RunResult) -> dict[str, Any] | None:
    """The search service's engine and its sources as the rendered search.json says: which are indexed, and why
    the others are not (a missing key among them), read from the file the run delivers."""
    found = [r for r in result.of_type(HOST_FILES) if label(r, SERVICE_LABEL) == SEARCH]
    if not found:
        return None
    (files,) = found
    uploads = {item["file"]: item["content"] for item in files.inputs.get("uploads", [])}
    config = json.loads(str(uploads[CONFIG_FILE]))
    return {
        "engine": config["engine"]["kind"],
        "sources": [{"source": s["app"], "indexed": s["enabled"], "reason": s["reason"]} for s in config["sources"]],
    }


def plan_of(result: RunResult, settings: Settings) -> dict[str, Any]:
    """What a person wants to know before `pulumi up`, as plain data."""
    gpu = settings.gpu
    return {
        "domain": settings.domain,
        "dockerHost": settings.host.docker_host,
        "edge": {
            "cloudflare": settings.cloudflare.mode if settings.cloudflare.enabled else "off",
            "acme": _acme(settings),
        },
        "apps": apps(result, settings),
        "login": _login(result, settings),
        "secretOutputs": {
            name: {"what": what, "command": output_command(result.stack, name)}
            for name, what in SECRET_OUTPUTS.items()
            if name in result.exports
        },
        "dnsRecords": dns_records(result),
        "paths": {
            "configRoot": settings.paths.config_root,
            "dataRoot": settings.paths.data_root,
            "cacheRoot": settings.paths.cache_root,
            "backupRoot": settings.paths.backup_root,
            "transcodePath": settings.paths.transcode_path or "tmpfs (in memory)",
        },
        "gpu": {
            "kind": gpu.kind.value,
            "devices": list(gpu.devices) if gpu.kind in (GpuKind.INTEL, GpuKind.AMD) else [],
            "apps": sorted(s.name for s in settings.enabled_services() if s.gpu)
            if gpu.kind is not GpuKind.NONE
            else [],
        },
        "backups": _backups(settings),
        "search": _search(result),
        "containers": containers(result),
    }
