"""The media-server security baseline: every policy object, in rule-ID order.

Each module holds module-level ResourceValidationPolicy / StackValidationPolicy
objects named `ms-NNN-<what>`; a rule with a mandatory and an advisory part
(MS-002, 004, 009, 011, 014, 019, 021) is two policies sharing the ID.
"""

from __future__ import annotations

from pulumi_policy import Policy

from . import access, authelia, cloudflare, environment, images, mounts, ports, provider, runtime, secrets, traefik
from .common import rule_id

POLICIES: list[Policy] = [
    runtime.ms_001,
    runtime.ms_002_adds,
    runtime.ms_002_drops,
    mounts.ms_003,
    mounts.ms_004_rw,
    mounts.ms_004_ro,
    runtime.ms_005,
    runtime.ms_006,
    runtime.ms_007,
    runtime.ms_008,
    runtime.ms_009_memory,
    runtime.ms_009_cpu,
    runtime.ms_010,
    runtime.ms_011_critical,
    runtime.ms_011,
    ports.ms_012,
    ports.ms_013,
    images.ms_014_tag,
    images.ms_014_digest,
    runtime.ms_015,
    secrets.ms_016,
    provider.ms_017,
    traefik.ms_018,
    traefik.ms_019_version,
    traefik.ms_019_sni,
    traefik.ms_020,
    traefik.ms_021_auth,
    traefik.ms_021_headers,
    authelia.ms_022,
    authelia.ms_023,
    authelia.ms_024,
    cloudflare.ms_025,
    cloudflare.ms_026,
    cloudflare.ms_027,
    cloudflare.ms_028,
    access.ms_029,
    access.ms_030,
    traefik.ms_031,
    environment.ms_032,
]

__all__ = ["POLICIES", "rule_id"]
