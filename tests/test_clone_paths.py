"""No input depends on where the repository was cloned: a preview from CI or a second laptop plans nothing
new (a path in a ForceNew input, such as an image's build context, would replace the image and its container)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.worktree import copy_working_tree


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_render_is_byte_identical_from_two_clone_paths(tmp_path: Path, stack: str) -> None:
    first = copy_working_tree(tmp_path / "a" / "media-server")
    second = copy_working_tree(tmp_path / "elsewhere" / "deeper" / "checkout")
    outputs = []
    for clone in (first, second):
        done = subprocess.run(
            [sys.executable, "-m", "offline.check", "--stack", stack, "--json"],
            cwd=clone,
            capture_output=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        assert str(clone).encode() not in done.stdout, f"{clone} appears in the {stack} render"
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
