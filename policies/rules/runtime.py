"""Container runtime privileges and limits: CIS Docker section 5 (MS-001, 002, 005 to 011, 015)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .common import (
    ADVISORY,
    CONTAINER,
    KINDS_PROPERTY,
    MANDATORY,
    Check,
    Report,
    Resource,
    allowlist_entry,
    allowlist_property,
    entry_strings,
    fmt,
    get_path,
    items,
    kind_of,
    number,
    resource_rule,
    text,
    truthy,
)

ONLY_CONTAINERS = (CONTAINER,)


def _cap(name: str) -> str:
    upper = name.strip().upper()
    return upper.removeprefix("CAP_")


# ------------------------------------------------------------------ MS-001
def _not_privileged(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    if truthy(res.props.get("privileged")):
        report(
            f"{res.service} runs privileged; fix: remove privileged and add only the capabilities or devices it needs"
        )


ms_001 = resource_rule(
    "ms-001-no-privileged-containers",
    "Containers never run privileged (CIS Docker 5.5, KICS ae5b6871).",
    MANDATORY,
    ONLY_CONTAINERS,
    _not_privileged,
    "Drop `privileged`; grant the specific capability (MS-002) or device (MS-006) instead.",
)


# ------------------------------------------------------------------ MS-002
def _capabilities(res: Resource) -> tuple[list[str], list[str]]:
    caps = res.props.get("capabilities")
    if not isinstance(caps, Mapping):
        return [], []
    return [_cap(text(c)) for c in items(caps.get("adds"))], [_cap(text(c)) for c in items(caps.get("drops"))]


def _adds_allowlisted(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    adds, _ = _capabilities(res)
    entry = allowlist_entry(config, res.service, report)
    allowed = {_cap(c) for c in entry_strings(entry, "capabilities")}
    for cap in sorted(set(adds)):
        if cap in ("SYS_ADMIN", "ALL"):
            report(f"{res.service} adds {cap}, which no service may have; fix: remove it from the capability adds")
        elif cap not in allowed:
            report(
                f"{res.service} adds {cap}, which is not in its allowlist; fix: remove it, or add it to the "
                f"service's allowlist entry of this rule with a justification"
            )


ms_002_adds = resource_rule(
    "ms-002-capability-adds-allowlisted",
    "Containers add back only capabilities allowlisted for their service, never SYS_ADMIN (CIS 5.4, KICS ce76b7d0).",
    MANDATORY,
    ONLY_CONTAINERS,
    _adds_allowlisted,
    "Remove the capability, or allowlist it for the service with a justification.",
    config={
        "allowlist": allowlist_property(
            "Capabilities a service may add, by catalog name.",
            {"capabilities": {"type": "array", "items": {"type": "string"}}},
        )
    },
)


def _drops_all(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    _, drops = _capabilities(res)
    if "ALL" not in drops:
        report(f"{res.service} does not drop ALL capabilities; fix: set capabilities.drops to ['ALL']")


ms_002_drops = resource_rule(
    "ms-002-capabilities-drop-all",
    "Containers drop ALL capabilities before adding any back (CIS 5.4).",
    ADVISORY,
    ONLY_CONTAINERS,
    _drops_all,
    "Set `capabilities.drops = ['ALL']` and add back only what the service needs.",
)


# ------------------------------------------------------------------ MS-005
_NAMESPACES = (("networkMode", "network"), ("pidMode", "PID"), ("ipcMode", "IPC"), ("usernsMode", "user"))


def _no_host_namespaces(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    for prop, what in _NAMESPACES:
        if text(res.props.get(prop)).strip().lower() == "host":
            report(f"{res.service} shares the host's {what} namespace ({prop}: host); fix: remove {prop} host")


ms_005 = resource_rule(
    "ms-005-no-host-namespaces",
    "Containers never share the host's network, PID, IPC or user namespace (CIS 5.10, 5.16, 5.17, 5.31).",
    MANDATORY,
    ONLY_CONTAINERS,
    _no_host_namespaces,
    "Use a bridge network (or another container's namespace) instead of the host's.",
)


# ------------------------------------------------------------------ MS-006
def _under(path: str, allowed: str) -> bool:
    base = allowed.rstrip("/")
    return path == base or path.startswith(base + "/")


def _devices_allowlisted(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    entry = allowlist_entry(config, res.service, report)
    devices = [text(get_path(d, "hostPath")) for d in items(res.props.get("devices"))]
    gpu = (
        bool(text(res.props.get("gpus")))
        or bool(items(res.props.get("deviceRequests")))
        or text(res.props.get("runtime")).lower() == "nvidia"
    )
    allowed = entry_strings(entry, "devices")
    for device in devices:
        if not any(_under(device, a) for a in allowed):
            report(
                f"{res.service} is given the host device {device}, which is not allowlisted for it; fix: remove the "
                f"device, or allowlist ({res.service}, {device}) with a justification"
            )
    if gpu and not (entry is not None and entry.get("gpu") is True):
        report(
            f"{res.service} requests GPUs (gpus, deviceRequests or the nvidia runtime) without an allowlist entry; "
            f"fix: remove the request, or allowlist it with gpu: true and a justification"
        )


ms_006 = resource_rule(
    "ms-006-devices-allowlisted",
    "Host devices and GPU requests go only to allowlisted (service, device) pairs (CIS 5.18).",
    MANDATORY,
    ONLY_CONTAINERS,
    _devices_allowlisted,
    "Remove the device or GPU request, or allowlist the pair with a justification.",
    config={
        "allowlist": allowlist_property(
            "Devices (host paths; a directory covers the nodes below it) and GPU requests a service may have.",
            {"devices": {"type": "array", "items": {"type": "string"}}, "gpu": {"type": "boolean"}},
        )
    },
)


# ------------------------------------------------------------------ MS-007
def _security_opts(res: Resource) -> list[str]:
    return [text(o).strip().lower().replace("=", ":") for o in items(res.props.get("securityOpts"))]


def _no_new_privileges(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    opts = _security_opts(res)
    if not any(o in ("no-new-privileges", "no-new-privileges:true") for o in opts):
        report(f"{res.service} can gain privileges (setuid); fix: add 'no-new-privileges:true' to securityOpts")
    for opt in opts:
        if opt in ("seccomp:unconfined", "apparmor:unconfined", "label:disable"):
            report(f"{res.service} turns off a kernel confinement ({opt}); fix: remove it from securityOpts")


ms_007 = resource_rule(
    "ms-007-no-new-privileges-confined",
    "Containers set no-new-privileges and never run seccomp or AppArmor unconfined (CIS 5.26, 5.22, 5.2).",
    MANDATORY,
    ONLY_CONTAINERS,
    _no_new_privileges,
    "Add `no-new-privileges:true` to securityOpts and drop any `unconfined` profile.",
)


# ------------------------------------------------------------------ MS-008
def _has_tmpfs(res: Resource) -> bool:
    tmpfs = res.props.get("tmpfs")
    if isinstance(tmpfs, Mapping) and len(tmpfs) > 0:
        return True
    return any(text(get_path(m, "type")) == "tmpfs" for m in items(res.props.get("mounts")))


def _read_only_root(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    if not truthy(res.props.get("readOnly")):
        report(f"{res.service} has a writable root filesystem; fix: set readOnly and mount a tmpfs for scratch paths")
    elif not _has_tmpfs(res):
        report(f"{res.service} has a read-only root but no tmpfs for scratch; fix: add a tmpfs (e.g. /tmp)")


ms_008 = resource_rule(
    "ms-008-read-only-root",
    "Containers run with a read-only root filesystem and a tmpfs for scratch (CIS 5.13).",
    ADVISORY,
    ONLY_CONTAINERS,
    _read_only_root,
    "Set `read_only=True` and `tmpfs={'/tmp': 'rw,noexec,nosuid,size=64m'}` (the catalog's read_only_rootfs).",
)


# ------------------------------------------------------------------ MS-009
def _memory_limit(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    memory = number(res.props.get("memory"))
    if memory is None or memory <= 0:
        report(f"{res.service} has no memory limit; fix: set memory (MB), e.g. the catalog entry's memory")


ms_009_memory = resource_rule(
    "ms-009-memory-limit",
    "Containers have a memory limit (CIS 5.11). The pids limit (CIS 5.29) cannot be checked or set: "
    "pulumi-docker's Container has no pids-limit input; set default-pids-limit in the host's daemon.json.",
    MANDATORY,
    ONLY_CONTAINERS,
    _memory_limit,
    "Set `memory` on the container (the catalog entry's memory, or services.<name>.memory).",
)


def _cpu_limit(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    cpus = number(res.props.get("cpus"))
    quota = number(res.props.get("cpuQuota"))
    if not ((cpus is not None and cpus > 0) or (quota is not None and quota > 0)):
        report(f"{res.service} has no CPU limit; fix: set cpus (cores), e.g. the catalog entry's cpus")


ms_009_cpu = resource_rule(
    "ms-009-cpu-limit",
    "Containers have a CPU limit (CIS 5.12).",
    ADVISORY,
    ONLY_CONTAINERS,
    _cpu_limit,
    "Set `cpus` on the container (the catalog entry's cpus, or services.<name>.cpus).",
)


# ------------------------------------------------------------------ MS-010
def _restart_policy(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    one_shot = allowlist_entry(config, res.service, report) is not None
    restart = text(res.props.get("restart")).strip().lower() or "no"
    if restart == "unless-stopped":
        return
    if restart == "on-failure":
        retries = number(res.props.get("maxRetryCount"))
        if retries is None or not 1 <= retries <= 5:
            shown = "unset" if retries is None else fmt(retries)
            report(f"{res.service} restarts on-failure with {shown} retries; fix: set maxRetryCount between 1 and 5")
        return
    if restart == "no" and one_shot:
        return
    report(
        f"{res.service} has restart policy {restart!r}; fix: use 'unless-stopped', or 'on-failure' with 1..5 "
        f"retries (one-shot jobs: allowlist the service with a justification and use 'no')"
    )


ms_010 = resource_rule(
    "ms-010-restart-policy",
    "Containers restart unless-stopped, or on-failure with 1..5 retries; one-shot jobs are allowlisted "
    "(CIS 5.15, KICS 2fc99041).",
    MANDATORY,
    ONLY_CONTAINERS,
    _restart_policy,
    "Use restart 'unless-stopped' (the ContainerService default).",
    config={"allowlist": allowlist_property("One-shot jobs that run with restart 'no'.")},
)


# ------------------------------------------------------------------ MS-011
CRITICAL_KINDS = frozenset({"database", "cache", "auth", "proxy"})


def _healthcheck_set(res: Resource) -> bool:
    tests = [text(t) for t in items(get_path(res.props.get("healthcheck"), "tests"))]
    return bool(tests) and tests[0].upper() != "NONE"


def _exits(res: Resource) -> bool:
    """A container whose restart policy lets it finish ('no' or 'on-failure'): what a one-shot job runs with."""
    return (text(res.props.get("restart")).strip().lower() or "no") in ("no", "on-failure")


def _healthcheck(critical: bool) -> Check:
    def check(res: Resource, config: Mapping[str, Any], report: Report) -> None:
        kind = kind_of(res, config.get("kinds") or {})
        if (kind in CRITICAL_KINDS) != critical or _healthcheck_set(res):
            return
        # Docker health-checks only a running container: a job that does its work and exits has nothing to probe.
        job = allowlist_entry(config, res.service, report)
        if job is not None:
            if _exits(res):
                return
            report(
                f"{res.service} is allowlisted as a one-shot job but restarts {text(res.props.get('restart'))!r}, so "
                f"it never finishes; fix: give it a healthcheck, or run it as a job (restart 'no' or 'on-failure')"
            )
            return
        what = f"{res.service} ({kind})" if kind else res.service
        report(
            f"{what} has no healthcheck; fix: give its catalog entry a healthcheck (a one-shot job that exits: "
            f"allowlist it with a justification)"
        )

    return check


_ONE_SHOT_JOBS = allowlist_property(
    "One-shot jobs (restart 'no' or 'on-failure') that exit when done: a healthcheck has nothing to probe."
)


ms_011_critical = resource_rule(
    "ms-011-healthcheck-critical",
    "Databases, caches, auth and the proxy have a healthcheck; allowlisted one-shot jobs are exempt (CIS 5.27, "
    "CKV_DOCKER_2).",
    MANDATORY,
    ONLY_CONTAINERS,
    _healthcheck(critical=True),
    "Add a healthcheck to the catalog entry (e.g. pg_isready, redis-cli ping).",
    config={"kinds": KINDS_PROPERTY, "allowlist": _ONE_SHOT_JOBS},
)

ms_011 = resource_rule(
    "ms-011-healthcheck",
    "Every container has a healthcheck; allowlisted one-shot jobs are exempt (CIS 5.27, CKV_DOCKER_2).",
    ADVISORY,
    ONLY_CONTAINERS,
    _healthcheck(critical=False),
    "Add a healthcheck to the catalog entry.",
    config={"kinds": KINDS_PROPERTY, "allowlist": _ONE_SHOT_JOBS},
)


# ------------------------------------------------------------------ MS-015
def _is_root(user: str) -> bool:
    name = user.strip().split(":", 1)[0]
    return name in ("", "root", "0")


def _non_root(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    entry = allowlist_entry(config, res.service, report)
    if not _is_root(text(res.props.get("user"))):
        return
    if entry is not None:
        ids = dict(res.envs)
        if all((number(ids.get(k)) or 0) > 0 for k in ("PUID", "PGID")):
            return
        report(f"{res.service} is allowlisted as a PUID/PGID image but has no non-zero PUID and PGID; fix: set them")
        return
    report(
        f"{res.service} runs as root (no user); fix: set user to an unprivileged uid:gid, or allowlist it as a "
        f"PUID/PGID image that drops to that user itself"
    )


ms_015 = resource_rule(
    "ms-015-non-root-user",
    "Containers run as a non-root user, or are allowlisted images that drop to PUID/PGID (CKV_DOCKER_3/8).",
    ADVISORY,
    ONLY_CONTAINERS,
    _non_root,
    "Set `user` (run_as_site_user or user in the catalog), or allowlist a PUID/PGID image.",
    config={"allowlist": allowlist_property("Images that start as root and drop to PUID/PGID themselves.")},
)
