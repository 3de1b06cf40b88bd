"""images/search/Dockerfile as far as it can be checked here.

No registry is reachable from this machine, so alpine:3.22.2 cannot be pulled and the image cannot be
built or run here; `hadolint` is not available either. What is checked: the pinned base (the backup
runner's), every COPY source exists in the build context and is not excluded by .dockerignore, the
command's module resolves and runs with the standard library alone (`python3 -S`: no site-packages, as in
the image, which installs no Python library), a numeric non-root USER, the healthcheck's port and path,
and the OCI labels.
"""

from __future__ import annotations

import fnmatch
import json
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

from offline.runner import ROOT
from tests.search.service_fakes import write_config

CONTEXT = ROOT / "images" / "search"
DOCKERFILE = CONTEXT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            word, _, rest = stripped.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _one(name: str) -> str:
    found = [args for word, args in _instructions() if word == name]
    assert len(found) == 1, f"{name}: {found}"
    return found[0]


def test_the_base_is_the_pinned_alpine_of_the_backup_runner() -> None:
    assert _one("FROM") == "alpine:3.22.2"
    backup = (ROOT / "images" / "backup-runner" / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM alpine:3\.22\.2$", backup, re.MULTILINE)


def test_only_python3_is_installed_from_apk() -> None:
    runs = [args for word, args in _instructions() if word == "RUN"]
    adds = [re.search(r"apk add (.*?)(?:&&|$)", run) for run in runs]
    packages = [m.group(1).split() for m in adds if m]
    assert packages == [["--no-cache", "python3"]]


def test_every_copied_source_is_in_the_build_context() -> None:
    ignored = [line.strip() for line in (CONTEXT / ".dockerignore").read_text().splitlines() if line.strip()]
    copies = [args for word, args in _instructions() if word == "COPY"]
    assert copies, "the Dockerfile copies the package"
    for args in copies:
        *sources, _target = [a for a in args.split() if not a.startswith("--")]
        for source in sources:
            path = CONTEXT / source
            assert path.exists(), f"COPY {source}: missing from {CONTEXT}"
            assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), f"{source} is .dockerignored"
    assert (CONTEXT / "mediasearch" / "static" / "index.html").is_file()


def test_the_user_is_numeric_and_not_root() -> None:
    user = _one("USER")
    assert re.fullmatch(r"[1-9][0-9]*:[1-9][0-9]*", user), user


def test_the_healthcheck_asks_healthz_on_the_listening_port() -> None:
    assert _one("EXPOSE") == "8080"
    health = json.loads(_one("HEALTHCHECK").split("CMD", 1)[1])
    assert health == ["wget", "-q", "--spider", "http://127.0.0.1:8080/healthz"]


def test_oci_labels() -> None:
    labels = dict(re.findall(r'(org\.opencontainers\.image\.[a-z.]+)="([^"]*)"', _one("LABEL")))
    assert labels["org.opencontainers.image.title"] == "media-server search"
    assert labels["org.opencontainers.image.source"] == "images/search"
    assert labels["org.opencontainers.image.base.name"] == "alpine:3.22.2"


def _stdlib_python(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """python -S with only the build context on the path: the standard library and the package, as in the image."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(CONTEXT), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-S", *args], capture_output=True, text=True, env=env, cwd=cwd or CONTEXT, check=False
    )


def test_the_command_module_resolves_with_the_standard_library_alone() -> None:
    cmd = json.loads(_one("CMD"))
    assert cmd == ["python3", "-m", "mediasearch", "serve", "--config", "/config/search.json"]
    result = _stdlib_python("-m", "mediasearch", "serve", "--help")
    assert result.returncode == 0, result.stderr
    assert "--config" in result.stdout


def test_every_module_of_the_package_imports_without_site_packages() -> None:
    names = [m.name for m in pkgutil.walk_packages([str(CONTEXT / "mediasearch")], "mediasearch.")]
    assert "mediasearch.server" in names and "mediasearch.indexer" in names
    script = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    result = _stdlib_python("-c", script, *names)
    assert result.returncode == 0, result.stderr


def test_check_config_says_what_is_enabled(tmp_path: Path) -> None:
    path = write_config(tmp_path / "search.json")
    result = _stdlib_python("-m", "mediasearch", "check-config", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{path}: valid; engine sqlite, port 8080, public URL https://search.example.org",
        "  jellyfin: enabled",
        "  navidrome: enabled",
        "  kavita: disabled (no API key; set `media-server:searchKavitaApiKey`)",
    ]


def test_a_bad_configuration_stops_the_service_with_the_field_named(tmp_path: Path) -> None:
    path = write_config(tmp_path / "search.json", listen_port=80)
    for command in ("check-config", "serve"):
        result = _stdlib_python("-m", "mediasearch", command, "--config", str(path))
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().endswith(
            "mediasearch: configuration: listen_port: 80 is outside 1024..65535 (the service runs unprivileged)"
        )
    missing = _stdlib_python("-m", "mediasearch", "serve", "--config", str(tmp_path / "absent.json"))
    assert missing.returncode == 1
    assert "absent.json" in missing.stderr
