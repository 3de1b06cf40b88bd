"""How the program may reach a host over SSH: its address, the host key pinned for it, the ssh options allowed.

Each of these strings ends up on an `ssh` command line (the Docker provider shells out to the system
`ssh`), in a known_hosts file, or in pulumi-command's connection, so each is parsed whole, never
searched: a value is accepted only when all of it matches what is allowed.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator

_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_KEY_COMMENT = re.compile(r"[A-Za-z0-9@._+:-]{1,128}")


def host_address(value: str) -> str:
    """An RFC 1123 host name or an IP literal, nothing else: no user, port, path, brackets or shell syntax."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        address = None
    if address is not None:
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
            raise ValueError("an IPv6 zone (%...) is not allowed; expected a global or unique-local address")
        return address.compressed
    labels = value.split(".")
    if len(value) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels) and not labels[-1].isdigit():
        return value.lower()
    raise ValueError(
        "not a host name or IP address; expected an RFC 1123 name such as media-host.example.org (letters, "
        "digits, inner hyphens, dot-separated) or an IP literal such as 192.0.2.10 or 2001:db8::10, with no user, "
        "port, path or brackets (the port is host.port)"
    )


def ssh_user(value: str) -> str:
    """A POSIX login name (useradd's default rule), so that it cannot carry `@`, `:` or an option into a URL."""
    if not _USER.fullmatch(value):
        raise ValueError(
            "not a user name; expected lowercase letters, digits, _ and -, starting with a letter or _, "
            "up to 32 characters (e.g. deploy)"
        )
    return value


_SOCKET = re.compile(r"unix:///[A-Za-z0-9._/@+-]+")


def docker_socket(value: str) -> str:
    """A local Docker socket URL: unix:// and a plain absolute path."""
    if not _SOCKET.fullmatch(value) or "/../" in value or value.endswith("/.."):
        raise ValueError(
            "not a Docker socket URL; expected unix:// and a plain absolute path, e.g. unix:///var/run/docker.sock"
        )
    return value


# ------------------------------------------------------------------ host keys
@dataclass(frozen=True)
class _KeyShape:
    fields: int
    """SSH strings in the blob after the type name (RFC 4253 6.6, RFC 5656 3.1, RFC 8709 4)."""
    curve: str | None = None
    point_bytes: int | None = None


_HOST_KEY_TYPES: dict[str, _KeyShape] = {
    "ssh-ed25519": _KeyShape(fields=1, point_bytes=32),
    "ecdsa-sha2-nistp256": _KeyShape(fields=2, curve="nistp256", point_bytes=65),
    "ecdsa-sha2-nistp384": _KeyShape(fields=2, curve="nistp384", point_bytes=97),
    "ecdsa-sha2-nistp521": _KeyShape(fields=2, curve="nistp521", point_bytes=133),
    "ssh-rsa": _KeyShape(fields=2),
}
_MIN_RSA_BITS = 2048  # OpenSSH refuses RSA keys below 1024 bits and ssh-keygen's default has been 3072 since 8.0
_HOST_KEY_EXPECTED = (
    "expected an OpenSSH public key line: ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa (2048 bits or "
    "more), one space, the base64 key and optionally one space and a comment, e.g. the host's "
    "/etc/ssh/ssh_host_ed25519_key.pub or `ssh-keyscan -t ed25519 <host>` without the host name"
)


def _ssh_strings(blob: bytes) -> list[bytes]:
    """Split a key blob into its SSH wire strings (uint32 length + bytes); refuse trailing or short data."""
    out: list[bytes] = []
    offset = 0
    while offset < len(blob):
        if offset + 4 > len(blob):
            raise ValueError("the key data is truncated")
        size = int.from_bytes(blob[offset : offset + 4], "big")
        offset += 4
        if offset + size > len(blob):
            raise ValueError("the key data is truncated")
        out.append(blob[offset : offset + size])
        offset += size
    return out


def _check_blob(key_type: str, blob: bytes) -> None:
    shape = _HOST_KEY_TYPES[key_type]
    strings = _ssh_strings(blob)
    if not strings or strings[0] != key_type.encode():
        embedded = strings[0][:40].decode(errors="replace") if strings else "nothing"
        raise ValueError(f"the key data says it is a {embedded!r} key, not {key_type}")
    fields = strings[1:]
    if len(fields) != shape.fields:
        raise ValueError(f"a {key_type} key has {shape.fields + 1} fields, this one {len(fields) + 1}")
    if key_type == "ssh-ed25519" and len(fields[0]) != shape.point_bytes:
        raise ValueError(f"an ssh-ed25519 key is 32 bytes, this one {len(fields[0])}")
    if shape.curve is not None:
        curve, point = fields
        if curve != shape.curve.encode():
            raise ValueError(f"a {key_type} key names curve {shape.curve}, this one {curve[:20]!r}")
        if len(point) != shape.point_bytes or point[:1] != b"\x04":
            raise ValueError(f"a {key_type} key holds an uncompressed {shape.point_bytes}-byte point")
    if key_type == "ssh-rsa":
        bits = int.from_bytes(fields[1], "big").bit_length()
        if bits < _MIN_RSA_BITS:
            raise ValueError(f"an RSA key of {bits} bits is too weak; expected {_MIN_RSA_BITS} bits or more")


