"""`make diff`: what a change does to a stack, offline, as a reviewer reads it.

    python -m offline.diff --base REF [--stack NAME | --stack-file PATH]

Renders the stack twice under mocks, as `make check` does: from the base (the tree of REF, taken with
`git archive` into a temporary directory, with its own program and stack file) and from the working
tree (uncommitted changes included). Prints each added, removed and changed resource with its changed
fields, then a unified diff of every generated file that changed, by container. Secrets are never
printed: a changed secret shows as `[secret] changed`.

Exit 0 when both render (whatever the diff; a stack file only one side has shows all its resources
added or removed), 1 when either has invalid settings, 2 on bad usage (REF unknown, the stack file in
neither tree).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline.snapshot import SECRET

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = Path(__file__).resolve().parent / "snapshot.py"
SHORT = 100
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""Longest one-line value printed whole; longer ones are summarised."""


class DiffError(Exception):
    """Bad usage: the message says what to fix."""


# ------------------------------------------------------------------------------------------ rendering
def export_tree(ref: str, repo: Path, into: Path) -> str:
    """The tree of `ref` in `repo`, extracted under `into`; returns the commit it names."""
    found = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        raise DiffError(f"diff: BASE={ref!r} is not a commit of {repo}")
    commit = found.stdout.strip()
    with tempfile.TemporaryFile() as archive:
        subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", commit], stdout=archive, check=True)
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(into, filter="data")
    return commit


def render(tree: Path, stack: str | None, stack_file: Path | None) -> dict[str, Any]:
    """The snapshot of one checkout, rendered by its own code in a process of its own."""
    target = ["--stack-file", str(stack_file)] if stack_file is not None else ["--stack", str(stack)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, str(SNAPSHOT), "--root", str(tree), *target],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise DiffError(f"diff: rendering {tree} failed:\n{done.stderr.strip()}")
    loaded: dict[str, Any] = json.loads(done.stdout)
    return loaded


# ------------------------------------------------------------------------------------------ comparing
def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {SECRET}


def _list_key(items: list[Any]) -> str | None:
    """The field that names each element of a list of records (files, labels, networks), if there is one."""
    if not items or not all(isinstance(i, dict) and not _is_secret(i) for i in items):
        return None
    for key in ("file", "label", "name", "containerPath", "hostPath"):
        names = [i.get(key) for i in items]
        if all(isinstance(n, str) for n in names) and len(set(names)) == len(names):
            return key
    return None


