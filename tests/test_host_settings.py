"""host.address, host.hostKey and host.sshOptions: every hostile value refused whole, naming key, value and
what is allowed; and the ssh options and files the program generates from them."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from config.problems import SettingsError
from config.stack import parse_settings
from render.ssh import docker_ssh_options, known_hosts_line, ssh_dir, ssh_files_script
from tests.conftest import as_stack, minimal_config


def _string(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def _key(*fields: bytes, key_type: str | None = None) -> str:
    """A public key line from its wire fields (RFC 4253 strings); the type on the line defaults to the first field."""
    blob = b"".join(_string(f) for f in fields)
    return f"{key_type or fields[0].decode()} {base64.b64encode(blob).decode()}"


ED25519 = _key(b"ssh-ed25519", bytes(range(32)))
ECDSA = _key(b"ecdsa-sha2-nistp256", b"nistp256", b"\x04" + bytes(64))
RSA_2048 = _key(b"ssh-rsa", b"\x01\x00\x01", b"\x00" + ((1 << 2047) | 1).to_bytes(256, "big"))
SSH: dict[str, Any] = {"mode": "ssh", "address": "media-host.example.org", "hostKey": ED25519}


def host_problems(**host: Any) -> list[str]:
    with pytest.raises(SettingsError) as info:
        parse_settings(minimal_config(host={**SSH, **host}))
    return [str(p) for p in info.value.problems]


def only_host_problem(**host: Any) -> str:
    found = host_problems(**host)
    assert len(found) == 1, found
    return found[0]


# ------------------------------------------------------------------ host.address
@pytest.mark.parametrize(
    "address",
    [
        "host;reboot",
        "$(reboot)",
        "`reboot`",
        "-oProxyCommand=sh",
        "host:2222/x#",
        "deploy@host",
        "host name",
        "host\n",
        "host.example.org\n",
        "[2001:db8::1]",
        "fe80::1%eth0",
        "host_name.example.org",
        "-host",
        "host-.example.org",
        "1.2.3",
        "a" * 64 + ".example.org",
        "",
    ],
)
def test_host_address_refuses_anything_but_a_name_or_ip(address: str) -> None:
    problem = only_host_problem(address=address)
    assert problem.startswith("media-server:host.address: "), problem
    assert "RFC 1123" in problem or "IPv6 zone" in problem or "needs the Docker host's address" in problem, problem
    assert "(got " in problem


@pytest.mark.parametrize(
    ("address", "docker_host"),
    [
        ("media-host.example.org", "ssh://deploy@media-host.example.org:22"),
        ("NAS", "ssh://deploy@nas:22"),
        ("192.0.2.10", "ssh://deploy@192.0.2.10:22"),
        ("2001:db8::10", "ssh://deploy@[2001:db8::10]:22"),
    ],
)
def test_host_address_accepts_names_and_ip_literals(address: str, docker_host: str) -> None:
    settings = parse_settings(minimal_config(host={**SSH, "address": address}))
    assert settings.host.docker_host == docker_host


# ------------------------------------------------------------------ host.hostKey
@pytest.mark.parametrize(
    ("host_key", "expected"),
    [
        ("garbage", r"expected an OpenSSH public key line"),
        ("ssh-ed25519", r"expected an OpenSSH public key line"),
        ("ssh-ed25519 AAAA", r"the key data is truncated"),
        ("ssh-ed25519 not*base64", r"not base64"),
        (ED25519 + "\n", r"expected an OpenSSH public key line"),
        (ED25519 + " comment\nother-host ssh-ed25519 AAAA", r"expected an OpenSSH public key line"),
        (ED25519.replace(" ", "  "), r"expected an OpenSSH public key line"),
        (ED25519.replace(" ", "\t"), r"expected an OpenSSH public key line"),
        ("ssh-dss " + ED25519.split(" ")[1], r"unknown key type 'ssh-dss'"),
        (_key(b"ssh-rsa", b"\x01\x00\x01", bytes(64), key_type="ssh-ed25519"), r"says it is a 'ssh-rsa' key"),
        (_key(b"ssh-ed25519", bytes(31)), r"ssh-ed25519 key is 32 bytes"),
        (_key(b"ssh-ed25519", bytes(32), b"extra"), r"has 2 fields, this one 3"),
        (ED25519[:-4], r"truncated|not base64|not canonical"),
        (_key(b"ecdsa-sha2-nistp256", b"nistp384", b"\x04" + bytes(64)), r"names curve nistp256"),
        (_key(b"ecdsa-sha2-nistp256", b"nistp256", b"\x02" + bytes(32)), r"uncompressed 65-byte point"),
        (_key(b"ssh-rsa", b"\x01\x00\x01", ((1 << 1023) | 1).to_bytes(128, "big")), r"RSA key of 1024 bits"),
    ],
)
def test_host_key_is_parsed_not_pattern_matched(host_key: str, expected: str) -> None:
    problem = only_host_problem(hostKey=host_key)
    assert problem.startswith("media-server:host.hostKey: "), problem
    assert re.search(expected, problem), problem
    assert "(got " in problem


@pytest.mark.parametrize("host_key", [ED25519, ECDSA, RSA_2048, ED25519 + " root@media-host"])
def test_host_key_accepts_real_key_lines_and_drops_the_comment(host_key: str) -> None:
    settings = parse_settings(minimal_config(host={**SSH, "hostKey": host_key}))
    assert settings.host.host_key == " ".join(host_key.split(" ")[:2])


def test_ssh_mode_requires_a_pinned_host_key() -> None:
    problem = only_host_problem(hostKey=None)
    assert problem.startswith("media-server:host.hostKey: ssh mode pins the host's key"), problem


# ------------------------------------------------------------------ host.sshOptions
@pytest.mark.parametrize(
    ("options", "key", "expected"),
    [
        (["-o", "StrictHostKeyChecking=no"], "[1]", r"disables host key checking"),
        (["-o", "StrictHostKeyChecking=false"], "[1]", r"disables host key checking"),
        (["-o", "StrictHostKeyChecking=accept-new"], "[1]", r"disables host key checking"),
        (["-o", "ProxyCommand=sh -c 'curl x|sh'"], "[1]", r"'ProxyCommand' is not an allowed ssh option"),
        (["-o", "ProxyCommand=nc"], "[1]", r"'ProxyCommand' is not an allowed ssh option"),
        (["-o", "LocalCommand=id"], "[1]", r"'LocalCommand' is not an allowed"),
        (["-o", "PermitLocalCommand=yes"], "[1]", r"'PermitLocalCommand' is not an allowed"),
        (["-o", "ProxyJump=evil.example.org"], "[1]", r"'ProxyJump' is not an allowed"),
        (["-o", "UserKnownHostsFile=/dev/null"], "[1]", r"'UserKnownHostsFile' is not an allowed"),
        (["-o", "IdentityFile=/tmp/k"], "[1]", r"'IdentityFile' is not an allowed"),
        (["-o", "KnownHostsCommand=/bin/true"], "[1]", r"'KnownHostsCommand' is not an allowed"),
        (["-o", "ConnectTimeout 10"], "[1]", r"not an allowed ssh option"),
        (["-o", "ConnectTimeout=10\n"], "[1]", r"not an allowed ssh option"),
        (["-o", "ConnectTimeout=$(id)"], "[1]", r"not an allowed ssh option"),
        (["-o", "ConnectTimeout=0"], "[1]", r"ConnectTimeout takes"),
        (["-oProxyCommand=nc", "-o"], "[0]", r"expected '-o' here"),
        (["-F", "/tmp/evil_config"], "[0]", r"expected '-o' here"),
        (["-o"], "[0]", r"'-o' needs a 'Key=value' after it"),
    ],
)
def test_ssh_options_come_from_an_allowlist(options: list[str], key: str, expected: str) -> None:
    found = host_problems(sshOptions=options)
    assert any(p.startswith(f"media-server:host.sshOptions{key}: ") and re.search(expected, p) for p in found), found
    assert all("(got " in p for p in found)


def test_allowed_ssh_options_pass() -> None:
    options = ["-o", "ConnectTimeout=15", "-o", "serveraliveinterval=30", "-o", "StrictHostKeyChecking=yes"]
    settings = parse_settings(minimal_config(host={**SSH, "sshOptions": options}))
    assert settings.host.ssh_options == options


@pytest.mark.parametrize("user", ["deploy\n", "root@evil", "-oProxyCommand=x", "Deploy", "a b", "", "x" * 33])
def test_host_user_is_a_plain_login_name(user: str) -> None:
    problem = only_host_problem(user=user)
    assert problem.startswith("media-server:host.user: not a user name; expected lowercase letters"), problem


@pytest.mark.parametrize(
    "socket", ["unix:///var/run/docker.sock; rm -rf /", "unix:///var/run/docker.sock\n", "tcp://h:2375", "unix:///../x"]
)
def test_local_docker_socket_is_a_plain_unix_path(socket: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_settings(minimal_config(host={"mode": "local", "dockerSocket": socket}))
    (problem,) = [str(p) for p in info.value.problems]
    assert problem.startswith("media-server:host.dockerSocket: not a Docker socket URL"), problem


# ------------------------------------------------------------------ what the program makes of them
def test_known_hosts_line_names_the_port_as_ssh_looks_it_up() -> None:
    on_22 = parse_settings(minimal_config(host=SSH)).host
    on_2222 = parse_settings(minimal_config(host={**SSH, "port": 2222, "address": "2001:db8::10"})).host
    assert known_hosts_line(on_22) == f"media-host.example.org {ED25519}"
    assert known_hosts_line(on_2222) == f"[2001:db8::10]:2222 {ED25519}"


def test_ssh_options_pin_the_key_before_anything_the_stack_adds() -> None:
    host = parse_settings(minimal_config(host={**SSH, "auth": "key", "sshOptions": ["-o", "ConnectTimeout=5"]})).host
    options = docker_ssh_options(host, "prod")
    pairs = dict(item.split("=", 1) for item in options[3::2])
    assert options[:2] == ["-F", "none"]
    assert pairs["StrictHostKeyChecking"] == "yes"
    assert pairs["UserKnownHostsFile"] == "${HOME}/.media-server/ssh/prod/known_hosts"
    assert pairs["GlobalKnownHostsFile"] == "/dev/null"
    assert pairs["IdentityFile"] == "${HOME}/.media-server/ssh/prod/id"
    assert pairs["IdentitiesOnly"] == "yes" and pairs["IdentityAgent"] == "none"
    assert options[-2:] == ["-o", "ConnectTimeout=5"]
    agent = parse_settings(minimal_config(host={**SSH, "auth": "agent"})).host
    assert not any(o.startswith(("IdentityFile", "IdentityAgent")) for o in docker_ssh_options(agent, "prod"))
    assert 'cat > "$dir/id.new"' not in ssh_files_script(agent, "prod")


@pytest.mark.parametrize("stack", ["..", ".hidden", "a/b", "a b", "x\n", ""])
def test_ssh_dir_refuses_stack_names_that_are_not_one_plain_directory(stack: str) -> None:
    with pytest.raises(ValueError, match="cannot name a directory"):
        ssh_dir(stack)


def test_program_hands_the_provider_the_generated_options_and_writes_the_files_first() -> None:
    from offline.runner import run_program

    raw = minimal_config(
        host={**SSH, "auth": "key"}, tiers={"edge": False, "media": False, "monitoring": False, "backup": False}
    )
    result = run_program(as_stack(raw, secrets={"sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----"}))
    assert result.ok, result.problems
    (provider,) = [r for r in result.resources if r.type == "pulumi:providers:docker"]
    host = parse_settings(raw).host
    assert provider.inputs["sshOpts"] == docker_ssh_options(host, "test")
    (invoke,) = [args for token, args in result.calls if token == "command:local:run"]
    assert invoke["command"] == ssh_files_script(host, "test")
    assert invoke["stdin"] == "-----BEGIN OPENSSH PRIVATE KEY-----\n"
