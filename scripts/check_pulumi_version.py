"""Refuse a Pulumi CLI older than the program needs (`make preview` / `make up` run this first).

The engine, not the SDK, implements the `replacement_trigger` resource option: an older CLI accepts the program
and silently ignores the option, so a read-only container would keep stale configuration after the files written
on the host for it change. pulumi/pulumi CHANGELOG.md: 3.208.0 "[engine] Add a `replacement_trigger` resource
option"; 3.226.0 "[engine] Fix ReplacementTrigger firing due to dependency changes" (#22119), without which every
`up` would replace containers whose dependencies changed.

    python scripts/check_pulumi_version.py        # exit 0, or 1 with the reason
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

MINIMUM = (3, 226, 0)
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]*)?")


def parse(text: str) -> tuple[int, int, int]:
    """`pulumi version` prints e.g. "v3.272.0" (or "v3.272.0-alpha.1+dirty")."""
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"`pulumi version` printed {text.strip()!r}, not a version such as v3.226.0")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def check(pulumi: str | None = None) -> str | None:
    """None when the CLI is new enough, else why not."""
    binary = pulumi or shutil.which("pulumi")
    if binary is None:
        return "no `pulumi` on PATH: install the Pulumi CLI (https://www.pulumi.com/docs/install/)"
    done = subprocess.run([binary, "version"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return f"`pulumi version` failed (exit {done.returncode}): {done.stderr.strip()}"
    try:
        found = parse(done.stdout)
    except ValueError as exc:
        return str(exc)
    if found < MINIMUM:
        need = ".".join(map(str, MINIMUM))
        return (
            f"Pulumi CLI {'.'.join(map(str, found))} is older than {need}: it ignores the replacement_trigger "
            f"option this program relies on; upgrade the CLI to {need} or later"
        )
    return None


def main() -> int:
    problem = check()
    if problem:
        print(f"pulumi version check: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
