"""`make check`: render a stack offline under mocks and report.

    python -m offline.check --stack dev
    python -m offline.check --stack-file path/to/Pulumi.site.yaml [--json]

Exit 0 when the stack is valid and the policy gate passes; 1 when the settings are invalid (each problem
printed) or a mandatory policy is violated (each violation printed); 2 on bad usage (no such stack file,
unknown option). `make check` itself exits 2 whenever this exits non-zero (make's own code for a failed
recipe): scripts that need the distinct codes run `python -m offline.check` directly.

A stack file belongs to the project beside it (a Pulumi.yaml in its directory, whose `main` names the
program), else to this repository's project, as with the Pulumi CLI.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from config.problems import SettingsError
from config.stack import StackConfig, load_stack_file, settings_of, stack_name
from config.stack_yaml import StackFileError, load_yaml_file
from offline.gate import Verdict, evaluate
from offline.imports import ruleset_imports
from offline.plan import plan_of
from offline.report import print_plan, print_policy, print_problems, print_resources, to_json
from offline.runner import ROOT, RunResult, run_program


def project_for(stack_file: Path) -> tuple[Path, Path]:
    """(project file, program) for a stack file: the Pulumi.yaml beside it if any, else this repository's."""
    beside = stack_file.resolve().parent / "Pulumi.yaml"
    project = beside if beside.is_file() else ROOT / "Pulumi.yaml"
    try:
        doc, _ = load_yaml_file(project)
    except StackFileError:
        doc = None  # load_stack_file reports it, with its place
    main = (doc.get("main") if isinstance(doc, dict) else None) or "."
    program = project.parent / str(main)
    return project, program / "__main__.py" if program.is_dir() else program


def _print_imports(imports: list[str], console: Console) -> None:
    if not imports:
        return
    console.print(
        Text(
            "Cloudflare entry-point rulesets: a zone has one per phase and creating one that exists fails. If the "
            "zone already has rules in a phase (made in the dashboard or by another tool), adopt them before "
            "`pulumi up` (needs curl, jq and CLOUDFLARE_API_TOKEN; skip a phase whose lookup finds nothing):"
        )
    )
    for command in imports:  # whole, whatever the width: they are copied into a shell
        console.print(Text(f"  {command}"), soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make check", description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--stack", help="stack name: reads Pulumi.<stack>.yaml at the project root")
    group.add_argument("--stack-file", type=Path, help="path to any Pulumi.<name>.yaml")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the summary")
    parser.add_argument(
        "--verbose", action="store_true", help="every advisory, every route, resources by component (VERBOSE=1)"
    )
    args = parser.parse_args(argv)

    stack_file = args.stack_file or ROOT / f"Pulumi.{args.stack}.yaml"
    if not stack_file.is_file():
        print(f"check: no stack file at {stack_file}", file=sys.stderr)
        return 2
    project, program = project_for(stack_file)
    stack: StackConfig | None = None
    try:
        stack = load_stack_file(stack_file, project)
    except SettingsError as exc:
        # Not valid YAML, not a mapping, an alias bomb, a key in another namespace: nothing ran.
        result = RunResult(stack=stack_name(stack_file), problems=list(exc.problems))
    if stack is not None:
        result = run_program(stack, program=program)
    verdict = evaluate(result, stack=stack) if result.ok and stack is not None else None
    passed = result.ok and verdict is not None and verdict.ok
    plan = None
    if result.ok and stack is not None:
        try:
            plan = plan_of(result, settings_of(stack))
        except SettingsError:  # the program validated these settings already; a run that failed has no plan
            plan = None
    imports = ruleset_imports(result)
    if args.json:
        extra = {
            "ok": passed,
            "policy": verdict.as_dict() if verdict else None,
            "plan": plan,
            "rulesetImports": imports,
        }
        print(to_json(result, extra))
        return 0 if passed else 1
    # The terminal's width (COLUMNS when set, as rich reads it; 80 when piped without it).
    console = Console(soft_wrap=False, highlight=False)
    print_check(result, plan, verdict, console, verbose=args.verbose, imports=imports)
    return 0 if passed else 1


def print_check(
    result: RunResult,
    plan: dict[str, Any] | None,
    verdict: Verdict | None,
    console: Console,
    verbose: bool = False,
    imports: list[str] | None = None,
) -> None:
    """The readable report: the plan's summary, then resources, then the policy verdict."""
    if plan is None:
        print_problems(result, console)
        return
    print_plan(plan, result, console)
    # Sections of their own (a second `up`'s changes, from the engine model) go here, before the resources.
    print_resources(plan, result, console, verbose=verbose)
    _print_imports(imports or [], console)
    if verdict is not None:
        print_policy(verdict, console, verbose=verbose)


if __name__ == "__main__":
    sys.exit(main())
