"""The catalog held to its images' upstream facts (config/image_facts.py, each read at the pinned tag).

What the mocks cannot see and a real deploy would: a user the image's entrypoint cannot start as, a
healthcheck binary the image lacks, a variable the pinned release does not read yet, a path the app writes
on a read-only root, a secret on a command line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

import pytest
import yaml

from config.catalog import CATALOG
from config.facts import ImageFacts, Source, available_in, version_key
from config.image_facts import FACTS, RUNTIME_ENV
from config.layout import directory_tree, host_path, runtime_owner
from config.settings import Settings
from offline.runner import RunResult
from render.homepage import CONFIG_DIR
from render.traefik import render_static
from tests.conftest import containers
from tests.edge_support import unwrap
from tests.test_media import env_of, prod_settings, uploads_of

SHELL_BUILTINS = frozenset({"exec", "printf", "echo", "test", "[", "exit", "true", "false", "read", "cd"})
"""Commands the shell runs itself: their arguments never reach a process list."""


def _sources(facts: ImageFacts) -> Iterator[Source]:
    yield facts.user.source
    yield facts.entrypoint.source
    yield facts.writes.source
    yield from (binary.source for binary in facts.binaries.values())
    yield from (setting.source for setting in facts.env.values())


def test_every_entry_has_its_facts_and_only_entries_do() -> None:
    assert sorted(FACTS) == sorted(CATALOG)
    for name, facts in FACTS.items():
        for source in _sources(facts):
            assert source.verified or source.note, f"{name}: an inferred fact says how it was inferred"


def test_a_missing_entry_fails_the_check() -> None:
    """The check above is a set comparison: one entry short and it fails."""
    assert sorted({k: v for k, v in FACTS.items() if k != "jellystat"}) != sorted(CATALOG)


def _setting(facts: ImageFacts, name: str) -> str | None:
    """The recorded first release for a variable (a GF_* pattern covers its prefix)."""
    if name in facts.env:
        return facts.env[name].since
    for key, setting in facts.env.items():
        if key.endswith("*") and name.startswith(key[:-1]):
            return setting.since
    return None


def _set_variables(result: RunResult) -> Iterator[tuple[str, str, str]]:
    """(service, variable, pinned tag) for every variable the program sets in a container."""
    for name, res in containers(result).items():
        image = str(unwrap(res.inputs)["image"])
        del image  # the recorded image is a digest reference; the tag is the catalog's
        for variable in env_of(res):
            yield name, variable, CATALOG[name].image.tag


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_every_variable_set_is_read_by_the_pinned_release(stack: str, request: pytest.FixtureRequest) -> None:
    result: RunResult = request.getfixturevalue(stack)
    problems = []
    for name, variable, tag in _set_variables(result):
        if variable in RUNTIME_ENV:
            continue
        since = _setting(FACTS[name], variable)
        if since is None:
            problems.append(f"{name}: {variable} has no recorded first release")
        elif not available_in(since, tag):
            problems.append(f"{name}: {variable} first read in {since}, pinned {tag}")
    assert problems == []


def test_catalog_env_of_entries_no_stack_enables_is_recorded_too() -> None:
    for name, spec in CATALOG.items():
        for variable in spec.env:
            since = _setting(FACTS[name], variable)
            assert since is not None and available_in(since, spec.image.tag), (name, variable, since)


def test_a_setting_newer_than_the_pin_is_caught() -> None:
    """wg-easy 15.1.0 with INIT_ALLOWED_IPS: the variable arrived in 15.2.0 (src/server/utils/config.ts)."""
    since = FACTS["wireguard"].env["INIT_ALLOWED_IPS"].since
    assert not available_in(since, "15.1.0") and available_in(since, CATALOG["wireguard"].image.tag)
    assert not available_in(FACTS["socket-proxy"].env["ALLOW_LOGS"].since, "3.4.3-r0-ls91")
    assert version_key("3.4.3-r0-ls92") < version_key("3.4.4-r0-ls98")


# ------------------------------------------------------------------ users, capabilities, writes
def test_an_entrypoint_that_needs_root_starts_as_root_with_the_capabilities_it_needs() -> None:
    """CrowdSec's start script copies root-only files (v1.7.3 docker_start.sh): it cannot start as the site
    user. Every entry adds exactly the capabilities its image's entrypoint needs, as the entry runs it."""
    for name, spec in CATALOG.items():
        entry = FACTS[name].entrypoint
        if entry.needs_root:
            assert not spec.run_as_site_user and spec.user in (None, "0", "root"), name
        assert sorted(spec.capabilities) == sorted(entry.capabilities), name


