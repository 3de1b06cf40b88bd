"""pytest plugin for mutation runs: record each test's CPU time, then run only the fast ones.

A mutant is tested in a fresh pytest process, so a test that first runs the whole Pulumi program under the
mocks costs seconds per mutant. With MUTATE_RECORD=<file> the plugin writes each test's setup+call CPU seconds and
whether it uses a program-run fixture; with MUTATE_KEEP=<file> (one node id a line) it deselects every
other test. tests/mutation/mutate.py drives both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from pathlib import Path

import pytest

PROGRAM_RUNS = frozenset({"prod", "dev", "run_site", "ldap_site", "tunnel", "prod_module", "deployed"})
"""Fixtures that run the Pulumi program (or more) before the test body."""

_times: dict[str, float] = {}
_program: set[str] = set()


def _runs_program(item: pytest.Item) -> bool:
    return bool(PROGRAM_RUNS & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep_file = os.environ.get("MUTATE_KEEP")
    if keep_file:
        keep = set(Path(keep_file).read_text().splitlines())
    elif os.environ.get("MUTATE_RECORD"):
        # The baseline never times what a mutant run never selects.
        _program.update(item.nodeid for item in items if _runs_program(item))
        keep = {item.nodeid for item in items} - _program
    else:
        return
    dropped = [item for item in items if item.nodeid not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item.nodeid in keep]


def _cpu() -> float:
    """CPU seconds of this process and its reaped children: unlike wall time, the same on a busy machine."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None]:
    start = _cpu()
    yield
    _times[item.nodeid] = _times.get(item.nodeid, 0.0) + _cpu() - start


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None]:
    start = _cpu()
    yield
    _times[item.nodeid] = _times.get(item.nodeid, 0.0) + _cpu() - start


def pytest_sessionfinish(session: pytest.Session) -> None:
    record = os.environ.get("MUTATE_RECORD")
    if record:
        tests = {node: {"seconds": t, "program": False} for node, t in _times.items()}
        tests.update({node: {"seconds": 0.0, "program": True} for node in _program})
        Path(record).write_text(json.dumps(tests, indent=1, sort_keys=True))
