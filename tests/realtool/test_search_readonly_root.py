"""The embedded index on a read-only root, as the search container runs it.

The container's root filesystem is read-only and has no tmpfs; only /index is writable. SQLite writes its
temporary files (temporary b-trees, statement journals) to /var/tmp, /usr/tmp, /tmp or "." unless told to
keep them in memory, so a rebuild large enough to spill would fail there with "unable to open database
file". This test runs a rebuild of that size in a mount namespace where those directories are read-only
and only the index directory (a tmpfs) can be written.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.realtool

REPO = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[2])
    from mediasearch.engine.sqlite import SqliteEngine
    from mediasearch.model import Document, Kind

    engine = SqliteEngine(sys.argv[1])
    docs = [
        Document(source="jellyfin", id=str(i), kind=Kind.MOVIE, title=f"Title {i} word{i % 977} other{i % 31}",
                 link=f"https://jellyfin.example.org/{i}", creators=(f"Creator {i % 500}",),
                 description="lorem ipsum " * 20)
        for i in range(60000)
    ]
    assert engine.replace_source("jellyfin", docs) == 60000
    assert engine.replace_source("jellyfin", docs) == 60000  # the old generation is deleted: a big statement
    assert len(engine.search("title", limit=50)) == 50
    print("rebuilt twice and searched")
    """
)


def test_a_rebuild_needs_no_writable_temporary_directory(tmp_path: Path) -> None:
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed to build the read-only mount namespace")
    base = Path("/var/tmp") / f"search-ro-{tmp_path.name}"  # outside /tmp, which is made read-only
    index = base / "index"
    index.mkdir(parents=True)
    (base / "probe.py").write_text(PROBE, encoding="utf-8")
    script = (
        "set -e; "
        "for d in /tmp /var/tmp /usr/tmp; do [ -d $d ] || continue; "
        "mount --bind $d $d; mount -o remount,bind,ro $d; done; "
        f"mount -t tmpfs -o size=256m tmpfs {index}; "
        f"cd /proc; exec {sys.executable} {base / 'probe.py'} {index / 'search.db'} {REPO / 'images' / 'search'}"
    )
    try:
        result = subprocess.run(
            ["unshare", "--mount", "sh", "-c", script],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},  # no TMPDIR/SQLITE_TMPDIR pointing elsewhere
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "rebuilt twice and searched" in result.stdout
