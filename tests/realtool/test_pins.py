"""`make pin`, `make outdated`, `make upgrade` against a real registry on loopback (Debian docker-registry).

Every image the root stacks pull is pushed by the test (some as multi-arch OCI indexes); every digest the
lock ends up with must be the one the push produced. Then: a re-pushed tag moves its digest, a missing tag
and an unreachable registry fail clearly and leave the lock byte for byte, a stack pinned from the
registry renders every image by digest and passes the gate with policy.requireDigests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pins.__main__ import ROOT, wanted
from pins.registry import split_repository
from tests.realtool.backup_env import free_port
from tests.realtool.registry import Registry, registry

pytestmark = pytest.mark.realtool
HOSTS = ("docker.io", "lscr.io", "ghcr.io", "quay.io", "docker.elastic.co")
MULTI_ARCH = {"jellyfin", "sonarr", "postgres"}


def _module(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _pins(*args: str, url: str, lock: Path) -> subprocess.CompletedProcess[str]:
    return _module("pins", *args, "--lock", str(lock), *(f"--registry={host}={url}" for host in HOSTS))


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, dict[str, str]]]:
    """The registry, and reference -> digest of everything pushed for the root stacks' images."""
    tmp = tmp_path_factory.mktemp("registry")
    with registry(tmp) as reg:
        digests: dict[str, str] = {}
        empty = tmp / "empty.lock.json"
        for item in wanted(sorted(ROOT.glob("Pulumi.*.yaml")), empty):
            _, name = split_repository(item.repository)
            for tag in {item.base_tag, item.final_tag}:
                arches = ("amd64", "arm64") if item.app in MULTI_ARCH else ("amd64",)
                digests[f"{item.repository}:{tag}"] = reg.image(name, tag, arches=arches)
        yield reg, digests


def test_pin_writes_the_digest_each_tag_has_in_the_registry(
    pushed: tuple[Registry, dict[str, str]], tmp_path: Path
) -> None:
    reg, digests = pushed
    lock = tmp_path / "images.lock.json"
    done = _pins("pin", url=reg.url, lock=lock)
    assert done.returncode == 0, done.stderr
    doc = json.loads(lock.read_text())
    assert len(doc["images"]) == 38  # every pulled app of dev and prod (the backup runner is built on the host)
    for app, pin in doc["images"].items():
        assert pin["digest"] == digests[f"{pin['image']}:{pin['tag']}"], app
    for reference, digest in doc["variants"].items():
        assert digest == digests[reference]
    # multi-arch: the index's digest, which is what the tag names on every platform
    assert doc["images"]["sonarr"]["digest"] == digests[f"lscr.io/linuxserver/sonarr:{doc['images']['sonarr']['tag']}"]
    assert "immich-machine-learning" in doc["images"]

    # a re-pushed tag: the next pin moves that app's digest and nothing else
    sonarr = doc["images"]["sonarr"]
    repushed = reg.image("linuxserver/sonarr", sonarr["tag"], content="rebuilt upstream")
    assert repushed != sonarr["digest"]
    again = _pins("pin", url=reg.url, lock=lock)
    assert again.returncode == 0, again.stderr
    moved = json.loads(lock.read_text())
    assert moved["images"]["sonarr"]["digest"] == repushed
    assert {a: p for a, p in moved["images"].items() if a != "sonarr"} == {
        a: p for a, p in doc["images"].items() if a != "sonarr"
    }
    reg.image("linuxserver/sonarr", sonarr["tag"], arches=("amd64", "arm64"))  # as the module pushed it


def test_missing_tag_and_unreachable_registry_leave_the_lock_alone(
    pushed: tuple[Registry, dict[str, str]], tmp_path: Path
) -> None:
    reg, _ = pushed
    lock = tmp_path / "images.lock.json"
    assert _pins("pin", url=reg.url, lock=lock).returncode == 0
    before = lock.read_bytes()

    missing = _pins("upgrade", "--app", "radarr", "--tag", "99.0.0", url=reg.url, lock=lock)
    assert missing.returncode == 1
    assert "lscr.io/linuxserver/radarr: manifests/99.0.0 not found" in missing.stderr
    assert lock.read_bytes() == before

    site = tmp_path / "Pulumi.site.yaml"
    doc = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    doc["config"]["media-server:services"]["jellyfin"] = {"imageTag": "10.99.0"}
    site.write_text(yaml.safe_dump(doc))
    unpushed = _pins("pin", "--stack-file", str(site), url=reg.url, lock=lock)
    assert unpushed.returncode == 1 and "jellyfin/jellyfin: manifests/10.99.0 not found" in unpushed.stderr
    assert "left as it was" in unpushed.stderr and lock.read_bytes() == before

    closed = f"http://127.0.0.1:{free_port()}"
    down = _pins("pin", url=closed, lock=lock)
    assert down.returncode == 1
    assert "registry unreachable" in down.stderr and "Connection refused" in down.stderr
    assert lock.read_bytes() == before


