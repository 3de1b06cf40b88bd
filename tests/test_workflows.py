"""The pull-request workflow is as pinned as the images: zizmor, offline, finds nothing in it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from offline.runner import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
ZIZMOR = Path(sys.executable).parent / "zizmor"
# `uses: owner/repo@<40 hex> # vX.Y.Z`: the commit pins, the comment says which release it is.
PINNED = re.compile(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+")


def _zizmor(path: Path) -> subprocess.CompletedProcess[str]:
    # The auditor persona reports everything, false positives included: the strictest reading.
    return subprocess.run(
        [str(ZIZMOR), "--offline", "--persona", "auditor", "--no-progress", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_zizmor_finds_nothing_in_the_workflows() -> None:
    result = _zizmor(WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_zizmor_offline_still_sees_mutable_tags_and_persisted_credentials(tmp_path: Path) -> None:
    """The guard works here without a network: the workflow as it was (tags, default checkout) is reported."""
    broken = tmp_path / ".github" / "workflows"
    broken.mkdir(parents=True)
    for source in WORKFLOWS.glob("*.yml"):
        text = re.sub(r"@[0-9a-f]{40} # (v\d+)\.\d+\.\d+", r"@\1", source.read_text())
        (broken / source.name).write_text(text.replace("persist-credentials: false", "persist-credentials: true"))
    result = _zizmor(broken)
    assert result.returncode != 0
    assert "unpinned-uses" in result.stdout
    assert "artipacked" in result.stdout


def test_every_action_is_pinned_by_commit_with_its_release_tag() -> None:
    for source in WORKFLOWS.glob("*.yml"):
        for line in source.read_text().splitlines():
            if "uses:" in line:
                assert PINNED.search(line), f"{source.name}: {line.strip()}"


def test_every_job_declares_its_permissions_and_the_default_is_none() -> None:
    for source in WORKFLOWS.glob("*.yml"):
        workflow = yaml.safe_load(source.read_text())
        assert workflow["permissions"] == {}, source.name
        for name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{source.name}: job {name}"
            writes = {scope for scope, level in job["permissions"].items() if level == "write"}
            assert writes <= {"pull-requests"}, f"{source.name}: job {name} writes {writes}"


def test_zizmor_is_the_pinned_one() -> None:
    assert shutil.which(str(ZIZMOR))
    pinned = next(
        line.split("==")[1]
        for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
        if line.startswith("zizmor==")
    )
    version = subprocess.run([str(ZIZMOR), "--version"], capture_output=True, text=True, check=True).stdout
    assert version.split() == ["zizmor", pinned]


def test_the_diff_is_posted_only_with_a_token_that_may_comment() -> None:
    workflow = yaml.safe_load((WORKFLOWS / "pull-request.yml").read_text())
    job = workflow["jobs"]["diff"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    render, post = job["steps"][2], job["steps"][3]
    assert 'make -s diff BASE="$BASE_SHA"' in render["run"]
    assert render["env"] == {"BASE_SHA": "${{ github.event.pull_request.base.sha }}"}
    # A fork's pull request gets a read-only token: it does not try to comment.
    assert "github.event.pull_request.head.repo.full_name == github.repository" in post["if"]
    assert post["env"]["GH_TOKEN"] == "${{ github.token }}"
