"""The PostgreSQL init for real: Debian's PostgreSQL on loopback, the repo's scripts, twice.

The databases, roles and passwords are the ones the program hands the shared postgres container
(its MS_DATABASES and MS_PASSWORD_* environment in the prod stack), not a list kept here.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from offline.runner import RunResult
from tests.edge_support import container, env

pytestmark = pytest.mark.realtool
ROOT = Path(__file__).resolve().parents[2]
INIT = ROOT / "scripts" / "postgres" / "init-databases.sh"
ENTRYPOINT = ROOT / "scripts" / "postgres" / "entrypoint.sh"
APPS = ("authelia", "jellystat")
"""Roles for the script-behaviour tests (rotation, bad input) that need passwords of their own."""


@dataclass(frozen=True)
class Generated:
    """The init's part of the generated postgres container environment."""

    env: dict[str, str]

    @property
    def roles(self) -> dict[str, str]:
        """database -> role, from MS_DATABASES."""
        return dict(entry.split(":", 1) for entry in self.env["MS_DATABASES"].split())

    def password(self, role: str) -> str:
        return self.env["MS_PASSWORD_" + role.upper().replace("-", "_")]


@pytest.fixture(scope="module")
def generated(prod: RunResult) -> Generated:
    postgres = env(container(prod, "postgres"))
    found = Generated({k: v for k, v in postgres.items() if k == "MS_DATABASES" or k.startswith("MS_PASSWORD_")})
    assert len(found.roles) >= 2, found.env.get("MS_DATABASES")
    return found


