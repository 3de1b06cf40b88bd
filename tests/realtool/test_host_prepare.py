"""Host preparation for real: the repo's script over SSH into a scratch root, twice."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from components.files import WRITE_SCRIPT
from components.host import PREPARE_SCRIPT, script_command
from config.layout import directory_tree, render_manifest
from config.stack import parse_settings
from render.host_files import HostFile, encode, manifests, render_archive
from tests.conftest import minimal_config
from tests.edge_support import stack_settings
from tests.realtool.sshd import ssh_server

pytestmark = pytest.mark.realtool
ROOT = Path(__file__).resolve().parents[2]


def _tree(root: Path) -> dict[str, tuple[int, int, str]]:
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.stat()
        out[str(path.relative_to(root))] = (st.st_uid, st.st_gid, oct(st.st_mode & 0o7777))
    return out


def test_every_shell_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: run `make setup-system`"
    scripts = [*sorted(str(p) for p in ROOT.glob("scripts/**/*.sh")), str(ROOT / ".ci" / "run")]
    result = subprocess.run([shellcheck, "-x", *scripts], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_prepare_over_ssh_is_idempotent(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("this test starts sshd and chowns files: it must run as root (CI does)")
    settings = parse_settings(minimal_config(puid=1234, pgid=2345))
    manifest = render_manifest(directory_tree(settings))
    scratch = tmp_path / "host-root"
    scratch.mkdir()
    command = script_command(settings.host, PREPARE_SCRIPT.read_text(), "prepare-host") + f" --root {scratch}"

    with ssh_server(tmp_path / "sshd") as server:
        first = server.ssh(command, stdin=manifest)
        assert first.returncode == 0, first.stderr
        tree_after_first = _tree(scratch)
        second = server.ssh(command, stdin=manifest)
        assert second.returncode == 0, second.stderr

    assert _tree(scratch) == tree_after_first
    count = manifest.count("\n")
    assert f"{count} directories checked, 0 changed" in second.stdout
    assert ", 0 changed" not in first.stdout
    config_dir = tree_after_first["opt/mediaserver/sonarr"]
    assert config_dir == (1234, 2345, "0o750")
    assert tree_after_first["data/media/movies"] == (1234, 2345, "0o2775")
    assert tree_after_first["data/torrents/movies"] == (1234, 2345, "0o2775")
    assert tree_after_first["srv/backups"] == (0, 0, "0o700")
    # The runner (root without DAC_OVERRIDE) writes here; node-exporter (nobody) reads the metrics.
    assert tree_after_first["srv/backups/restic"] == (0, 0, "0o700")
    assert tree_after_first["srv/backups/metrics"] == (0, 0, "0o755")


def test_prepare_gives_each_mount_to_the_user_its_image_writes_as(tmp_path: Path) -> None:
    """Ownership follows the image (config.image_facts): CrowdSec and Jellystat run as root with every capability
    dropped, so their directories are root's; the site user keeps what it writes; nothing is a blanket 1000:1000."""
    if os.geteuid() != 0:
        pytest.fail("this test chowns files: it must run as root (CI does)")
    settings = stack_settings("prod")
    scratch = tmp_path / "root"
    run = ["bash", str(PREPARE_SCRIPT), "--root", str(scratch)]
    manifest = render_manifest(directory_tree(settings))
    done = subprocess.run(run, input=manifest, text=True, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    tree = _tree(scratch)
    assert tree["opt/mediaserver/jellystat/backup-data"] == (0, 0, "0o750")
    assert tree["opt/mediaserver/crowdsec/config"] == (0, 0, "0o750")
    assert tree["opt/mediaserver/crowdsec/data"] == (0, 0, "0o750")
    assert tree["opt/mediaserver/wireguard"] == (0, 0, "0o750")
    # Blackbox runs as the site user now (its image would be root): its config is the site user's.
    assert tree["opt/mediaserver/blackbox-exporter/config"] == (1000, 1000, "0o750")
    assert tree["opt/mediaserver/prometheus/config"] == (1000, 1000, "0o750")
    # Traefik writes the access log (site user); CrowdSec reads it through the site group.
    assert tree["var/cache/mediaserver/logs/traefik"] == (1000, 1000, "0o750")


def test_prepare_repairs_drifted_mode_and_owner(tmp_path: Path) -> None:
    settings = parse_settings(minimal_config())
    manifest = render_manifest(directory_tree(settings))
    scratch = tmp_path / "root"
    run = ["bash", str(PREPARE_SCRIPT), "--root", str(scratch)]
    subprocess.run(run, input=manifest, text=True, check=True, capture_output=True)
    drifted = scratch / "opt/mediaserver/radarr"
    drifted.chmod(0o777)
    again = subprocess.run(run, input=manifest, text=True, check=True, capture_output=True)
    assert "1 changed" in again.stdout
    assert oct(drifted.stat().st_mode & 0o7777) == "0o750"


def test_prepare_refuses_bad_records(tmp_path: Path) -> None:
    run = ["bash", str(PREPARE_SCRIPT), "--root", str(tmp_path)]
    bad = subprocess.run(run, input="0750\t1\t1\trelative/path\n", text=True, capture_output=True, check=False)
    assert bad.returncode == 65 and "must be absolute" in bad.stderr
    (tmp_path / "link").symlink_to("/etc")
    sym = subprocess.run(run, input="0750\t1\t1\t/link\n", text=True, capture_output=True, check=False)
    assert sym.returncode == 66 and "refusing symlink" in sym.stderr


def _write(root: Path, files: list[HostFile], mount: str) -> subprocess.CompletedProcess[str]:
    archive = render_archive([], [*files, *manifests(files, [mount])])
    return subprocess.run(
        ["bash", str(WRITE_SCRIPT), "--root", str(root)],
        input=encode(archive),
        text=True,
        capture_output=True,
        check=False,
    )


def test_write_files_sets_owner_and_mode_and_removes_only_what_it_wrote(tmp_path: Path) -> None:
    mount = "/opt/mediaserver/prometheus/config"
    (tmp_path / mount[1:]).mkdir(parents=True)
    own = tmp_path / mount[1:] / "notes.txt"  # a file the program never wrote
    own.write_text("mine")
    first = [
        HostFile(f"{mount}/prometheus.yml", "a: 1\n", 1000, 1000, 0o640),
        HostFile(f"{mount}/rules/old.yml", "b: 2\n", 1000, 1000, 0o640),
    ]
    done = _write(tmp_path, first, mount)
    assert done.returncode == 0, done.stderr
    written = tmp_path / mount[1:] / "prometheus.yml"
    stat = written.stat()
    assert (stat.st_uid, stat.st_gid, stat.st_mode & 0o777) == (1000, 1000, 0o640)
    assert (tmp_path / mount[1:] / "rules/old.yml").read_text() == "b: 2\n"

    second = [HostFile(f"{mount}/prometheus.yml", "a: 3\n", 1000, 1000, 0o640)]
    done = _write(tmp_path, second, mount)
    assert done.returncode == 0, done.stderr
    assert "1 stale removed" in done.stdout
    assert written.read_text() == "a: 3\n"
    assert not (tmp_path / mount[1:] / "rules/old.yml").exists()
    assert own.read_text() == "mine"


def test_write_files_refuses_members_outside_the_root(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    done = subprocess.run(
        ["bash", str(WRITE_SCRIPT), "--root", str(tmp_path)],
        input=encode(buffer.getvalue()),
        text=True,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 65 and "outside the root" in done.stderr
    assert not (tmp_path.parent / "escape.txt").exists()
