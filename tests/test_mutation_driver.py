"""make mutate's driver (tests/mutation/mutate.py): its plan, mutant selection and report, without running it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mutation.mutate import (
    ROOT,
    Equivalent,
    ModuleResult,
    Mutant,
    annotation_spans,
    classify,
    diff_sides,
    fast_tests,
    inside,
    load_equivalents,
    load_plan,
    report,
    sample_keys,
)

SOURCE = """\
def check(limit: int | None, names: list[str] = []) -> bool:
    value: dict[str, int] = {}
    return limit is not None and limit > 0
"""

DIFF = """--- mutation diff ---
--- aconfig/settings.py
+++ bconfig/settings.py
@@ -3,1 +3,1 @@
-    return limit is not None and limit > 0
+    return limit is not None and limit >= 0
"""


def test_plan_names_modules_and_test_files_that_exist() -> None:
    plan = load_plan()
    assert len(plan.modules) >= 15 and plan.threshold >= 0.9 and plan.sample > 0
    for module, tests in plan.modules.items():
        assert (ROOT / module).is_file(), module
        assert tests and all((ROOT / t).is_file() for t in tests), (module, tests)
    for guarded in ("config/settings.py", "config/tailoring.py", "render/traefik.py", "render/authelia.py"):
        assert guarded in plan.modules
    assert {f"policies/rules/{p.name}" for p in (ROOT / "policies/rules").glob("[!_]*.py")} <= set(plan.modules)


def test_mutants_in_annotations_are_found_and_code_is_not() -> None:
    spans = annotation_spans(SOURCE)
    assert inside((1, 17), spans)  # `int | None` in the parameter annotation
    assert inside((1, 44), spans)  # the return annotation
    assert inside((2, 11), spans)  # the variable annotation
    assert not inside((3, 26), spans)  # `is not` in the body
    assert not inside((3, 45), spans)  # `>` in the body
    assert not inside((1, 49), spans)  # `[]`, a default value, is code


def test_sample_is_reproducible_and_capped() -> None:
    keys = [(f"core/Op{i % 7}", i) for i in range(300)]
    first = sample_keys(keys, 50, seed=13)
    assert len(first) == 50 and first == sample_keys(reversed(keys), 50, seed=13)
    assert first != sample_keys(keys, 50, seed=14)
    assert sample_keys(keys[:20], 50, seed=13) == set(keys[:20])


def test_diff_sides_and_equivalence_match_on_source_text_not_line() -> None:
    assert diff_sides(DIFF) == ("return limit is not None and limit > 0", "return limit is not None and limit >= 0")
    equivalent = Equivalent(
        "config/settings.py",
        "return limit is not None and limit > 0",
        "return limit is not None and limit >= 0",
        "limit 0 is refused by the field's gt=0 before this runs",
    )
    op = "core/ReplaceComparisonOperator_Gt_GtE"
    moved = classify("config/settings.py", 120, op, False, DIFF, [equivalent])
    assert (moved.outcome, moved.reason) == ("equivalent", equivalent.reason)
    assert classify("config/types.py", 3, op, False, DIFF, [equivalent]).outcome == "survived"
    assert classify("config/settings.py", 3, op, True, DIFF, [equivalent]).outcome == "killed"


def test_fast_tests_leave_out_program_runs_slow_tests_and_other_files() -> None:
    record = {
        "tests/test_a.py::test_fast": {"seconds": 0.01, "program": False},
        "tests/test_a.py::test_prod[x]": {"seconds": 0.01, "program": True},
        "tests/test_a.py::test_slow": {"seconds": 2.0, "program": False},
        "tests/test_b.py::test_fast": {"seconds": 0.01, "program": False},
    }
    assert fast_tests(record, ["tests/test_a.py"], 0.5) == ["tests/test_a.py::test_fast"]


def test_report_rates_exclude_equivalents_and_fail_under_the_threshold() -> None:
    def mutants(killed: int, equivalent: int, survived: int) -> list[Mutant]:
        return (
            [Mutant("m.py", 1, "op", "killed")] * killed
            + [Mutant("m.py", 2, "op", "equivalent", reason="r")] * equivalent
            + [Mutant("m.py", 7, "core/NumberReplacer", "survived", "x = 1", "x = 2")] * survived
        )

    good = ModuleResult("good.py", eligible=70, mutants=mutants(9, 5, 1))
    assert good.rate == 0.9
    text, ok = report([good], 0.9, 12.0, sample=15, seed=13)
    assert ok and "m.py:7 core/NumberReplacer" in text and "+ x = 2" in text
    row = next(line for line in text.splitlines() if line.startswith("good.py"))
    assert row.split()[:7] == ["good.py", "70", "15", "9", "5", "1", "90.0%"]
    assert "at most 15 mutants tested per module (a sample with seed 13" in text
    assert "each kill rate is over the mutants tested" in text
    bad = ModuleResult("bad.py", mutants=mutants(8, 0, 2))
    text, ok = report([good, bad], 0.9, 12.0)
    assert not ok and "bad.py" in text and "< threshold" in text


def test_equivalent_mutants_file_is_reviewed_entries_of_planned_modules() -> None:
    plan = load_plan()
    entries = load_equivalents()
    for entry in entries:
        assert entry.module in plan.modules, entry
        assert entry.original and entry.original != entry.mutant, entry
        source = (ROOT / entry.module).read_text()
        assert entry.original.split(" / ")[0] in source, f"stale entry (source changed): {entry}"
    assert len({(e.module, e.original, e.mutant) for e in entries}) == len(entries), "duplicate entries"


def test_an_entry_without_a_reason_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "equivalent.yaml"
    path.write_text("- {module: config/types.py, original: a, mutant: b, reason: ''}\n")
    with pytest.raises(ValueError, match="one-line reason"):
        load_equivalents(path)
