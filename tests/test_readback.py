"""The provider read-back model (offline/readback, config/goforms) and the second-`up` check.

Each normalisation is pinned to cases from the Go or provider test suites it copies; then the model is shown
to flag the forms the program used to send, and to pass the forms it sends now.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

from config.goforms import (
    HOUR,
    MINUTE,
    SECOND,
    docker_cpus,
    duration_string,
    go_duration,
    nano_int64_to_decimal_string,
    parse_cpus,
    parse_duration,
)
from offline import check
from offline.readback import SecondUp, diff_resource, read_back, second_up
from offline.readback.docker import CONTAINER, DeviceRequest, flatten_gpus, gpu_request
from offline.readback.schema import Change
from offline.runner import ROOT, RunResult


# ------------------------------------------------------------------ Go and provider functions, with their tests' cases
@pytest.mark.parametrize(
    ("ns", "text"),
    [  # go/src/time/time_test.go, durationTests
        (0, "0s"),
        (1, "1ns"),
        (1100, "1.1\u00b5s"),
        (2200 * 1000, "2.2ms"),
        (3300 * 1000 * 1000, "3.3s"),
        (4 * MINUTE + 5 * SECOND, "4m5s"),
        (4 * MINUTE + 5001 * 1000 * 1000, "4m5.001s"),
        (5 * HOUR + 6 * MINUTE + 7001 * 1000 * 1000, "5h6m7.001s"),
        (8 * MINUTE + 1, "8m0.000000001s"),
        (2**63 - 1, "2562047h47m16.854775807s"),
        (-(2**63), "-2562047h47m16.854775808s"),
    ],
)
def test_duration_string_matches_go(ns: int, text: str) -> None:
    assert duration_string(ns) == text


@pytest.mark.parametrize(
    ("text", "ns"),
    [  # go/src/time/time_test.go, parseDurationTests (a selection)
        ("0", 0),
        ("5s", 5 * SECOND),
        ("30s", 30 * SECOND),
        ("1478s", 1478 * SECOND),
        ("-5s", -5 * SECOND),
        ("+5s", 5 * SECOND),
        ("5.6s", 5 * SECOND + 600 * 1000 * 1000),
        ("5.s", 5 * SECOND),
        (".5s", 500 * 1000 * 1000),
        ("1.004s", 1 * SECOND + 4 * 1000 * 1000),
        ("100ms", 100 * 1000 * 1000),
        ("11us", 11 * 1000),
        ("3h30m", 3 * HOUR + 30 * MINUTE),
        ("10.5s4m", 4 * MINUTE + 10 * SECOND + 500 * 1000 * 1000),
    ],
)
def test_parse_duration_matches_go(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize("bad", ["", "3", "-", "s", ".", "-.", ".s", "+.s", "1d"])
def test_parse_duration_refuses_what_go_refuses(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(bad)


def test_healthcheck_durations_of_the_provider_acceptance_test_round_trip() -> None:
    # testdata/resources/docker_container/testAccDockerContainerHealthcheckConfig.tf: 30s, 5s, 15s; the form
    # the program used to send for a start period, 60s, does not.
    assert [go_duration(v) for v in ("30s", "5s", "15s")] == ["30s", "5s", "15s"]
    assert go_duration("60s") == "1m0s"
    assert go_duration("300s") == "5m0s"


@pytest.mark.parametrize(
    ("nano", "text"),
    [  # internal/provider/helpers_test.go TestNanoInt64ToDecimalString
        (0, "0"),
        (1_000_000_000, "1.0"),
        (1_500_000_000, "1.5"),
        (2_000_000_000, "2.0"),
        (2_250_000_000, "2.25"),
    ],
)
def test_nano_cpus_text_matches_the_provider(nano: int, text: str) -> None:
    assert nano_int64_to_decimal_string(nano) == text


def test_cpus_read_back_forms() -> None:
    # testAccDockerContainerCpus.tf sends "1.5", which comes back unchanged; "1" does not.
    assert docker_cpus("1.5") == "1.5"
    assert docker_cpus("1") == "1.0"
    assert docker_cpus("0.25") == "0.25"
    assert parse_cpus("3/2") == 1_500_000_000
    with pytest.raises(ValueError, match="too precise"):
        parse_cpus("0.0000000001")


@pytest.mark.parametrize(
    ("request_", "text"),
    [  # internal/provider/helpers_test.go TestFlattenGPUsFromDeviceRequests
        (DeviceRequest(count=-1, capabilities=(("gpu",),)), "all"),
        (DeviceRequest(count=-1, capabilities=(("GPU",),)), "all"),
        (DeviceRequest(device_ids=("0", "2"), capabilities=(("gpu",),)), "device=0,2"),
        (DeviceRequest(count=-1, capabilities=(("compute",),)), None),
    ],
)
def test_flatten_gpus_matches_the_provider(request_: DeviceRequest, text: str | None) -> None:
    assert flatten_gpus(request_) == text


@pytest.mark.parametrize("quoted", ['"all"', "'all'", "'\"all\"'"])
def test_gpu_option_quotes_are_stripped_as_the_provider_does(quoted: str) -> None:
    # helpers_test.go TestNormalizeGPUOptionString: raw, double, single and double-wrapped quotes.
    assert gpu_request(quoted).count == -1


def test_gpus_text_the_program_used_to_send_is_a_count() -> None:
    # "0,1" is one CSV record of two fields without "=": each is a count, the last wins. Not devices 0 and 1.
    assert gpu_request("0,1") == DeviceRequest(count=1, capabilities=(("gpu",),))
    # "device=0,1" splits the same way: device 0 plus a count, which the NVIDIA runtime refuses.
    assert gpu_request("device=0,1") == DeviceRequest(count=1, device_ids=("0",), capabilities=(("gpu",),))


# ------------------------------------------------------------------ the model over container inputs
@dataclass
class _Res:
    inputs: dict[str, Any]
    type: str = CONTAINER
    name: str = "c"
    urn: str = "urn:pulumi:test::media-server::docker:index/container:Container::c"
    custom: bool = True
    outputs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.outputs = read_back(self.type, self.inputs) or {}


FIXED = {
    "name": "ms-test-app",
    "image": "example/app@sha256:" + "0" * 64,
    "restart": "unless-stopped",
    "memory": 512,
    "memorySwap": 1024,
    "cpus": "1.0",
    "healthcheck": {"tests": ["CMD", "true"], "interval": "30s", "timeout": "5s", "startPeriod": "1m0s", "retries": 3},
}


def _changes(**inputs: Any) -> dict[str, tuple[Any, Any, bool]]:
    return {c.field: (c.state, c.config, c.replace) for c in diff_resource(_Res({**FIXED, **inputs}))}


def test_fixed_forms_change_nothing() -> None:
    assert _changes() == {}


def test_cpus_sent_as_an_integer_replaces_the_container() -> None:
    assert _changes(cpus="1") == {"cpus": ("1.0", "1", True)}


def test_healthcheck_duration_in_seconds_updates_forever() -> None:
    changed = _changes(healthcheck={**FIXED["healthcheck"], "startPeriod": "60s"})
    state, config, replace = changed["healthcheck"]
    assert (state["startPeriod"], config["startPeriod"], replace) == ("1m0s", "60s", False)


def test_memory_swap_left_out_is_a_diff() -> None:
    inputs = {k: v for k, v in FIXED.items() if k != "memorySwap"}
    changes = {c.field: c for c in diff_resource(_Res(inputs))}
    assert (changes["memorySwap"].state, changes["memorySwap"].config) == (1024, None)


def test_one_shot_job_keeping_must_run_is_started_again() -> None:
    changed = _changes(restart="on-failure", maxRetryCount=3)
    assert changed == {"mustRun": (False, True, False)}
    assert _changes(restart="on-failure", maxRetryCount=3, mustRun=False) == {}


def test_gpus_device_request_round_trips() -> None:
    request = {"driver": "nvidia", "count": 0, "deviceIds": ["0", "1"], "capabilities": ["gpu"]}
    assert _changes(deviceRequests=[request], runtime="nvidia") == {}


# ------------------------------------------------------------------ make check
def test_dev_and_prod_second_up_changes_nothing(prod: RunResult, dev: RunResult) -> None:
    for result in (dev, prod):
        second = second_up(result.resources)
        assert second.unmodelled == []
        assert [c.as_dict() for c in second.changes] == []


def test_check_fails_and_lists_each_change(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    change = Change("urn:x", "media-jellyfin-container", CONTAINER, "cpus", "4.0", "4", True)
    monkeypatch.setattr(check, "second_up", lambda resources: SecondUp([change], []))
    assert check.main(["--stack", "dev"]) == 1
    out = capsys.readouterr().out
    assert "second up: 1 resources would change" in out
    assert "media-jellyfin-container" in out and '"4.0"' in out and "replace" in out


def test_check_prints_zero_changes_in_text_and_json() -> None:
    for stack in ("dev", "prod"):
        text = subprocess.run(
            [sys.executable, "-m", "offline.check", "--stack", stack],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert text.returncode == 0, text.stdout[-2000:]
        assert "second up: 0 changes" in text.stdout
    doc = json.loads(
        subprocess.run(
            [sys.executable, "-m", "offline.check", "--stack", "dev", "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    )
    assert doc["secondUp"] == {"resourcesChanging": 0, "changes": [], "unmodelled": []}
