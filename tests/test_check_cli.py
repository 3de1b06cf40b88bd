"""`make check`: the offline check as a user runs it."""

from __future__ import annotations

import ast
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from config.stack import load_stack_file, settings_of
from offline.check import print_check
from offline.gate import Verdict, evaluate
from offline.plan import REMOTE_IMAGE, SECRET_OUTPUTS, plan_of
from offline.runner import ROOT, RunResult, run_program


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "offline.check", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_prod_summary_lists_services_and_urls() -> None:
    result = _check("--stack", "prod")
    assert result.returncode == 0, result.stderr
    assert "Resources by type" in result.stdout
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


# ------------------------------------------------------------------ the readable plan (issue 14)
PROD = ROOT / "Pulumi.prod.yaml"


@pytest.fixture(scope="module")
def prod_check() -> tuple[RunResult, dict[str, Any], Verdict]:
    stack = load_stack_file(PROD)
    result = run_program(stack)
    return result, plan_of(result, settings_of(stack)), evaluate(result, stack=stack)


def _render(checked: tuple[RunResult, dict[str, Any], Verdict], width: int, verbose: bool = False) -> list[str]:
    result, plan, verdict = checked
    out = io.StringIO()
    print_check(result, plan, verdict, Console(file=out, width=width, soft_wrap=False, highlight=False), verbose)
    return out.getvalue().splitlines()


def _pulled(result: RunResult) -> list[str]:
    return [str(r.inputs["name"]) for r in result.of_type(REMOTE_IMAGE)]


@pytest.mark.parametrize("width", [100, 200, 60])
def test_every_url_and_image_whole_at_the_terminals_width(
    prod_check: tuple[RunResult, dict[str, Any], Verdict], width: int
) -> None:
    lines = _render(prod_check, width)
    assert max(len(line) for line in lines) <= width
    text = "\n".join(lines)
    urls = prod_check[0].exports["urls"]
    assert len(urls) == 22  # with Bazarr and Search
    for url in urls.values():
        assert re.search(rf"(^|[\s│]){re.escape(url)}([\s│]|$)", text, re.MULTILINE), url
    images = _pulled(prod_check[0])
    assert len(images) == 40
    for image in (i for i in images if len(i) <= width):  # repository:tag as pulled, never the mocks' repo digest
        assert re.search(rf"(^|[\s│]){re.escape(image)}([\s│]|$)", text, re.MULTILINE), image
    assert "sha256:" not in text
    assert "container:gluetun" in text


def test_plan_opens_with_what_a_person_asks(prod_check: tuple[RunResult, dict[str, Any], Verdict]) -> None:
    lines = _render(prod_check, 120)
    text = "\n".join(lines)
    order = ["Apps", "Sign in", "Secret outputs", "DNS records", "Host paths", "GPU:", "Backups", "Containers"]
    starts = [next(i for i, line in enumerate(lines) if line.startswith(title)) for title in order]
    assert starts == sorted(starts)
    assert starts[-1] < next(i for i, line in enumerate(lines) if line.startswith("policy: PASS"))
    assert "user admin (group admins, file backend)" in text
    assert "pulumi stack output --stack prod --show-secrets autheliaUsers" in text
    jellyfin = next(line for line in lines if "https://jellyfin.media.example.org" in line)
    assert "one_factor (any user)" in jellyfin and "2 paths" in jellyfin and "DNS-only" in jellyfin
    sonarr = next(line for line in lines if "https://sonarr.media.example.org" in line)
    assert "two_factor (group" in sonarr and "proxied" in sonarr
    assert "GPU: intel (/dev/dri) for immich-machine-learning, immich-server, jellyfin" in text
    assert re.search(r"│ databases +│ 0 \* \* \* \* +│ .*│ local /srv/backups, b2 +│", text)
    assert "transcodePath: /mnt/ssd/transcode" in text


def test_secret_output_commands_name_real_exports() -> None:
    """Every output the plan tells a person to read is one __main__.py exports."""
    tree = ast.parse((ROOT / "__main__.py").read_text())
    exported = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "export"
        and isinstance(node.args[0], ast.Constant)
    }
    assert set(SECRET_OUTPUTS) <= exported


def test_advisories_grouped_by_rule_fit_one_screen(prod_check: tuple[RunResult, dict[str, Any], Verdict]) -> None:
    verdict = prod_check[2]
    lines = _render(prod_check, 100)
    first = next(i for i, line in enumerate(lines) if line.startswith("Advisories by rule"))
    last = next(i for i, line in enumerate(lines) if line.startswith("policy: PASS"))
    assert last - first <= 40
    block = "\n".join(lines[first:last])
    for rule in verdict.rule_ids():
        count = sum(v.rule == rule for v in verdict.violations)
        assert re.search(rf"│ {rule} +│ {count} +│", block), rule
    verbose = "\n".join(_render(prod_check, 200, verbose=True))
    assert all(v.resource in verbose for v in verdict.violations)
    assert "Routes (Traefik routers" in verbose


def test_generated_user_hash_is_not_an_advisory(prod_check: tuple[RunResult, dict[str, Any], Verdict]) -> None:
    assert "MS-024" not in prod_check[2].rule_ids()


def test_columns_env_sets_the_width() -> None:
    env = {**os.environ, "COLUMNS": "100"}
    result = subprocess.run(
        [sys.executable, "-m", "offline.check", "--stack", "dev"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    widths = [len(line) for line in result.stdout.splitlines()]
    assert max(widths) <= 100 and max(w for w in widths if w) >= 90
    assert "https://jellyfin.media.localhost" in result.stdout
    assert "this machine" in result.stdout and "none for .localhost (no CA issues them)" in result.stdout


# ------------------------------------------------------------------ exit codes: the module's, and make's (README)
def _make_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-s", "check", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_module_and_make_exit_codes_are_as_documented(tmp_path: Path) -> None:
    broken = tmp_path / "Pulumi.broken.yaml"
    broken.write_text("config:\n  media-server:domain: not_a_domain\n")
    assert _check("--stack-file", str(broken)).returncode == 1  # invalid settings
    assert _check("--stack", "nope").returncode == 2  # no such stack file
    assert _check("--bogus").returncode == 2  # usage
    # make turns any failed recipe into its own 2, and names the command's code
    invalid = _make_check(f"STACK_FILE={broken}")
    assert invalid.returncode == 2
    assert "problem(s); nothing registered" in invalid.stdout
    assert re.search(r"check\] Error 1$", invalid.stderr.strip())
    missing = _make_check("STACK=nope")
    assert missing.returncode == 2
    assert re.search(r"check\] Error 2$", missing.stderr.strip())
    readme = (ROOT / "README.md").read_text()
    assert "**`make check` exits 2 on\nevery failure**" in readme
