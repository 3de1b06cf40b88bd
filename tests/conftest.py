"""Shared fixtures: stack configs as the engine would pass them, and program runs under mocks."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import config as runtime_config

from config.stack import StackConfig, load_stack_file
from offline.runner import ROOT, RunResult, run_program

CONTAINER = "docker:index/container:Container"
SCHEMA_LIST = ROOT / "scripts" / "schemas.tsv"


def pytest_sessionstart(session: pytest.Session) -> None:
    """No published schema, no test run: one message, not a failing test per schema."""
    from tests.edge_support import SCHEMA_DIRS, schema_path

    names = [line.split("\t", 1)[0] for line in SCHEMA_LIST.read_text().splitlines() if line and line[0] != "#"]
    missing = [name for name in names if not schema_path(name).is_file()]
    if missing:
        pytest.exit(
            f"missing published schemas {', '.join(missing)} (looked in {', '.join(map(str, SCHEMA_DIRS))}): "
            "run `make setup-system` (downloads them at their pinned revision and checks their sha256), or put "
            "them in ../shared/schemas or in the directory MEDIA_SERVER_SCHEMAS names",
            returncode=1,
        )


def minimal_config(**overrides: Any) -> dict[str, Any]:
    """The smallest valid site: local Docker, defaults elsewhere. Keys without the namespace."""
    base: dict[str, Any] = {"domain": "media.example.org", "host": {"mode": "local"}}
    base.update(overrides)
    return base


def as_stack(raw: dict[str, Any], name: str = "test", secrets: dict[str, str] | None = None) -> StackConfig:
    values = {f"media-server:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
    secret_keys = []
    for key, value in (secrets or {}).items():
        values[f"media-server:{key}"] = value
        secret_keys.append(f"media-server:{key}")
    return StackConfig(name=name, values=values, secret_keys=secret_keys)


@pytest.fixture
def engine_config() -> Iterator[dict[str, str]]:
    """Stack config as the engine hands it to policy packs (`media-server:policy` and the rest); restored after."""
    values: dict[str, str] = {}
    token = runtime_config.CONFIG.set(values)
    yield values
    runtime_config.CONFIG.reset(token)


@pytest.fixture(scope="session")
def prod() -> RunResult:
    result = run_program(load_stack_file(ROOT / "Pulumi.prod.yaml"))
    assert result.ok, result.problems
    return result


@pytest.fixture(scope="session")
def dev() -> RunResult:
    result = run_program(load_stack_file(ROOT / "Pulumi.dev.yaml"))
    assert result.ok, result.problems
    return result


@pytest.fixture
def run_site() -> Callable[..., RunResult]:
    def _run(raw: dict[str, Any], secrets: dict[str, str] | None = None, name: str = "test") -> RunResult:
        return run_program(as_stack(raw, name=name, secrets=secrets))

    return _run


def containers(result: RunResult) -> dict[str, Any]:
    """Container inputs by catalog service name (from the service label)."""
    out = {}
    for res in result.of_type(CONTAINER):
        labels = {item["label"]: item["value"] for item in res.inputs.get("labels", [])}
        out[labels["media-server.service"]] = res
    return out


STACK_FILES = sorted(Path(ROOT).glob("Pulumi.*.yaml"))


def stack_secrets(stack: str) -> dict[str, str]:
    """Placeholder values for every secret key a stack file sets (keys without the namespace)."""
    config = load_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    return {key.split(":", 1)[1]: f"placeholder-{key.split(':', 1)[1]}" for key in config.secret_keys}


PROD_SECRETS = stack_secrets("prod")


def make_check(stack_file: Path) -> subprocess.CompletedProcess[str]:
    """`make check STACK_FILE=...` as a user runs it (setup is taken as done: the suite runs inside it)."""
    return subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "check", f"STACK_FILE={stack_file}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
