"""How validation failures read: the key as the user writes it, the nearest known key, the bad value.

These drive config/problems.py through parse_settings (what `make check` and `pulumi up` call) at every
depth a stack file can nest: a section, a mapping of sections, a list of sections, an optional section.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from config.problems import SettingsError, _value, known_fields, problems_from
from config.settings import Settings
from config.stack import parse_settings
from tests.conftest import minimal_config

REFERENCE = "(the configuration reference is in README.md)"
NO_GUESS = "unknown key; check the spelling against the configuration reference in README.md"


def problems(**overrides: Any) -> list[str]:
    with pytest.raises(SettingsError) as info:
        parse_settings(minimal_config(**overrides))
    return [str(p) for p in info.value.problems]


def problem_at(key: str, **overrides: Any) -> str:
    """The one problem reported at `key` (others, e.g. a required key the typo left out, are ignored)."""
    found = [p for p in problems(**overrides) if p.startswith(f"media-server:{key}: ")]
    assert len(found) == 1, problems(**overrides)
    return found[0]


@pytest.mark.parametrize(
    ("key", "overrides", "expected"),
    [
        ("timezon", {"timezon": "Europe/Berlin"}, 'did you mean timezone? {ref} (got "Europe/Berlin")'),
        ("paths.configroot", {"paths": {"configroot": "/opt/x"}}, 'did you mean configRoot? {ref} (got "/opt/x")'),
        # a mapping of sections: the section under the service name
        (
            "services.sonarr.imageTg",
            {"services": {"sonarr": {"imageTg": "4.0.1"}}},
            'did you mean imageTag? {ref} (got "4.0.1")',
        ),
        # a list of sections: the item's section
        (
            "edge.auth.users[0].displayNam",
            {"edge": {"auth": {"users": [{"username": "ann", "displayNam": "Ann", "email": "a@b.org"}]}}},
            'did you mean displayName? {ref} (got "Ann")',
        ),
        # an optional section, four levels down
        (
            "edge.auth.smtp.adress",
            {"edge": {"auth": {"smtp": {"adress": "smtp://mail.example.org", "username": "u", "sender": "a@b.org"}}}},
            'did you mean address? {ref} (got "smtp://mail.example.org")',
        ),
    ],
)
def test_an_unknown_key_names_the_nearest_key_of_its_own_section(
    key: str, overrides: dict[str, Any], expected: str
) -> None:
    assert problem_at(key, **overrides) == f"media-server:{key}: unknown key; " + expected.format(ref=REFERENCE)


def test_secret_keys_are_suggested_at_the_top_level_only() -> None:
    # The secret keys are top-level config keys beside the settings, so a typo of one there names it...
    assert problem_at("cloudflareApiTokn", cloudflareApiTokn="x") == (
        f'media-server:cloudflareApiTokn: unknown key; did you mean cloudflareApiToken? {REFERENCE} (got "x")'
    )
    # ...but inside a section it is not a key the section knows.
    assert problem_at("paths.cloudflareApiTokn", paths={"cloudflareApiTokn": "x"}) == (
        f'media-server:paths.cloudflareApiTokn: {NO_GUESS} (got "x")'
    )


class _Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timezone: str = "UTC"


class _Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    labels: dict[str, str] = {}
    inner: _Inner = _Inner()


def test_without_a_model_no_key_is_guessed() -> None:
    with pytest.raises(ValidationError) as info:
        _Inner.model_validate({"timezon": "x"})
    (found,) = problems_from(info.value, top_level_extra=["timezone"])
    assert (found.key, found.message) == ("media-server:timezon", NO_GUESS)
    (guessed,) = problems_from(info.value, _Inner)
    assert guessed.message == f"unknown key; did you mean timezone? {REFERENCE}"


def test_known_fields_below_a_plain_value_are_none() -> None:
    assert known_fields(_Outer, ("inner", "x")) == ["timezone"]
    assert known_fields(_Outer, ("x",)) == ["labels", "inner"]
    # a mapping of plain strings holds no section: nothing is known below one of its values
    assert known_fields(_Outer, ("labels", "a", "x")) == []
    assert known_fields(Settings, ("domain", "x")) == []


@pytest.mark.parametrize(
    ("key", "overrides"),
    [
        ("paths.configRoot", {"paths": {"configRoot": "/opt/x\x07"}}),  # a section
        (  # an optional section
            "edge.auth.smtp.username",
            {
                "edge": {
                    "auth": {"smtp": {"address": "smtp://mail.example.org", "username": "u\x07", "sender": "a@b.org"}}
                }
            },
        ),
        ("services.sonarr.env", {"services": {"sonarr": {"env": {"FOO": "a\x07b"}}}}),  # a mapping of plain text
    ],
)
def test_a_control_character_is_reported_at_the_innermost_key_that_holds_it(
    key: str, overrides: dict[str, Any]
) -> None:
    found = problems(**overrides)
    assert len(found) == 1, found
    assert found[0].startswith(f"media-server:{key}: contains a control character ('\\x07' at position ")


def test_a_value_json_cannot_show_is_shown_by_repr() -> None:
    # mixed key types cannot be sorted (TypeError), a list that contains itself cannot be encoded (ValueError)
    assert _value({1: "a", "b": 2}) == "{1: 'a', 'b': 2}"
    loop: list[Any] = []
    loop.append(loop)
    assert _value(loop) == "[[...]]"
    # and such a value from a stack file is reported, not a crash
    found = problems(services={"sonarr": {"env": {1: "a", "B": "x\x07"}}})
    assert found == [
        "media-server:services.sonarr.env: contains a control character ('\\x07' at position 1); "
        "expected plain text on one line (got {1: 'a', 'B': 'x\\x07'})"
    ]
