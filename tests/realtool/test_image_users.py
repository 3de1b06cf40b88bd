"""The prod containers on a real Docker engine, each as the user its real image runs as.

The busybox stand-in has no user of its own: where the entry sets none, the real image's user
(config.image_facts, read in its Dockerfile) is what would run, and a linuxserver app ends up as PUID:PGID
after its init. Each stand-in runs as that user with exactly the entry's capabilities, on the tree the real
host preparation made and with the files the program delivers, and must read every file it is given and
write every path its image writes. A directory owned 1000:1000 0750 is closed to root without capabilities:
this is what Blackbox (config) and Jellystat (backups) met.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from components.files import WRITE_SCRIPT
from components.host import PREPARE_SCRIPT
from config.image_facts import FACTS
from config.layout import directory_tree, render_manifest
from config.stack import load_stack_file
from offline.runner import ROOT, RunResult, run_program
from tests.conftest import containers
from tests.edge_support import stack_settings, unwrap
from tests.edge_support import uploads as delivered
from tests.realtool.docker_engine import Engine, create_spec, docker_engine, import_test_image, upload

pytestmark = pytest.mark.realtool


def declared_user(name: str, inputs: dict[str, Any]) -> str:
    """The uid:gid the real image's process runs as: the entry's user, PUID:PGID after a linuxserver init, or
    the image's own user."""
    if inputs.get("user"):
        return str(inputs["user"])
    env = dict(item.split("=", 1) for item in inputs.get("envs") or [])
    if "PUID" in env:
        return f"{env['PUID']}:{env['PGID']}"
    user = FACTS[name].user
    return f"{user.uid}:{user.gid}"


def _under(path: str, roots: list[str]) -> bool:
    return any(PurePosixPath(path).is_relative_to(root) for root in roots)


@dataclass
class Started:
    engine: Engine
    ids: dict[str, str]
    inputs: dict[str, dict[str, Any]]


def _host(tmp: Path, result: RunResult) -> Path:
    root = tmp / "host"
    manifest = render_manifest(directory_tree(stack_settings("prod")))
    done = subprocess.run(
        ["bash", str(PREPARE_SCRIPT), "--root", str(root)], input=manifest, text=True, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr
    writes = result.of_type("command:remote:Command")
    for write in (r for r in writes if r.name.endswith(("-files-write", "-write-secrets"))):
        done = subprocess.run(
            ["bash", str(WRITE_SCRIPT), "--root", str(root)],
            input=unwrap(write.inputs["stdin"]),
            text=True,
            capture_output=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    return root


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    if os.geteuid() != 0:
        pytest.fail("this test starts dockerd and prepares a host tree: it must run as root (CI does)")
    result = run_program(load_stack_file(ROOT / "Pulumi.prod.yaml"))
    assert result.ok, result.problems
    host_root = _host(tmp_path_factory.mktemp("users"), result)
    with docker_engine() as engine:
        import_test_image(engine)
        ids: dict[str, str] = {}
        all_inputs: dict[str, dict[str, Any]] = {}
        for name, res in sorted(containers(result).items()):
            inputs = unwrap(res.inputs)
            # Alone, on no network: what is checked here is files and users, not reachability.
            body, _ = create_spec(
                {**inputs, "networkMode": "none", "networksAdvanced": None}, host_root, {"none": "none"}, {}
            )
            body["HostConfig"]["NetworkMode"] = "none"
            body["User"] = declared_user(name, inputs)
            created = engine.call("POST", f"/containers/create?name=u-{inputs['name']}", body)
            for item in inputs.get("uploads") or []:
                upload(engine, created["Id"], item["file"], item["content"], bool(item.get("executable")))
            engine.call("POST", f"/containers/{created['Id']}/start")
            ids[name], all_inputs[name] = created["Id"], {**inputs, "files": delivered(res)}
        yield Started(engine=engine, ids=ids, inputs=all_inputs)


def test_the_stand_ins_run_as_the_declared_users(started: Started) -> None:
    for name, cid in started.ids.items():
        user = declared_user(name, started.inputs[name])
        uid, _, gid = user.partition(":")
        assert started.engine.exec(cid, ["sh", "-c", f'test "$(id -u):$(id -g)" = "{uid}:{gid or uid}"']) == 0, name


def test_each_container_reads_every_file_it_is_given(started: Started) -> None:
    unreadable = [
        (name, path)
        for name, inputs in started.inputs.items()
        for path in inputs["files"]
        if started.engine.exec(started.ids[name], ["test", "-r", path]) != 0
    ]
    assert unreadable == []


def test_each_container_writes_every_path_its_image_writes(started: Started) -> None:
    """Paths on its mounts and tmpfs (the stand-in's own root is not the image's, so root paths are left out;
    tests/test_image_facts.py holds a read-only root to the same list)."""
    unwritable = []
    checked = 0
    for name, inputs in started.inputs.items():
        writable = [v["containerPath"] for v in inputs.get("volumes") or [] if not v.get("readOnly")]
        writable += list(inputs.get("tmpfs") or {})
        for path in FACTS[name].writes.paths:
            if not _under(path, writable):
                continue
            checked += 1
            probe = f"{path.rstrip('/')}/.write-probe"
            if started.engine.exec(started.ids[name], ["touch", probe]) != 0:
                unwritable.append((name, path, declared_user(name, inputs)))
    assert unwritable == []
    assert checked > 30


def test_crowdsec_reads_the_access_log_traefik_writes(started: Started) -> None:
    """Traefik (site user) writes the log; CrowdSec (root, no capability) reads it through the site group."""
    engine, ids = started.engine, started.ids
    assert engine.exec(ids["traefik"], ["sh", "-c", "umask 027 && echo '{}' > /var/log/traefik/access.log"]) == 0
    assert engine.exec(ids["crowdsec"], ["cat", "/var/log/traefik/access.log"]) == 0
