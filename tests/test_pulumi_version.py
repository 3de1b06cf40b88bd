"""`make preview` / `make up` refuse a Pulumi CLI too old for replacement_trigger (scripts/check_pulumi_version.py),
proven with a fake `pulumi` on PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from offline.runner import ROOT

SCRIPT = ROOT / "scripts" / "check_pulumi_version.py"


def _run(tmp_path: Path, printed: str | None, exit_code: int = 0) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if printed is not None:
        fake = bin_dir / "pulumi"
        fake.write_text(f"#!/bin/sh\n[ \"$1\" = version ] || exit 2\nprintf '%s\\n' '{printed}'\nexit {exit_code}\n")
        fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    return subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("version", ["v3.226.0", "v3.272.0", "v3.300.1-alpha.1+dirty", "v4.0.0"])
def test_new_enough_cli_passes(tmp_path: Path, version: str) -> None:
    done = _run(tmp_path, version)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("version", ["v3.225.9", "v3.208.0", "v3.100.0", "v2.25.2"])
def test_older_cli_is_refused_with_the_reason(tmp_path: Path, version: str) -> None:
    done = _run(tmp_path, version)
    assert done.returncode == 1
    assert f"Pulumi CLI {version[1:]} is older than 3.226.0" in done.stderr
    assert "replacement_trigger" in done.stderr


def test_missing_cli_is_refused(tmp_path: Path) -> None:
    done = _run(tmp_path, None)
    assert done.returncode == 1 and "no `pulumi` on PATH" in done.stderr


def test_unparseable_or_failing_cli_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    garbled = _run(tmp_path / "a", "3.272")
    assert garbled.returncode == 1 and "not a version" in garbled.stderr
    (tmp_path / "b").mkdir()
    failing = _run(tmp_path / "b", "v3.272.0", exit_code=3)
    assert failing.returncode == 1 and "failed (exit 3)" in failing.stderr


def test_make_preview_and_up_run_the_check_first() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in ("preview:", "up:"):
        line = next(ln for ln in makefile.splitlines() if ln.startswith(target))
        assert "pulumi-version" in line.split("##")[0], line
