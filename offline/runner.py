"""Run __main__.py under mocks with one stack's config; return what it registered."""

from __future__ import annotations

import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from components.files import HOST_FILES
from config.problems import Problem, SettingsError
from config.stack import StackConfig
from offline.recorder import EngineMocks, Recorded, RecordingMonitor, Secret

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "__main__.py"


@dataclass
class RunResult:
    stack: str
    resources: list[Recorded] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Invokes (token, args) the program made; invokes are not resources and run on preview too."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def of_type(self, type_token: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_token]

    def by_urn(self) -> dict[str, Recorded]:
        return {r.urn: r for r in self.resources}


CONTAINER = "docker:index/container:Container"


def _written(props: dict[str, Any]) -> Any:
    """A HostFiles' plain and secret files as one `uploads`-shaped list; each secret file's content a Secret."""
    plain, secret = props.get("uploads") or [], props.get("secretUploads") or []
    if isinstance(secret, Secret):
        secret = [{**item, "content": Secret(item["content"])} for item in secret.value]
    if isinstance(plain, Secret):  # secretness spread to the plain files: shown as it reached the engine
        return Secret([*plain.value, *secret])
    return [*plain, *secret]


def _attach_host_files(resources: list[Recorded]) -> None:
    """Give each container the files written on the host for it: the HostFiles beside it under its ContainerService."""
    written = {r.parent: _written(r.inputs) for r in resources if r.type == HOST_FILES}
    for res in resources:
        if res.type == CONTAINER and res.parent in written:
            res.host_files = written[res.parent]


def run_program(stack: StackConfig, preview: bool = False, program: Path = PROGRAM) -> RunResult:
    """Execute the real program against mocks. Settings errors come back as problems, not exceptions."""
    mocks = EngineMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_all_config(stack.values, stack.secret_keys)
    pulumi.runtime.set_mocks(mocks, project="media-server", stack=stack.name, preview=preview, monitor=monitor)
    # set_mocks leaves a finished root stack behind; run_in_stack must make a fresh one per run.
    runtime_settings.ROOT.set(None)
    result = RunResult(stack=stack.name)

    def main() -> None:
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        runpy.run_path(str(program), run_name="__main__")

    try:
        _sync_await(run_in_stack(main))
    except SettingsError as exc:
        result.problems = list(exc.problems)
    result.resources = sorted(monitor.recorded.values(), key=lambda r: r.urn)
    _attach_host_files(result.resources)
    result.exports = monitor.stack_outputs
    result.calls = list(mocks.calls)
    return result