def test_pinned_stack_runs_by_digest_and_passes_require_digests(
    pushed: tuple[Registry, dict[str, str]], tmp_path: Path
) -> None:
    reg, digests = pushed
    lock = tmp_path / "images.lock.json"
    assert _pins("pin", url=reg.url, lock=lock).returncode == 0
    doc = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    doc["config"]["media-server:policy"] = {**doc["config"].get("media-server:policy", {}), "requireDigests": True}
    strict = tmp_path / "Pulumi.strict.yaml"
    strict.write_text(yaml.safe_dump(doc))

    def check(lock_file: Path) -> tuple[int, dict[str, object]]:
        argv = ("offline.check", "--stack-file", str(strict), "--json")
        done = _module(*argv, env={"MEDIA_SERVER_IMAGES_LOCK": str(lock_file)})
        return done.returncode, json.loads(done.stdout)

    code, result = check(lock)
    assert code == 0, [v for v in result["policy"]["violations"] if v["level"] == "mandatory"]  # type: ignore[index]
    pulled = [r["inputs"] for r in result["resources"] if r["type"] == "docker:index/remoteImage:RemoteImage"]  # type: ignore[index]
    assert len(pulled) == 40
    for image in pulled:
        if image.get("build"):
            continue
        reference, _, digest = image["name"].partition("@")
        assert digest == digests[reference], reference
    assert not [v for v in result["policy"]["violations"] if v["rule"] == "MS-014"]  # type: ignore[index]

    code, result = check(tmp_path / "no-such.lock.json")  # by tag only: requireDigests makes MS-014 mandatory
    assert code == 1
    refused = {
        v["resource"] for v in result["policy"]["violations"] if v["rule"] == "MS-014" and v["level"] == "mandatory"
    }  # type: ignore[index]
    assert len(refused) == 38 and "media-sonarr-image" in refused


def test_outdated_lists_newer_releases_and_upgrade_moves_one_pin(
    pushed: tuple[Registry, dict[str, str]], tmp_path: Path
) -> None:
    reg, _ = pushed
    lock = tmp_path / "images.lock.json"
    assert _pins("pin", url=reg.url, lock=lock).returncode == 0
    current = json.loads(lock.read_text())["images"]["sonarr"]["tag"]
    major, minor, patch = (int(x) for x in current.split("."))
    newer = [f"{major}.{minor}.{patch + 1}", f"{major}.{minor + 1}.0"]
    for tag in [*newer, f"{major}.{minor + 2}.0-rc1", f"{major}.{minor + 1}", f"{major}.{minor + 3}.0-beta.2"]:
        reg.image("linuxserver/sonarr", tag)
    outdated = _pins("outdated", "--stack", "prod", url=reg.url, lock=lock)
    assert outdated.returncode == 0, outdated.stderr
    line = next(x for x in outdated.stdout.splitlines() if x.startswith("sonarr "))
    assert line.split()[-2:] == [f"{newer[0]},", newer[1]]
    radarr = next(x for x in outdated.stdout.splitlines() if x.startswith("radarr "))
    assert radarr.endswith("up to date")

    before = json.loads(lock.read_text())
    upgraded = _pins("upgrade", "--app", "sonarr", "--stack", "prod", url=reg.url, lock=lock)
    assert upgraded.returncode == 0, upgraded.stderr
    after = json.loads(lock.read_text())
    assert after["images"]["sonarr"]["tag"] == newer[1]
    assert {a: p for a, p in after["images"].items() if a != "sonarr"} == {
        a: p for a, p in before["images"].items() if a != "sonarr"
    }
    changed = [x for x in upgraded.stdout.splitlines() if x[:2] in ("~ ", "+ ", "- ")]
    assert changed and all("sonarr" in x for x in changed), changed