def flatten(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(field path, leaf) pairs; records in lists are addressed by name, `KEY=value` strings by KEY."""
    if _is_secret(value) or not isinstance(value, dict | list):
        yield path, value
    elif isinstance(value, dict):
        if not value:
            yield path, {}
        for key in sorted(value):
            here = (f"{path}.{key}" if path else key) if _NAME.fullmatch(key) else f"{path}[{key}]"
            yield from flatten(value[key], here)
    else:
        key = _list_key(value)
        if key is not None:
            for item in value:
                yield from flatten({k: v for k, v in item.items() if k != key}, f"{path}[{item[key]}]")
        elif value and all(isinstance(i, str) and "=" in i for i in value):
            for item in value:
                name, _, rest = item.partition("=")
                yield f"{path}[{name}]", rest
        elif not value:
            yield path, []
        else:
            for index, item in enumerate(value):
                yield from flatten(item, f"{path}[{index}]")


def _multiline(text: str) -> bool:
    """Text of several lines (a file), not one line with a final newline (an encoded archive)."""
    return "\n" in text.rstrip("\n")


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()
"""A field one side does not have."""


def _show(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    if _is_secret(value):
        return "[secret]"
    if isinstance(value, str):
        if _multiline(value):
            return f"<{value.count(chr(10))} lines>"
        return json.dumps(value) if len(value) <= SHORT else f"<{len(value)} characters>"
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= SHORT else f"<{len(text)} characters>"


def describe(old: Any, new: Any) -> str:
    """One changed field, as a reviewer reads it, never showing a secret."""
    if _is_secret(old) or _is_secret(new):
        return "[secret] changed" if _is_secret(old) and _is_secret(new) else f"{_show(old)} → {_show(new)}"
    if isinstance(old, str) and isinstance(new, str) and (_multiline(old) or _multiline(new)):
        lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0))
        added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
        removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
        return f"text changed: +{added} -{removed} lines"
    if isinstance(old, str) and isinstance(new, str) and max(len(old), len(new)) > SHORT:
        return f"changed ({len(old)} → {len(new)} characters)"
    return f"{_show(old)} → {_show(new)}"


def _fields(entry: dict[str, Any], triggers: bool) -> dict[str, Any]:
    fields = dict(flatten(entry.get("inputs", {})))
    if triggers and "replacementTrigger" in entry:
        # Not an input, but a change replaces the resource, as `pulumi preview --diff` shows.
        fields.update(flatten(entry["replacementTrigger"], "(replacementTrigger)"))
    return fields


@dataclass
class Change:
    kind: str  # "+", "-", "~"
    type: str
    name: str
    fields: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class FileDiff:
    container: str
    path: str
    lines: list[str]


@dataclass
class Diff:
    changes: list[Change]
    files: list[FileDiff]


def _files(entry: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in (entry or {}).get("files", []):
        if _is_secret(item):
            out["(every file, as one secret)"] = item
        else:
            out[str(item.get("file"))] = item.get("content")
    return out


def _file_diff(container: str, path: str, old: Any, new: Any) -> FileDiff | None:
    if old == new:
        return None
    if _is_secret(old) or _is_secret(new):
        lines = [f"--- {container}:{path}", f"+++ {container}:{path}", "[secret file] changed"]
        if old is None or new is None:
            lines[-1] = "[secret file] added" if old is None else "[secret file] removed"
        return FileDiff(container, path, lines)
    before = [] if old is None else str(old).splitlines()
    after = [] if new is None else str(new).splitlines()
    lines = list(
        difflib.unified_diff(
            before,
            after,
            fromfile=f"a/{container}:{path}" if old is not None else "/dev/null",
            tofile=f"b/{container}:{path}" if new is not None else "/dev/null",
            lineterm="",
        )
    )
    return FileDiff(container, path, lines)


def compare(base: dict[str, Any], work: dict[str, Any]) -> Diff:
    old = {r["urn"]: r for r in base["resources"]}
    new = {r["urn"]: r for r in work["resources"]}
    triggers = bool(base.get("recordsReplacementTrigger") and work.get("recordsReplacementTrigger"))
    changes: list[Change] = []
    files: list[FileDiff] = []
    for urn in sorted(old.keys() | new.keys(), key=lambda u: (u.rsplit("::", 1)[-1], u)):
        before, after = old.get(urn), new.get(urn)
        entry = after or before
        assert entry is not None
        if before is None or after is None:
            changes.append(Change("+" if before is None else "-", entry["type"], entry["name"]))
        else:
            was, now = _fields(before, triggers), _fields(after, triggers)
            changed = [
                (p, describe(was.get(p), now.get(p)))
                for p in sorted(was.keys() | now.keys())
                if was.get(p) != now.get(p)
            ]
            if changed:
                changes.append(Change("~", entry["type"], entry["name"], changed))
        was_files, now_files = _files(before), _files(after)
        for path in sorted(was_files.keys() | now_files.keys()):
            found = _file_diff(entry["name"], path, was_files.get(path), now_files.get(path))
            if found is not None:
                files.append(found)
    return Diff(changes, files)


# ------------------------------------------------------------------------------------------ printing
def format_diff(diff: Diff, title: str) -> str:
    counts = {kind: sum(1 for c in diff.changes if c.kind == kind) for kind in "~+-"}
    lines = [
        f"# {title}",
        f"# {counts['~']} changed, {counts['+']} added, {counts['-']} removed;"
        f" {len(diff.files)} generated files changed",
    ]
    if not diff.changes and not diff.files:
        lines.append("# no change")
    for change in diff.changes:
        lines.append(f"{change.kind} {change.type}  {change.name}")
        lines.extend(f"    {path}: {what}" for path, what in change.fields)
    for file_diff in diff.files:
        lines.append("")
        lines.extend(file_diff.lines)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make diff", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--base", required=True, help="git ref to compare the working tree with (e.g. HEAD~1, origin/main)"
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--stack", default="dev", help="stack name: Pulumi.<stack>.yaml of each tree (default dev)")
    group.add_argument("--stack-file", type=Path, help="one stack file, rendered by both trees")
    parser.add_argument("--repo", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repo = args.repo.resolve()
    stack_file = args.stack_file.resolve() if args.stack_file else None
    if stack_file is not None and not stack_file.is_file():
        print(f"diff: no stack file at {stack_file}", file=sys.stderr)
        return 2
    stack = None if stack_file else args.stack
    try:
        with tempfile.TemporaryDirectory(prefix="media-server-base-") as scratch:
            commit = export_tree(args.base, repo, Path(scratch))
            base = render(Path(scratch), stack, stack_file)
            work = render(repo, stack, stack_file)
    except DiffError as exc:
        print(exc, file=sys.stderr)
        return 2
    target = f"stack file {stack_file}" if stack_file else f"stack {stack}"
    if base.get("missing") and work.get("missing"):
        print(f"diff: neither the base nor the working tree has {Path(work['stackFile']).name}", file=sys.stderr)
        return 2
    for side, doc in (("base", base), ("working tree", work)):
        if doc.get("missing"):
            # A stack the change adds (or removes): every resource is added (or removed).
            target += f" (not in the {side})"
    problems = [(side, p) for side, doc in (("base", base), ("working tree", work)) for p in doc["problems"]]
    if problems:
        for side, problem in problems:
            print(f"{side}: {problem}")
        return 1
    title = f"{target}: {args.base} ({commit[:12]}) → working tree"
    sys.stdout.write(format_diff(compare(base, work), title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
