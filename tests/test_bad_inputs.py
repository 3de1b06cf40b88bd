"""The closing note's table (issue 11): every bad input tried exits 1 with its message, no traceback, nothing
registered. The rows come from tests/bad_inputs.py, which also prints the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.stack import load_stack_file
from tests.bad_inputs import CASES, Case, run
from tests.conftest import make_check


def test_at_least_forty_cases() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    outcome = run(case, tmp_path)  # an exception (a traceback for the user) fails the test here
    assert outcome.exit == 1
    assert outcome.resources == 0, "something was registered"
    assert outcome.problems, "refused without saying why"
    assert outcome.matching(case) is not None, outcome.problems
    assert "Traceback" not in outcome.stderr


@pytest.mark.parametrize("name", ["505-byte alias bomb", "YAML syntax error", "!!python/object tag", "env PUID=0"])
def test_make_check_exits_1_without_a_traceback(name: str, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == name)
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(case.stack_text())
    made = make_check(path)
    assert made.returncode != 0  # make reports the command's exit 1 as its own failure
    assert "Traceback" not in made.stdout + made.stderr
    assert "nothing registered" in made.stdout
    assert case.message in " ".join(made.stdout.split())


def test_the_alias_bomb_is_small_and_would_explode() -> None:
    bomb = next(c for c in CASES if c.name == "505-byte alias bomb")
    assert len(bomb.stack_text().encode()) <= 505
    # 9**7 strings once expanded: what json.dumps would have built for the engine.
    assert 9**7 > 4_000_000


def test_the_base_site_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.base.yaml"
    path.write_text(Case("base", "", "").stack_text())
    load_stack_file(path)