def test_an_entry_without_a_user_runs_as_the_image_user(prod: RunResult) -> None:
    settings = prod_settings()
    for name, res in containers(prod).items():
        spec = settings.service(name)
        user = unwrap(res.inputs).get("user")
        uid, gid = runtime_owner(spec, settings)
        if user:
            assert user == f"{uid}:{gid}", name
        elif not spec.linuxserver_ids:  # a linuxserver init drops from the image's root to PUID:PGID itself
            assert (uid, gid) == (FACTS[name].user.uid, FACTS[name].user.gid), name


def _writable(spec_name: str, settings: Settings, path: str) -> bool:
    spec = settings.service(spec_name)
    if not spec.read_only_rootfs:
        return True
    under = [m.target for m in spec.mounts if not m.read_only] + list(spec.tmpfs) + ["/tmp"]
    return any(path == target or path.startswith(target.rstrip("/") + "/") for target in under)


def test_every_path_an_app_writes_is_writable() -> None:
    """Homepage revalidates its index into /app/.next/server: not on a read-only root."""
    settings = prod_settings()
    for name in CATALOG:
        for path in FACTS[name].writes.paths:
            assert _writable(name, settings, path), (name, path)


def test_each_mount_belongs_to_the_user_that_writes_it() -> None:
    """Blackbox and Jellystat: a directory owned 1000:1000 0750 is closed to a root without capabilities."""
    settings = prod_settings()
    tree = {d.path: d for d in directory_tree(settings)}
    for spec in settings.enabled_services():
        for mount in spec.mounts:
            path = host_path(settings, spec, mount)
            if mount.read_only or path not in tree or mount.root.value == "backups":
                continue
            directory = tree[path]
            assert (directory.uid, directory.gid) == runtime_owner(spec, settings), (spec.name, path)
    jellystat = settings.service("jellystat")
    backups = tree[host_path(settings, jellystat, jellystat.mounts[0])]
    assert (backups.uid, backups.gid, backups.mode) == (0, 0, "0750")


# ------------------------------------------------------------------ healthchecks and command lines
def _shell_commands(script: str) -> Iterator[list[str]]:
    """Each simple command of a shell line (pipes, &&, ||, ;), heredoc bodies left out (they are stdin)."""
    lines: list[str] = []
    heredoc: str | None = None
    for line in script.split("\n"):
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            continue
        match = re.search(r"<<-?\s*'?(\w+)'?", line)
        if match:
            heredoc = match.group(1)
        lines.append(line[: match.start()] if match else line)
    for part in re.split(r"\|\||&&|[|;\n]", "\n".join(lines)):
        words = [w for w in shlex.split(part, posix=True) if not re.fullmatch(r"\d*[<>]&?\d*|<&3|>&3", w)]
        words = [w for w in words if not w.startswith(("3<>", "<&", ">&"))]
        if words:
            yield words


def _programs(test: list[str]) -> Iterator[list[str]]:
    kind, *argv = test
    if kind == "CMD-SHELL":
        yield from _shell_commands(argv[0])
        return
    if len(argv) >= 3 and argv[0] in ("sh", "bash") and argv[1] == "-c":
        # The script is the shell's argument unexpanded; what it runs is what reaches a process list.
        yield [*argv[:2], *argv[3:]]
        yield from _shell_commands(argv[2])
        return
    yield argv


