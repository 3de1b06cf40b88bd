"""make mutate: mutation testing (cosmic-ray) of the modules that guard users, with their fast tests.

    python -m tests.mutation.mutate [--module PATH ...] [--jobs 2] [--sample N] [--workdir DIR [--resume]]

For each module in tests/mutation/modules.toml, cosmic-ray lists its mutants (`cosmic-ray init`); this
driver marks as skipped the mutants inside type annotations, the operators the plan excludes, and all but
a seeded sample when a module has more than `sample`; then `cosmic-ray exec` applies each remaining mutant
to a private copy of the repository and runs the module's fast tests (`pytest -x`, see select.py). A
mutant survives when every test passes. Survivors listed in equivalent.yaml (matched on the module and
the mutated source text, not on line numbers) count as equivalent. The report gives, per module: mutants,
killed, equivalent, survived and the kill rate killed / (mutants - equivalent), then each survivor with
file:line and its diff. Exit status 1 when a module is under the plan's threshold.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from queue import Queue
from typing import Any

import yaml

from tests.worktree import copy_working_tree

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PLAN = HERE / "modules.toml"
EQUIVALENT = HERE / "equivalent.yaml"
COSMIC_RAY = Path(sys.executable).parent / "cosmic-ray"


# ------------------------------------------------------------------ the plan
@dataclass(frozen=True)
class Plan:
    modules: dict[str, list[str]]
    seed: int
    sample: int
    timeout: float
    max_test_seconds: float
    threshold: float
    exclude_operators: list[str]


def load_plan(path: Path = PLAN) -> Plan:
    raw = tomllib.loads(path.read_text())
    return Plan(
        modules={name: list(entry["tests"]) for name, entry in raw["modules"].items()},
        seed=int(raw["seed"]),
        sample=int(raw["sample"]),
        timeout=float(raw["timeout"]),
        max_test_seconds=float(raw["max_test_seconds"]),
        threshold=float(raw["threshold"]),
        exclude_operators=list(raw["exclude_operators"]),
    )


# ------------------------------------------------------------------ which mutants run
Position = tuple[int, int]


def annotation_spans(source: str) -> list[tuple[Position, Position]]:
    """(line, column) spans of every annotation: mutating them only breaks what type checkers read
    (or, for pydantic fields, fails at import), which says nothing about the tests."""
    spans: list[tuple[Position, Position]] = []
    for node in ast.walk(ast.parse(source)):
        found: list[ast.expr | None] = []
        if isinstance(node, ast.arg):
            found.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
        for annotation in found:
            if annotation is not None and annotation.end_lineno is not None and annotation.end_col_offset is not None:
                spans.append(
                    (
                        (annotation.lineno, annotation.col_offset),
                        (annotation.end_lineno, annotation.end_col_offset),
                    )
                )
    return spans


def inside(position: Position, spans: Iterable[tuple[Position, Position]]) -> bool:
    return any(start <= position < end for start, end in spans)


def sample_keys(keys: Iterable[tuple[str, int]], size: int, seed: int) -> set[tuple[str, int]]:
    """A reproducible sample of (operator, occurrence) keys: the same code and seed give the same mutants."""
    ordered = sorted(set(keys))
    if len(ordered) <= size:
        return set(ordered)
    return set(random.Random(seed).sample(ordered, size))


# ------------------------------------------------------------------ equivalent mutants
@dataclass(frozen=True)
class Equivalent:
    module: str
    original: str
    mutant: str
    reason: str


def load_equivalents(path: Path = EQUIVALENT) -> list[Equivalent]:
    if not path.exists():
        return []
    entries = yaml.safe_load(path.read_text()) or []
    found = []
    for entry in entries:
        reason = str(entry.get("reason", "")).strip()
        if not reason or "\n" in reason:
            raise ValueError(f"{path}: every equivalent mutant needs a one-line reason: {entry}")
        found.append(Equivalent(entry["module"], entry["original"], entry["mutant"], reason))
    return found


def diff_sides(diff: str) -> tuple[str, str]:
    """The removed and added source lines of a unified diff, each side stripped and joined by ' / '."""
    removed, added = [], []
    for line in diff.splitlines():
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("-"):
            removed.append(line[1:].strip())
        elif line.startswith("+"):
            added.append(line[1:].strip())
    return " / ".join(removed), " / ".join(added)


# ------------------------------------------------------------------ results
@dataclass
class Mutant:
    module: str
    line: int
    operator: str
    outcome: str  # killed | survived | equivalent
    original: str = ""
    mutant: str = ""
    reason: str = ""


@dataclass
class ModuleResult:
    module: str
    total: int = 0
    skipped: int = 0
    eligible: int = 0
    tests: int = 0
    seconds: float = 0.0
    mutants: list[Mutant] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for m in self.mutants if m.outcome == outcome)

    @property
    def rate(self) -> float:
        scored = len(self.mutants) - self.count("equivalent")
        return self.count("killed") / scored if scored else 1.0


def classify(module: str, line: int, operator: str, killed: bool, diff: str, equivalents: list[Equivalent]) -> Mutant:
    original, mutant = diff_sides(diff)
    if killed:
        return Mutant(module, line, operator, "killed", original, mutant)
    for entry in equivalents:
        if (entry.module, entry.original, entry.mutant) == (module, original, mutant):
            return Mutant(module, line, operator, "equivalent", original, mutant, entry.reason)
    return Mutant(module, line, operator, "survived", original, mutant)


def report(
    results: list[ModuleResult], threshold: float, elapsed: float, sample: int | None = None, seed: int | None = None
) -> tuple[str, bool]:
    """The table (`listed`: a module's mutants the plan keeps, before sampling; `mutants`: those tested), then
    every survivor."""
    lines = [
        f"{'module':34} {'listed':>6} {'mutants':>7} {'killed':>6} {'equiv':>5} {'survived':>8} {'rate':>6} "
        f"{'tests':>5} {'time':>6}"
    ]
    ok = True
    for r in sorted(results, key=lambda r: r.module):
        below = r.rate < threshold
        ok = ok and not below
        lines.append(
            f"{r.module:34} {r.eligible:>6} {len(r.mutants):>7} {r.count('killed'):>6} {r.count('equivalent'):>5} "
            f"{r.count('survived'):>8} {r.rate:>6.1%} {r.tests:>5} {r.seconds:>5.0f}s{'  < threshold' if below else ''}"
        )
    lines.append(f"total time {elapsed:.0f}s; threshold {threshold:.0%} per module")
    if sample is not None:
        lines.append(
            f"at most {sample} mutants tested per module (a sample with seed {seed} where more are listed): "
            "each kill rate is over the mutants tested"
        )
    survivors = [m for r in results for m in r.mutants if m.outcome == "survived"]
    if survivors:
        lines.append("\nsurviving mutants (kill with a test, or list in tests/mutation/equivalent.yaml with a reason):")
        for m in sorted(survivors, key=lambda m: (m.module, m.line)):
            lines.append(f"  {m.module}:{m.line} {m.operator}\n      - {m.original}\n      + {m.mutant}")
    return "\n".join(lines), ok


# ------------------------------------------------------------------ running
def _pytest(workdir: Path, tests: list[str], env: dict[str, str], timeout: float | None = None) -> int:
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-p", "tests.mutation.select"]
    done = subprocess.run(
        [*command, *tests],
        cwd=workdir,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-2000:])
    return done.returncode


def fast_tests(record: dict[str, dict[str, Any]], files: list[str], max_seconds: float) -> list[str]:
    """Node ids of the given files' tests that run no program and took at most max_seconds."""
    return sorted(
        node
        for node, info in record.items()
        if node.split("::", 1)[0] in files and not info["program"] and info["seconds"] <= max_seconds
    )


def _baseline(workdir: Path, files: list[str]) -> dict[str, dict[str, Any]]:
    """Every selected test, unmutated, in the copy: they must pass; their times choose the fast ones."""
    out = workdir / ".baseline.json"
    if _pytest(workdir, files, {"MUTATE_RECORD": str(out)}) != 0:
        raise SystemExit(f"the tests fail without any mutant ({' '.join(files)}): fix them first")
    record: dict[str, dict[str, Any]] = json.loads(out.read_text())
    return record


def _source_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _requeue_survivors(db: Path) -> None:
    """Forget the survivors' results so `cosmic-ray exec` tests them again (the tests may have changed)."""
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'")


def _session(
    workdir: Path, state: Path, module: str, plan: Plan, sample: int, resume: bool
) -> tuple[Path, Path, int, int, int]:
    """The module's cosmic-ray session, with what the plan leaves out marked skipped. With `resume`, a session
    made for the same source is reused and only its survivors run again. Returns the config, the session
    database, the number of mutants listed, the number skipped, and the number the plan keeps before sampling."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    slug = module.replace("/", "-").removesuffix(".py")
    config, db, stamp = state / f"{slug}.toml", state / f"{slug}.sqlite", state / f"{slug}.source"
    kept = state / f"{slug}.eligible"
    test_command = f"{sys.executable} -m pytest -q -x -p no:cacheprovider -p tests.mutation.select " + " ".join(
        plan.modules[module]
    )
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{module}"\n'
        f"timeout = {plan.timeout}\n"
        "excluded-modules = []\n"
        f'test-command = "{test_command}"\n'
        '[cosmic-ray.distributor]\nname = "local"\n'
    )
    source = _source_hash(workdir / module) + f" sample={sample} seed={plan.seed} {plan.exclude_operators}"
    if resume and db.exists() and stamp.exists() and stamp.read_text() == source:
        _requeue_survivors(db)
        with use_db(str(db), WorkDB.Mode.open) as work_db:
            skipped = sum(1 for _, r in work_db.results if r.worker_outcome == WorkerOutcome.SKIPPED)
            eligible = int(kept.read_text()) if kept.exists() else work_db.num_work_items - skipped
            return config, db, work_db.num_work_items, skipped, eligible
    db.unlink(missing_ok=True)
    subprocess.run([str(COSMIC_RAY), "init", str(config), str(db)], cwd=workdir, check=True, capture_output=True)
    spans = annotation_spans((workdir / module).read_text())
    excluded = re.compile("|".join(f"(?:{e})" for e in plan.exclude_operators)) if plan.exclude_operators else None
    skip = WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output="left out by tests/mutation/mutate.py")
    with use_db(str(db), WorkDB.Mode.open) as work_db:
        items = list(work_db.pending_work_items)
        eligible = {}
        skipped = []
        for item in items:
            (mutation,) = item.mutations
            if inside(tuple(mutation.start_pos), spans) or (excluded and excluded.match(mutation.operator_name)):
                skipped.append(item.job_id)
            else:
                eligible[(mutation.operator_name, mutation.occurrence)] = item.job_id
        chosen = sample_keys(eligible, sample, plan.seed)
        skipped += [job for key, job in eligible.items() if key not in chosen]
        work_db.set_multiple_results(skipped, skip)
    stamp.write_text(source)
    kept.write_text(str(len(eligible)))
    return config, db, len(items), len(skipped), len(eligible)


def _run_module(
    workdir: Path,
    state: Path,
    module: str,
    plan: Plan,
    sample: int,
    keep: list[str],
    equivalents: list[Equivalent],
    resume: bool,
) -> ModuleResult:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome

    started = time.monotonic()
    config, db, total, skipped, eligible = _session(workdir, state, module, plan, sample, resume)
    keep_file = state / (db.stem + ".keep")
    keep_file.write_text("\n".join(keep) + "\n")
    subprocess.run(
        [str(COSMIC_RAY), "exec", str(config), str(db)],
        cwd=workdir,
        env={**os.environ, "MUTATE_KEEP": str(keep_file)},
        check=True,
        capture_output=True,
    )
    result = ModuleResult(module, total=total, skipped=skipped, eligible=eligible, tests=len(keep))
    with use_db(str(db), WorkDB.Mode.open) as work_db:
        for item, outcome in work_db.completed_work_items:
            if outcome.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            (mutation,) = item.mutations
            result.mutants.append(
                classify(
                    module,
                    mutation.start_pos[0],
                    mutation.operator_name,
                    outcome.is_killed,
                    outcome.diff or "",
                    equivalents,
                )
            )
    result.seconds = time.monotonic() - started
    return result


@dataclass
class Workers:
    """Private copies of the repository, one per job (cosmic-ray mutates the module file in place), and the
    sessions' state. A given `base` is kept and reused (--workdir); the copies are refreshed every run."""

    jobs: int
    base: Path | None = None

    def __post_init__(self) -> None:
        self.keep = self.base is not None
        self.root = self.base or Path(tempfile.mkdtemp(prefix="ms-mutate-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.state = self.root / "state"
        self.state.mkdir(exist_ok=True)
        shared = ROOT.parent / "shared"  # the schemas the tests read live beside the repository
        if shared.is_dir() and not (self.root / "shared").exists():
            (self.root / "shared").symlink_to(shared)
        self.free: Queue[Path] = Queue()
        for i in range(self.jobs):
            workdir = self.root / f"w{i}"
            workdir.mkdir(exist_ok=True)
            copy_working_tree(workdir)
            self.free.put(workdir)

    @contextmanager
    def borrow(self) -> Iterator[Path]:
        workdir = self.free.get()
        try:
            yield workdir
        finally:
            self.free.put(workdir)

    def close(self) -> None:
        if self.keep:
            print(f"sessions kept in {self.root} (--resume reruns only their survivors)")
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def count(plan: Plan, modules: list[str], sample: int) -> str:
    """How many mutants each module has, and how many a run would test (no test runs)."""
    workers = Workers(1)
    lines = [f"{'module':34} {'listed':>6} {'kept':>6} {'tested':>6}"]
    try:
        with workers.borrow() as workdir:
            for module in modules:
                _, _, total, skipped, eligible = _session(workdir, workers.state, module, plan, sample, resume=False)
                lines.append(f"{module:34} {total:>6} {eligible:>6} {total - skipped:>6}")
    finally:
        workers.close()
    return "\n".join(lines)


def run(
    plan: Plan, modules: list[str], jobs: int, sample: int, workdir: Path | None, resume: bool
) -> tuple[list[ModuleResult], float]:
    started = time.monotonic()
    equivalents = load_equivalents()
    workers = Workers(jobs, workdir)
    try:
        files = sorted({f for m in modules for f in plan.modules[m]})
        halves = [files[i::jobs] for i in range(jobs)]

        def baseline(part: list[str]) -> dict[str, dict[str, Any]]:
            with workers.borrow() as copy:
                return _baseline(copy, part) if part else {}

        record: dict[str, dict[str, Any]] = {}
        with ThreadPoolExecutor(jobs) as pool:
            for part in pool.map(baseline, halves):
                record.update(part)

        def one(module: str) -> ModuleResult:
            keep = fast_tests(record, plan.modules[module], plan.max_test_seconds)
            with workers.borrow() as copy:
                result = _run_module(copy, workers.state, module, plan, sample, keep, equivalents, resume)
            survivors = "".join(
                f"\n    {m.module}:{m.line} {m.operator}: {m.original}  ->  {m.mutant}"
                for m in result.mutants
                if m.outcome == "survived"
            )
            print(
                f"  {module}: {len(result.mutants)} mutants, {result.rate:.1%} killed, "
                f"{result.seconds:.0f}s{survivors}",
                flush=True,
            )
            return result

        # Largest modules first, so the two queues finish together.
        ordered = sorted(modules, key=lambda m: -(ROOT / m).stat().st_size)
        with ThreadPoolExecutor(jobs) as pool:
            results = list(pool.map(one, ordered))
    finally:
        workers.close()
    return results, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", help="only this module (repeatable)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--sample", type=int, help="most mutants per module (default: the plan's)")
    parser.add_argument("--workdir", type=Path, help="keep the copies and sessions here (default: a temp dir)")
    parser.add_argument("--resume", action="store_true", help="with --workdir: rerun only the survivors")
    parser.add_argument("--count", action="store_true", help="only count the mutants per module")
    args = parser.parse_args(argv)
    plan = load_plan()
    modules = args.module or list(plan.modules)
    unknown = [m for m in modules if m not in plan.modules]
    if unknown:
        parser.error(f"not in {PLAN.relative_to(ROOT)}: {', '.join(unknown)}")
    if args.count:
        print(count(plan, modules, args.sample or plan.sample))
        return 0
    if args.resume and args.workdir is None:
        parser.error("--resume needs --workdir")
    results, elapsed = run(plan, modules, args.jobs, args.sample or plan.sample, args.workdir, args.resume)
    text, ok = report(results, plan.threshold, elapsed, args.sample or plan.sample, plan.seed)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