@dataclass(frozen=True)
class PublicKey:
    key_type: str
    data: str
    """The canonical base64 of the key blob."""

    @property
    def line(self) -> str:
        return f"{self.key_type} {self.data}"


def parse_host_key(value: str) -> PublicKey:
    """A host's public key line, parsed: known type, canonical base64 whose blob names the same type."""
    parts = value.split(" ")
    if len(parts) not in (2, 3) or (len(parts) == 3 and not _KEY_COMMENT.fullmatch(parts[2])):
        raise ValueError(_HOST_KEY_EXPECTED)
    key_type, data = parts[0], parts[1]
    if key_type not in _HOST_KEY_TYPES:
        raise ValueError(f"unknown key type {key_type[:40]!r}; {_HOST_KEY_EXPECTED}")
    try:
        blob = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"the key data is not base64; {_HOST_KEY_EXPECTED}") from None
    if base64.b64encode(blob).decode() != data:
        raise ValueError(f"the key data is not canonical base64; {_HOST_KEY_EXPECTED}")
    try:
        _check_blob(key_type, blob)
    except ValueError as exc:
        raise ValueError(f"{exc}; {_HOST_KEY_EXPECTED}") from None
    return PublicKey(key_type=key_type, data=data)


def _host_key(value: str) -> str:
    return parse_host_key(value).line


HostAddress = Annotated[str, AfterValidator(host_address)]
SshUser = Annotated[str, AfterValidator(ssh_user)]
DockerSocket = Annotated[str, AfterValidator(docker_socket)]
HostKey = Annotated[str, AfterValidator(_host_key)]
"""A host's public key as `type base64` (a comment, if given, is dropped)."""


def host_key_algorithms(key: PublicKey) -> str:
    """The HostKeyAlgorithms that verify this key: an RSA key signs with SHA-2 (ssh-rsa/SHA-1 is off since 8.8)."""
    return "rsa-sha2-512,rsa-sha2-256" if key.key_type == "ssh-rsa" else key.key_type


# ------------------------------------------------------------------ ssh options
_OPTION_VALUES: dict[str, str] = {
    "ConnectTimeout": r"[1-9][0-9]{0,3}",
    "ConnectionAttempts": r"[1-9]",
    "ServerAliveInterval": r"[0-9]{1,4}",
    "ServerAliveCountMax": r"[1-9][0-9]?",
    "TCPKeepAlive": r"yes|no",
    "Compression": r"yes|no",
    "AddressFamily": r"any|inet|inet6",
    "LogLevel": r"QUIET|FATAL|ERROR|INFO|VERBOSE",
    "StrictHostKeyChecking": r"yes",
}
"""The ssh options a stack may add, with the values allowed. Everything else (ProxyCommand, LocalCommand,
PermitLocalCommand, ProxyJump, IdentityFile, UserKnownHostsFile, ControlPath, ...) is refused: the program
sets the identity, known hosts and host key checking itself, and no option may run a command."""
_OPTION_KEYS = {key.lower(): key for key in _OPTION_VALUES}
_OPTION = re.compile(r"(?P<key>[A-Za-z]+)=(?P<value>[A-Za-z0-9,._+-]+)")
_ALLOWED = ", ".join(f"{key}={pattern}" for key, pattern in _OPTION_VALUES.items())


def ssh_option_problems(options: list[str]) -> list[tuple[int, str, str]]:
    """(index, value, message) for each entry of `sshOptions` that is not `-o`, `Key=value` from the allowlist."""
    problems: list[tuple[int, str, str]] = []
    for index, item in enumerate(options):
        if index % 2 == 0:
            if item != "-o":
                problems.append((index, item, "expected '-o' here: sshOptions is a list of pairs '-o', 'Key=value'"))
            continue
        match = _OPTION.fullmatch(item)
        key = _OPTION_KEYS.get(match["key"].lower()) if match else None
        if match is None or key is None:
            name = match["key"] if match else item.split("=", 1)[0].strip()[:40]
            problems.append((index, item, f"{name or item!r} is not an allowed ssh option; allowed: {_ALLOWED}"))
        elif not re.fullmatch(_OPTION_VALUES[key], match["value"], re.IGNORECASE):
            if key == "StrictHostKeyChecking":
                problems.append((index, item, "disables host key checking; only StrictHostKeyChecking=yes is allowed"))
            else:
                problems.append((index, item, f"{key} takes {_OPTION_VALUES[key]}"))
    if len(options) % 2:
        problems.append((len(options) - 1, options[-1], "'-o' needs a 'Key=value' after it"))
    return problems
