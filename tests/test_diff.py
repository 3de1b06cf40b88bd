"""`make diff BASE=<ref>`: the base and the working tree rendered offline, compared as a reviewer reads them.

The end-to-end tests work on a copy of this checkout in a temporary git repository (its working tree as
it is, committed), so they change nothing here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from offline.diff import Diff, compare, format_diff
from offline.snapshot import SECRET
from tests.worktree import copy_working_tree

GIT = ["git", "-c", "user.email=test@example.org", "-c", "user.name=test", "-c", "commit.gpgsign=false"]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's working tree (tracked and new files, as they are now) as the one commit of a new repo."""
    copy = copy_working_tree(tmp_path_factory.mktemp("repo"))
    _git(copy, "init", "-q")
    _git(copy, "add", "-A")
    _git(copy, "commit", "-qm", "base")
    return copy


def _diff(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "offline.diff", *args], cwd=repo, capture_output=True, text=True, check=False
    )


def _set_subdomain(repo: Path, app: str, subdomain: str) -> None:
    stack = repo / "Pulumi.dev.yaml"
    doc = yaml.safe_load(stack.read_text())
    doc["config"]["media-server:services"][app] = {"subdomain": subdomain}
    stack.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_one_subdomain_changes_its_router_and_access_rules_and_nothing_else(repo: Path) -> None:
    _set_subdomain(repo, "sonarr", "series")
    _git(repo, "commit", "-qam", "sonarr at series.")
    try:
        result = _diff(repo, "--base", "HEAD~1", "--stack", "dev")
    finally:
        _git(repo, "reset", "-q", "--hard", "HEAD~1")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # The resources: for each read-only container whose files changed, its files, their write command, and
    # the container itself (replaced when its files change); Homepage (writable root) receives uploads, so its
    # container alone. Nothing else.
    changed = re.findall(r"^([~+-]) \S+  (\S+)$", out, flags=re.MULTILINE)
    services = ("auth-authelia", "proxy-traefik")
    assert sorted(changed) == sorted(
        [("~", f"{s}-{role}") for s in services for role in ("container", "files", "files-write")]
        + [("~", "media-homepage-container")]
    ), out
    # The files: Traefik's routers, Authelia's access rules and the dashboard's link to the app; every
    # changed line trades the old host for the new one.
    files = re.findall(r"^\+\+\+ b/(\S+)$", out, flags=re.MULTILINE)
    assert sorted(files) == [
        "auth-authelia-container:/config/configuration.yml",
        "media-homepage-container:/app/config/services.yaml",
        "proxy-traefik-container:/etc/traefik/dynamic/site.yml",
    ]
    removed = [line[1:] for line in out.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in out.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert [line.replace("sonarr.media", "series.media") for line in removed] == added
    assert all("sonarr.media.localhost" in line for line in removed)
    router_rules = [line for line in added if "rule: Host(`series.media.localhost`)" in line]
    assert len(router_rules) == 2  # the app's router and its API bypass router
    assert sum(1 for line in added if line.strip() == "- series.media.localhost") == 2  # its two access rules
    assert "# 7 changed, 0 added, 0 removed; 3 generated files changed" in out


def test_an_unchanged_tree_in_another_place_renders_the_same(repo: Path) -> None:
    """The base is extracted elsewhere: no checkout path may show up as a change (prod builds an image)."""
    result = _diff(repo, "--base", "HEAD", "--stack", "prod")
    assert result.returncode == 0, result.stderr
    assert "# 0 changed, 0 added, 0 removed; 0 generated files changed" in result.stdout
    assert "# no change" in result.stdout


def test_bad_usage_exits_2(repo: Path) -> None:
    unknown = _diff(repo, "--base", "no-such-ref")
    assert unknown.returncode == 2 and "is not a commit" in unknown.stderr
    missing = _diff(repo, "--base", "HEAD", "--stack", "nope")
    assert missing.returncode == 2 and "Pulumi.nope.yaml" in missing.stderr


def test_a_stack_the_change_adds_shows_every_resource_added(repo: Path) -> None:
    shutil.copy(repo / "Pulumi.dev.yaml", repo / "Pulumi.lab.yaml")
    try:
        result = _diff(repo, "--base", "HEAD", "--stack", "lab")
    finally:
        (repo / "Pulumi.lab.yaml").unlink()
    assert result.returncode == 0, result.stderr
    assert "stack lab (not in the base)" in result.stdout
    added = re.findall(r"^\+ \S+  \S+$", result.stdout, flags=re.MULTILINE)
    assert len(added) > 50 and not re.findall(r"^[~-] ", result.stdout, flags=re.MULTILINE)


def _snapshot(*resources: dict[str, object]) -> dict[str, object]:
    return {"recordsReplacementTrigger": True, "problems": [], "resources": list(resources)}


def _container(inputs: dict[str, object], files: list[object], trigger: object = None) -> dict[str, object]:
    entry: dict[str, object] = {
        "urn": "urn:pulumi:t::p::docker:index/container:Container::app-container",
        "type": "docker:index/container:Container",
        "name": "app-container",
        "inputs": inputs,
        "files": files,
    }
    if trigger is not None:
        entry["replacementTrigger"] = trigger
    return entry


def test_secrets_are_never_printed_only_said_to_change() -> None:
    hidden = {SECRET: "0123456789abcdef"}
    other = {SECRET: "fedcba9876543210"}
    base = _snapshot(
        _container(
            {"envs": ["TZ=UTC", "MODE=a"], "image": "x"},
            [{"file": "/c/app.yml", "content": "a: 1\nb: 2\n"}, {"file": "/c/token", "content": hidden}],
            trigger=hidden,
        )
    )
    work = _snapshot(
        _container(
            {"envs": ["TZ=UTC", "MODE=b"], "image": "x"},
            [{"file": "/c/app.yml", "content": "a: 1\nb: 3\n"}, {"file": "/c/token", "content": other}],
            trigger=other,
        )
    )
    diff = compare(base, work)
    text = format_diff(diff, "t")
    assert '    envs[MODE]: "a" → "b"' in text
    assert "    (replacementTrigger): [secret] changed" in text
    assert "[secret file] changed" in text
    assert "-b: 2" in text and "+b: 3" in text
    assert "0123456789abcdef" not in text and "fedcba9876543210" not in text
    assert "envs[TZ]" not in text and "image" not in text
    assert compare(base, base) == Diff([], [])


def test_a_secret_copied_into_a_plain_string_is_blanked(tmp_path: Path) -> None:
    from offline.recorder import Secret
    from offline.snapshot import _Redactor

    redact = _Redactor(Secret, tmp_path)
    redact.collect(Secret("s3cret-value-42"))
    assert redact({"a": f"password: s3cret-value-42 in {tmp_path}/x", "b": Secret("s3cret-value-42")}) == {
        "a": "password: [secret] in <checkout>/x",
        "b": {SECRET: redact(Secret("s3cret-value-42"))[SECRET]},
    }
