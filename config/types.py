"""Reusable validated types for site settings and the service catalog.

Each type fails with a message that says what is allowed, so that the
settings loader can print one line per problem: key, value, expectation.
"""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Annotated

from pydantic import AfterValidator, Field

from config.pathregex import bypass_problem

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_SAFE_PATH = re.compile(r"/[A-Za-z0-9._/@+-]*")
_MEMORY = re.compile(r"(?P<num>[0-9]+(?:\.[0-9]+)?) ?(?P<unit>[bkmg]?)", re.IGNORECASE)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
_UMASK = re.compile(r"0?[0-7]{3}")
_PROM_DURATION = re.compile(
    r"(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?"
)
_PROM_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
_BYTE_SIZE = re.compile(r"[1-9][0-9]*(?:B|KB|MB|GB|TB|PB|EB)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,63}")
_HOST_PORT = re.compile(r"(?P<host>[A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(?P<port>[0-9]{1,5})")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Control characters (a trailing newline among them) and Unicode line separators: in no setting."""


def control_character(value: object) -> str | None:
    """The first control character in a string, in the strings of a list, or in a mapping's keys and string values."""
    if isinstance(value, str):
        found = _CONTROL.search(value)
        return f"{found.group()!r} at position {found.start()}" if found else None
    if isinstance(value, list | tuple):
        return next((c for c in map(control_character, value) if c), None)
    if isinstance(value, dict):
        leaves = [*value.keys(), *(v for v in value.values() if isinstance(v, str | list))]
        return next((c for c in map(control_character, leaves) if c), None)
    return None


def _fqdn(value: str) -> str:
    host = value.lower().rstrip(".")
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(
            "not a valid domain name; expected a fully qualified name such as media.example.org "
            "(letters, digits and hyphens, at least two labels)"
        )
    if labels[-1].isdigit():
        raise ValueError("not a valid domain name; the top-level label cannot be numeric")
    return host


def _subdomain(value: str) -> str:
    if not _LABEL.fullmatch(value):
        raise ValueError(
            "not a valid subdomain label; expected lowercase letters, digits and inner hyphens (1-63 chars)"
        )
    return value


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _timezone(value: str) -> str:
    if value not in _zones():
        raise ValueError("not an IANA time zone; expected a name such as Europe/Berlin or Etc/UTC")
    return value


PRIVATE = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
"""RFC 1918: the only ranges a site's own networks may use."""
DOCKER_DEFAULT_BRIDGE = ipaddress.IPv4Network("172.17.0.0/16")
"""docker0, the engine's default bridge on every host (dockerd --bip default)."""


def range_problem(net: ipaddress.IPv4Network) -> str | None:
    """Why a site network may not use this range, or None."""
    if not any(net.subnet_of(p) for p in PRIVATE):
        return (
            f"{net} is not a private range, so it would shadow hosts on the internet; expected a subnet of "
            "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (RFC 1918)"
        )
    if net.overlaps(DOCKER_DEFAULT_BRIDGE):
        return f"{net} overlaps Docker's default bridge docker0 ({DOCKER_DEFAULT_BRIDGE}); expected another range"
    return None


