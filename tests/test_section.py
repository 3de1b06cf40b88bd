"""The settings models' base (config/section.py): strict, frozen, camelCase or Python names, one-line strings
except where a field's own validator says more precisely what is wrong."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from config.problems import SettingsError
from config.search import SearchSettings
from config.stack import parse_settings
from tests.conftest import minimal_config

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0cMVt0d6vNRiX0i5cM1qk0D0Y0xG4yKQ2iHk4n7Bq2"


def test_settings_are_frozen() -> None:
    settings = SearchSettings()
    with pytest.raises(ValidationError, match="frozen"):
        settings.engine = "elasticsearch"  # type: ignore[misc]


def test_fields_take_their_python_name_as_well_as_the_stack_files_camel_case() -> None:
    assert SearchSettings.model_validate({"source_timeout": "2m"}).source_timeout == "2m"
    assert SearchSettings.model_validate({"sourceTimeout": "2m"}).source_timeout == "2m"


def test_an_exempt_field_reports_its_own_precise_message_not_the_generic_one() -> None:
    """host.address validates its own text (config/ssh.py): a newline there gets that message, which names
    what a host address may be, not the generic control-character one."""
    with pytest.raises(SettingsError) as info:
        parse_settings(minimal_config(host={"mode": "ssh", "address": "a\nb", "hostKey": HOST_KEY}))
    (problem,) = info.value.problems
    assert problem.key == "media-server:host.address"
    assert "not a host name or IP address" in problem.message and "control character" not in problem.message
