"""`make check`: the offline check as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from offline.runner import ROOT


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "offline.check", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_prod_summary_lists_services_and_urls() -> None:
    result = _check("--stack", "prod")
    assert result.returncode == 0, result.stderr
    assert "Resources by type and component" in result.stdout
    assert "https://jellyfin.media.example.org" in result.stdout


def test_json_is_deterministic_and_redacts_secrets() -> None:
    first = _check("--stack", "prod", "--json")
    second = _check("--stack", "prod", "--json")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    doc = json.loads(first.stdout)
    assert doc["ok"] is True and doc["problems"] == []
    postgres = next(r for r in doc["resources"] if r["name"] == "data-postgres-container")
    assert postgres["inputs"]["envs"] == "[secret]"
    assert doc["exports"]["generatedSecrets"] == "[secret]"
    for res in doc["resources"]:
        assert {"type", "name", "parent", "provider", "inputs"} <= set(res)


def test_bad_stack_file_exits_non_zero_with_every_problem(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.broken.yaml"
    stack.write_text(
        "config:\n"
        "  media-server:domain: not_a_domain\n"
        "  media-server:puid: 0\n"
        "  media-server:host: {mode: ssh, address: h.example.org, port: 0}\n"
        "  media-server:services: {sonarr: {imageTag: latest}}\n"
    )
    result = _check("--stack-file", str(stack))
    assert result.returncode == 1
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("- media-server:")]
    assert [line.split(":", 2)[1] for line in lines] == ["domain", "host.port", "puid", "services.sonarr.imageTag"]
    assert "nothing registered" in result.stdout

    as_json = json.loads(_check("--stack-file", str(stack), "--json").stdout)
    assert as_json["ok"] is False and as_json["resources"] == [] and len(as_json["problems"]) == 4


def test_missing_stack_file_is_usage_error() -> None:
    assert _check("--stack", "nope").returncode == 2