def _cidr(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(
            f"not a valid IPv4 network ({exc}); expected a CIDR such as 10.10.0.0/24 with no host bits set"
        ) from None
    if net.prefixlen > 29:
        raise ValueError("network too small; expected a prefix of /29 or larger (e.g. /24)")
    if (why := range_problem(net)) is not None:
        raise ValueError(why)
    return str(net)


def _abs_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError("relative path; expected an absolute path starting with /")
    if ".." in PurePosixPath(value).parts:
        raise ValueError("path contains '..'; expected a normalised absolute path")
    if not _SAFE_PATH.fullmatch(value):
        raise ValueError("path contains characters outside A-Z a-z 0-9 . _ / @ + -; expected a plain absolute path")
    return str(PurePosixPath(value))


def _image_tag(value: str) -> str:
    if value == "":
        raise ValueError("empty image tag; expected an exact version tag such as 10.11.2")
    if value.lower() == "latest":
        raise ValueError("'latest' is not a pinned version; expected an exact version tag such as 10.11.2")
    if not _TAG.fullmatch(value):
        raise ValueError("not a valid Docker image tag; expected [A-Za-z0-9_.-], up to 128 characters")
    return value


def _digest(value: str) -> str:
    if not _DIGEST.fullmatch(value):
        raise ValueError("not an image digest; expected sha256: followed by 64 lowercase hex digits")
    return value


MAX_MEMORY_MB = 1024 * 1024
"""1 TiB: a bound no single-host media server reaches; larger is a typo (9999g), not a limit."""


def parse_memory_mb(value: str) -> int:
    """Memory size such as '512m', '2g' or '1.5G' in mebibytes (Docker's unit for `memory`)."""
    match = _MEMORY.fullmatch(value)
    if not match:
        raise ValueError("memory limit does not parse; expected a size such as 256m, 1g or 1.5g")
    num = float(match["num"])
    factor = {"": 1 / (1024 * 1024), "b": 1 / (1024 * 1024), "k": 1 / 1024, "m": 1, "g": 1024}[match["unit"].lower()]
    mb = int(num * factor)
    if mb < 6:
        raise ValueError("memory limit below Docker's minimum of 6m; expected a size such as 256m or 1g")
    if mb > MAX_MEMORY_MB:
        raise ValueError(
            f"memory limit above {MAX_MEMORY_MB // 1024 // 1024}t, more than any host this runs on; "
            "expected a size such as 256m, 1g or 64g"
        )
    return mb


def _memory(value: str) -> str:
    parse_memory_mb(value)
    return value.lower()


def _umask(value: str) -> str:
    if not _UMASK.fullmatch(value):
        raise ValueError("not a umask; expected three octal digits such as 002 or 022")
    return value.zfill(4)[-3:]


def _posix_id(value: int) -> int:
    if value == 0:
        raise ValueError("0 is root; expected the uid/gid of an unprivileged user (>= 1, usually 1000)")
    if not 1 <= value < 2**31:
        raise ValueError("out of range; expected a uid/gid from 1 to 2147483647")
    return value


def _bypass_path(value: str) -> str:
    problem = bypass_problem(value)
    if problem:
        raise ValueError(problem)
    if (found := control_character(value)) is not None:  # what bypass_problem's whitespace check leaves (NUL)
        raise ValueError(f"contains a control character ({found}); expected a path regex on one line")
    return value


def duration_seconds(value: str) -> float:
    """A Prometheus duration (1h30m, 26h, 8d, 500ms) in seconds."""
    match = _PROM_DURATION.fullmatch(value)
    if not value or not match:
        raise ValueError(f"not a duration: {value!r}")
    return sum(int(part) * unit for part, unit in zip(match.groups(), _PROM_UNITS, strict=True) if part)


def _prom_duration(value: str) -> str:
    if not value or not _PROM_DURATION.fullmatch(value) or duration_seconds(value) <= 0:
        raise ValueError(
            "not a duration; expected a positive Prometheus duration such as 30s, 15m, 26h, 8d or 4w "
            "(units ms, s, m, h, d, w, y, largest first)"
        )
    return value


def _byte_size(value: str) -> str:
    if not _BYTE_SIZE.fullmatch(value):
        raise ValueError("not a size; expected a whole number with a unit B, KB, MB, GB, TB, PB or EB, such as 50GB")
    return value


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("not an e-mail address; expected name@example.org")
    return value


def _host_port(value: str) -> str:
    match = _HOST_PORT.fullmatch(value)
    if not match or not 1 <= int(match["port"]) <= 65535:
        raise ValueError("not host:port; expected a host name and a port 1-65535, such as smtp.example.org:587")
    return value


Fqdn = Annotated[str, AfterValidator(_fqdn)]
Subdomain = Annotated[str, AfterValidator(_subdomain)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
Cidr = Annotated[str, AfterValidator(_cidr)]
AbsPath = Annotated[str, AfterValidator(_abs_path)]
ImageTag = Annotated[str, AfterValidator(_image_tag)]
Digest = Annotated[str, AfterValidator(_digest)]
MemorySize = Annotated[str, AfterValidator(_memory)]
Umask = Annotated[str, AfterValidator(_umask)]
PosixId = Annotated[int, AfterValidator(_posix_id)]
BypassPath = Annotated[str, AfterValidator(_bypass_path)]
"""A URL path regex (RE2, one anchored expression) that skips SSO for mobile apps and API clients."""
Port = Annotated[int, Field(ge=1, le=65535)]
PromDuration = Annotated[str, AfterValidator(_prom_duration)]
ByteSize = Annotated[str, AfterValidator(_byte_size)]
EmailAddress = Annotated[str, AfterValidator(_email)]
HostPort = Annotated[str, AfterValidator(_host_port)]
