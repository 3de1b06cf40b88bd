"""`make bench`: the offline check of the prod stack (render + policy gate) against a no-logic baseline.

The baseline program registers the same resources as the prod stack (same
types, names and input values, flat under the stack) under the same mocks,
with none of our code: the difference is the cost of our settings, catalog,
components and projections. Runs alternate
(A B A B ...) so drift in machine speed hits both; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from config.stack import load_stack_file
from offline.gate import evaluate
from offline.recorder import Secret
from offline.runner import ROOT, run_program

BASELINE = Path(__file__).resolve().parent / "baseline_program.py"
# Targets: the prod render stays interactive, and our logic costs at most 3x the SDK's own bookkeeping.
TARGET_SECONDS = 10.0
TARGET_RATIO = 3.0


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stack", default="prod")
    args = parser.parse_args(argv)

    stack = load_stack_file(ROOT / f"Pulumi.{args.stack}.yaml", ROOT / "Pulumi.yaml")
    first = run_program(stack)  # warm-up: imports, and the resource counts the baseline reproduces
    if not first.ok:
        print("bench: the stack does not validate:", *first.problems, sep="\n  ", file=sys.stderr)
        return 1
    flat = [[r.type, r.custom, r.name, redact_plain(r.inputs)] for r in first.resources]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(flat, handle)
    baseline_stack = type(stack)(name=stack.name, values={"bench:resources": handle.name}, secret_keys=[])
    run_program(baseline_stack, program=BASELINE)  # warm-up

    def offline_check() -> None:
        # What `make check` does: render under mocks, then run every policy over the record.
        evaluate(run_program(stack), stack=stack)

    ours, base = [], []
    try:
        for _ in range(args.runs):
            ours.append(_timed(offline_check))
            base.append(_timed(lambda: run_program(baseline_stack, program=BASELINE)))
    finally:
        Path(handle.name).unlink()
    ratios = [a / b for a, b in zip(ours, base, strict=True)]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    med_ours, med_base, med_ratio = statistics.median(ours), statistics.median(base), statistics.median(ratios)
    print(f"stack {args.stack}: {len(first.resources)} resources, {args.runs} alternating runs, medians")
    print(f"  offline check (ours) : {med_ours:.3f} s  (min {min(ours):.3f}, max {max(ours):.3f})")
    print(f"  baseline (no logic)  : {med_base:.3f} s  (min {min(base):.3f}, max {max(base):.3f})")
    print(f"  ratio ours/baseline  : {med_ratio:.2f}x (min {min(ratios):.2f}, max {max(ratios):.2f})")
    print(f"  peak RSS (process)   : {peak_mib:.0f} MiB")
    met = med_ours <= TARGET_SECONDS and med_ratio <= TARGET_RATIO
    verdict = "met" if met else "MISSED"
    print(f"  targets              : <= {TARGET_SECONDS:.0f} s and <= {TARGET_RATIO:.1f}x: {verdict}")
    return 0 if met else 1


def redact_plain(value: Any) -> Any:
    """Inputs as plain JSON data (secret markers unwrapped: the baseline only needs their shape)."""
    if isinstance(value, Secret):
        return redact_plain(value.value)
    if isinstance(value, dict):
        return {k: redact_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_plain(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
