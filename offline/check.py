"""`make check`: render a stack offline under mocks and report.

    python -m offline.check --stack dev
    python -m offline.check --stack-file path/to/Pulumi.site.yaml [--json]

Exit 0 when the stack is valid, 1 when it is not (each problem printed), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from config.stack import load_stack_file
from offline.report import print_summary, to_json
from offline.runner import ROOT, run_program


def _urls(exports: dict[str, object]) -> dict[str, str]:
    urls = exports.get("urls")
    return {k: str(v) for k, v in urls.items()} if isinstance(urls, dict) else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make check", description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--stack", help="stack name: reads Pulumi.<stack>.yaml at the project root")
    group.add_argument("--stack-file", type=Path, help="path to any Pulumi.<name>.yaml")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the summary")
    args = parser.parse_args(argv)

    stack_file = args.stack_file or ROOT / f"Pulumi.{args.stack}.yaml"
    if not stack_file.is_file():
        print(f"check: no stack file at {stack_file}", file=sys.stderr)
        return 2
    result = run_program(load_stack_file(stack_file, ROOT / "Pulumi.yaml"))
    if args.json:
        print(to_json(result))
    else:
        print_summary(result, Console(width=160, no_color=True, soft_wrap=False), _urls(result.exports))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
