"""Helpers for the edge tests: stack settings, and the files a recorded container receives."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from config.settings import Settings
from config.stack import load_stack_file, parse_settings
from offline.recorder import Recorded, Secret
from offline.runner import ROOT, RunResult
from tests.conftest import containers

SCHEMA_DIRS = (Path(os.environ.get("MEDIA_SERVER_SCHEMAS", ROOT.parent / "shared" / "schemas")), ROOT / ".schemas")
"""Where the published schemas are: test data beside the repository (or MEDIA_SERVER_SCHEMAS), else the copies
`make setup-system` downloaded and checked (scripts/fetch-schemas.sh, scripts/schemas.tsv)."""


def schema_path(name: str) -> Path:
    found = [d / name for d in SCHEMA_DIRS if (d / name).is_file()]
    return found[0] if found else SCHEMA_DIRS[-1] / name


def stack_settings(stack: str, **overrides: Any) -> Settings:
    """Settings of Pulumi.<stack>.yaml (secrets left out), with top-level keys replaced."""
    return parse_settings({**stack_raw(stack), **overrides})


def stack_raw(stack: str | Path) -> dict[str, Any]:
    """A stack file's plain config (Pulumi.<stack>.yaml, or the file at a path), keys without the namespace, as
    the program's run_site fixture takes it."""
    config = load_stack_file(stack if isinstance(stack, Path) else ROOT / f"Pulumi.{stack}.yaml")
    return {
        key.split(":", 1)[1]: json.loads(value) if value[:1] in "[{" else value
        for key, value in config.values.items()
        if key not in config.secret_keys
    }


def unwrap(value: Any) -> Any:
    while isinstance(value, Secret):
        value = value.value
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    return value


def uploads(res: Recorded) -> dict[str, str]:
    """Container path -> content of every file the container receives: its uploads, and the files written on the
    host into its bind mounts (HostFiles, for a read-only root filesystem)."""
    delivered = [*(unwrap(res.inputs.get("uploads")) or []), *(unwrap(res.host_files) or [])]
    return {item["file"]: item["content"] for item in delivered}


def env(res: Recorded) -> dict[str, str]:
    return dict(item.split("=", 1) for item in unwrap(res.inputs.get("envs")) or [])


def generated_password(result: RunResult, name: str) -> str:
    """The value the (mock) provider generated for the RandomPassword named `name`."""
    (password,) = [r for r in result.of_type("random:index/randomPassword:RandomPassword") if r.name == name]
    value: str = unwrap(password.outputs["result"])
    assert value, name
    return value


def container(result: RunResult, service: str) -> Recorded:
    found: Recorded = containers(result)[service]
    return found


def upload_yaml(result: RunResult, service: str, path: str) -> Any:
    return yaml.safe_load(uploads(container(result, service))[path])


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_path(name).read_text())
    return loaded


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
