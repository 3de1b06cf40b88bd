"""`make check`: render a stack offline under mocks and report.

    python -m offline.check --stack dev
    python -m offline.check --stack-file path/to/Pulumi.site.yaml [--json]

Exit 0 when the stack is valid and the policy gate passes; 1 when the settings are invalid (each problem
printed) or a mandatory policy is violated (each violation printed); 2 on bad usage.

A stack file belongs to the project beside it (a Pulumi.yaml in its directory, whose `main` names the
program), else to this repository's project, as with the Pulumi CLI.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml
from rich.console import Console

from config.stack import load_stack_file
from offline.gate import evaluate
from offline.imports import ruleset_imports
from offline.report import print_policy, print_summary, to_json
from offline.runner import ROOT, run_program


def _urls(exports: dict[str, object]) -> dict[str, str]:
    urls = exports.get("urls")
    return {k: str(v) for k, v in urls.items()} if isinstance(urls, dict) else {}


def project_for(stack_file: Path) -> tuple[Path, Path]:
    """(project file, program) for a stack file: the Pulumi.yaml beside it if any, else this repository's."""
    beside = stack_file.resolve().parent / "Pulumi.yaml"
    project = beside if beside.is_file() else ROOT / "Pulumi.yaml"
    main = (yaml.safe_load(project.read_text()) or {}).get("main") or "."
    program = project.parent / str(main)
    return project, program / "__main__.py" if program.is_dir() else program


def _print_imports(imports: list[str]) -> None:
    if not imports:
        return
    print(
        "\nCloudflare entry-point rulesets: a zone has one per phase and creating one that exists fails. If the zone "
        "already has rules in a phase (made in the dashboard or by another tool), adopt them before `pulumi up` "
        "(needs curl, jq and CLOUDFLARE_API_TOKEN; skip a phase whose lookup finds nothing):"
    )
    for command in imports:
        print(f"  {command}")


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
    project, program = project_for(stack_file)
    stack = load_stack_file(stack_file, project)
    result = run_program(stack, program=program)
    verdict = evaluate(result, stack=stack) if result.ok else None
    passed = result.ok and verdict is not None and verdict.ok
    imports = ruleset_imports(result)
    if args.json:
        extra = {"ok": passed, "policy": verdict.as_dict() if verdict else None, "rulesetImports": imports}
        print(to_json(result, extra))
    else:
        console = Console(width=160, no_color=True, soft_wrap=False)
        print_summary(result, console, _urls(result.exports))
        _print_imports(imports)
        if verdict is not None:
            print_policy(verdict, console)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