def test_every_healthcheck_calls_a_program_its_image_contains(prod: RunResult) -> None:
    """The bouncer's ["/app", "healthcheck"] starts a second server; v0.5.0 ships /healthchecker for this."""
    for name, spec in CATALOG.items():
        if spec.healthcheck is None:
            continue
        binaries = FACTS[name].binaries
        for argv in _programs(list(spec.healthcheck.test)):
            if argv[0] in SHELL_BUILTINS:
                continue
            assert argv[0] in binaries, f"{name}: {argv[0]} is not a program its image's facts list"


def _secret_names_and_values(result: RunResult) -> dict[str, tuple[set[str], set[str]]]:
    out = {}
    for name, res in containers(result).items():
        env = env_of(res)
        secret_names = {k for k in env if re.search(r"PASSWORD|SECRET|TOKEN|KEY|AUTH", k) and k not in RUNTIME_ENV}
        values = {env[k] for k in secret_names if len(env[k]) >= 8}
        out[name] = (secret_names, values)
    return out


def _argv_leaks(argv: list[str], names: set[str]) -> list[str]:
    if argv[0] in SHELL_BUILTINS:
        return []
    return [word for word in argv if any(re.search(rf"\$\{{?{re.escape(n)}\b", word) for n in names)]


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_no_healthcheck_or_command_line_carries_a_secret(stack: str, request: pytest.FixtureRequest) -> None:
    """A secret on argv is in the host's process list every interval (Elasticsearch's curl -u elastic:$PW)."""
    result: RunResult = request.getfixturevalue(stack)
    secrets = _secret_names_and_values(result)
    problems = []
    for name, res in containers(result).items():
        inputs = unwrap(res.inputs)
        names, values = secrets[name]
        lines = []
        if inputs.get("healthcheck"):
            lines.append(list(inputs["healthcheck"]["tests"]))
        if inputs.get("command"):
            lines.append(["CMD", *inputs["command"]])
        for line in lines:
            text = " ".join(line)
            problems += [f"{name}: a secret value on its command line" for v in values if v in text]
            for argv in _programs(line):
                problems += [f"{name}: {word!r} puts a secret on argv" for word in _argv_leaks(argv, names)]
    assert problems == []


def test_the_secret_check_sees_the_old_elasticsearch_healthcheck() -> None:
    old = ["CMD-SHELL", 'curl -fsS -o /dev/null -u "elastic:$ELASTIC_PASSWORD" http://127.0.0.1:9200/']
    leaks = [w for argv in _programs(old) for w in _argv_leaks(argv, {"ELASTIC_PASSWORD"})]
    assert leaks == ["elastic:$ELASTIC_PASSWORD"]
    new = list(CATALOG["elasticsearch"].healthcheck.test)  # type: ignore[union-attr]
    assert [w for argv in _programs(new) for w in _argv_leaks(argv, {"ELASTIC_PASSWORD"})] == []


# ------------------------------------------------------------------ what each app reaches
def test_alloy_may_read_container_logs_through_the_socket_proxy(prod: RunResult) -> None:
    """linuxserver socket-proxy 3.4.3-r0-ls92+ denies /containers/{id}/logs unless ALLOW_LOGS
    (root/templates/haproxy.cfg): Alloy's loki.source.docker reads exactly that."""
    found = containers(prod)
    alloy = "".join(uploads_of(found["alloy"]).values())
    assert "loki.source.docker" in alloy
    assert env_of(found["socket-proxy"]).get("ALLOW_LOGS") == "1"


def test_every_status_dot_asks_a_port_the_app_listens_on(prod: RunResult) -> None:
    """Homepage's Traefik tile: the rendered traefik.yml has no 8080 listener; /ping answers on the metrics one."""
    services = yaml.safe_load(uploads_of(containers(prod)["homepage"])[f"{CONFIG_DIR}/services.yaml"])
    monitors = {
        name: tile["siteMonitor"]
        for group in services
        for tiles in group.values()
        for item in tiles
        for name, tile in item.items()
        if "siteMonitor" in tile
    }
    listening = {
        int(str(e["address"]).rsplit(":", 1)[1]) for e in render_static(prod_settings())["entryPoints"].values()
    }
    assert monitors["Traefik"] == "http://traefik:8082/ping"
    assert int(monitors["Traefik"].split(":")[2].split("/")[0]) in listening