def _bin_dir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        pytest.fail("PostgreSQL server binaries are missing: run `make setup-system` (Debian package postgresql)")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """A throwaway cluster in a temp dir, owned by an unprivileged user (PostgreSQL refuses root)."""

    base: Path
    bin: Path
    port: int
    password: str
    uid: int
    gid: int

    @property
    def data(self) -> Path:
        return self.base / "data"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "LC_ALL": "C.UTF-8",
            **extra,
        }

    def as_owner(self, args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            args, user=self.uid, group=self.gid, capture_output=True, text=True, check=False, **kwargs
        )

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base} -c fsync=off"
        done = self.as_owner(
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.base / "log"), "-w", "-o", options, "start"]
        )
        assert done.returncode == 0, done.stdout + done.stderr + (self.base / "log").read_text()

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def init_databases(self, passwords: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return self.init_with(init_env(passwords))

    def init_with(self, init: dict[str, str]) -> subprocess.CompletedProcess[str]:
        env = self.env(PGUSER="postgres", PGPASSWORD=self.password, **init)
        return subprocess.run(["bash", str(INIT)], env=env, capture_output=True, text=True, check=False)

    def psql(self, user: str, password: str, database: str, sql: str) -> subprocess.CompletedProcess[str]:
        env = self.env(PGUSER=user, PGPASSWORD=password, PGDATABASE=database)
        return subprocess.run(
            ["psql", "-X", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )


def init_env(passwords: dict[str, str]) -> dict[str, str]:
    """The init's input for apps whose database and role share the app's name."""
    return {
        "MS_DATABASES": " ".join(f"{app}:{app}" for app in passwords),
        **{f"MS_PASSWORD_{app.upper()}": pw for app, pw in passwords.items()},
    }


def _owner() -> tuple[int, int]:
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("no postgres user: install the Debian package postgresql (`make setup-system`)")
    return entry.pw_uid, entry.pw_gid


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    uid, gid = _owner()
    base = Path(tempfile.mkdtemp(prefix="ms-pg-"))
    os.chown(base, uid, gid)
    found = Cluster(base, _bin_dir(), _free_port(), secrets.token_hex(16), uid, gid)
    pwfile = base / "pw"
    pwfile.write_text(found.password + "\n")
    os.chown(pwfile, uid, gid)
    done = found.as_owner(
        [str(found.bin / "initdb"), "-D", str(found.data), "-U", "postgres", "--auth-local=trust",
         "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync"],
        env={"LC_ALL": "C.UTF-8", "PATH": os.environ["PATH"]},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    try:
        yield found
    finally:
        found.stop()
        shutil.rmtree(base, ignore_errors=True)


def _catalog(cluster: Cluster) -> str:
    sql = (
        "SELECT string_agg(datname || ':' || oid || ':' || pg_get_userbyid(datdba) || ':' || "
        "coalesce(datacl::text, ''), ' ' ORDER BY datname) FROM pg_database; "
        "SELECT string_agg(rolname || ':' || oid || ':' || rolsuper, ' ' ORDER BY rolname) FROM pg_roles "
        "WHERE rolname NOT LIKE 'pg\\_%'"
    )
    done = cluster.psql("postgres", cluster.password, "postgres", sql)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_init_twice_then_each_app_reaches_only_its_own_database(cluster: Cluster, generated: Generated) -> None:
    cluster.start()
    first = cluster.init_with(generated.env)
    assert first.returncode == 0, first.stderr
    after_first = _catalog(cluster)
    second = cluster.init_with(generated.env)
    assert second.returncode == 0, second.stderr
    assert _catalog(cluster) == after_first
    ready = "".join(f"init-databases: database {db} ready (owner {role})\n" for db, role in generated.roles.items())
    assert second.stdout == first.stdout == ready

    for database, role in generated.roles.items():
        password = generated.password(role)
        own = cluster.psql(role, password, database, "SELECT current_user || '@' || current_database()")
        assert own.returncode == 0, own.stderr
        assert own.stdout.strip() == f"{role}@{database}"
        made = cluster.psql(role, password, database, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
        assert made.returncode == 0, made.stderr
        for other in generated.roles:
            if other != database:
                refused = cluster.psql(role, password, other, "SELECT 1")
                assert refused.returncode != 0
                assert f'permission denied for database "{other}"' in refused.stderr
        wrong = cluster.psql(role, "not-the-password", database, "SELECT 1")
        assert "password authentication failed" in wrong.stderr
        superuser = cluster.psql(role, password, database, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert superuser.stdout.strip() == "f"


def test_a_rerun_with_a_new_password_rotates_it(cluster: Cluster) -> None:
    cluster.start()
    old = {app: secrets.token_hex(20) for app in APPS}
    assert cluster.init_databases(old).returncode == 0
    new = {**old, "authelia": secrets.token_hex(20)}
    assert cluster.init_databases(new).returncode == 0
    assert cluster.psql("authelia", new["authelia"], "authelia", "SELECT 1").returncode == 0
    assert cluster.psql("authelia", old["authelia"], "authelia", "SELECT 1").returncode != 0


def test_bad_input_is_refused_before_touching_the_server(cluster: Cluster) -> None:
    cluster.start()
    missing = cluster.init_databases({"authelia": ""})
    assert missing.returncode == 65 and "MS_PASSWORD_AUTHELIA is not set" in missing.stderr
    env = cluster.env(PGUSER="postgres", PGPASSWORD=cluster.password, MS_DATABASES="Robert'); DROP TABLE x;--:x")
    injected = subprocess.run(["bash", str(INIT)], env=env, capture_output=True, text=True, check=False)
    assert injected.returncode == 65 and "bad entry" in injected.stderr


def _stub_entrypoint(cluster: Cluster) -> Path:
    """Stands in for the image's docker-entrypoint.sh: runs the server as the image would after init."""
    stub_dir = cluster.base / "stub"
    stub_dir.mkdir()
    stub = stub_dir / "docker-entrypoint.sh"
    stub.write_text(
        "#!/bin/sh\n"
        '[ "$1" = postgres ] || exit 64\n'
        "shift\n"
        f'exec postgres -D "$PGDATA" -c listen_addresses=127.0.0.1 -p "$PGPORT" -k {cluster.base} "$@"\n'
    )
    stub.chmod(0o755)
    os.chown(stub_dir, cluster.uid, cluster.gid)
    return stub_dir


def _reachable_scripts(cluster: Cluster) -> Path:
    """The scripts the server user runs, copied where it can read them: a clone may sit in a directory other
    users cannot traverse (a 0700 home, as on Debian 12), which the container never has to."""
    scripts = cluster.base / "scripts"
    if not scripts.exists():
        scripts.mkdir()
        for script in (ENTRYPOINT, INIT):
            shutil.copyfile(script, scripts / script.name)
            (scripts / script.name).chmod(0o644)
        os.chown(scripts, cluster.uid, cluster.gid)
    return scripts


def _run_entrypoint(cluster: Cluster, init: dict[str, str]) -> subprocess.Popen[str]:
    stub_dir = _stub_entrypoint(cluster) if not (cluster.base / "stub").exists() else cluster.base / "stub"
    env = cluster.env(
        PATH=f"{stub_dir}:{cluster.bin}:{os.environ['PATH']}",
        PGDATA=str(cluster.data),
        POSTGRES_PASSWORD=cluster.password,
        MS_INIT_WAIT="30",
        **init,
    )
    return subprocess.Popen(
        ["bash", str(_reachable_scripts(cluster) / ENTRYPOINT.name), "postgres"],
        env=env,
        user=cluster.uid,
        group=cluster.gid,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> str:
    """Its output once it has exited (killed if it has not within 30 s)."""
    try:
        return proc.communicate(timeout=30)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_entrypoint_inits_then_stops_cleanly(
    cluster: Cluster, stop_signal: signal.Signals, generated: Generated
) -> None:
    proc = _run_entrypoint(cluster, generated.env)
    deadline = time.monotonic() + 30
    database, role = sorted(generated.roles.items())[-1]
    while cluster.psql(role, generated.password(role), database, "SELECT 1").returncode != 0:
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail("the entrypoint never created the app databases:\n" + _finish(proc))
        time.sleep(0.2)
    proc.send_signal(stop_signal)
    output = _finish(proc)
    assert proc.returncode == 0, output
    assert "init-databases: database authelia ready" in output
    assert not (cluster.data / "postmaster.pid").exists()
    mode = "fast" if stop_signal is signal.SIGINT else "smart"
    assert f"received {mode} shutdown request" in output


def test_entrypoint_stops_the_server_when_init_fails(cluster: Cluster) -> None:
    proc = _run_entrypoint(cluster, init_env({"authelia": ""}))
    output = _finish(proc)
    assert proc.returncode == 1, output
    assert "creating the app databases failed; stopping the server" in output
    assert not (cluster.data / "postmaster.pid").exists()
