"""The provider read-back model: what each resource's state holds after `pulumi up`, and what a second `up`
would change.

One module per provider (docker, command, random, tls, cloudflare), each normalisation citing the provider
file and line it copies. `read_back` gives the outputs the real provider stores for the inputs the program
sends (the mocks answer with it); `second_up` diffs the program's inputs, as the next `up` sends them, against
that state with the provider's diff rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from offline.readback import cloudflare, command, docker, random, tls
from offline.readback.schema import Attr, Change, diff_attrs, plain

Reader = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Model:
    read: Reader
    schema: Mapping[str, Attr]


MODELS: dict[str, Model] = {
    docker.CONTAINER: Model(docker.read_container, docker.CONTAINER_SCHEMA),
    docker.NETWORK: Model(docker.read_network, docker.NETWORK_SCHEMA),
    docker.REMOTE_IMAGE: Model(docker.read_remote_image, docker.REMOTE_IMAGE_SCHEMA),
    command.REMOTE: Model(command.read_command, command.COMMAND_SCHEMA),
    command.LOCAL: Model(command.read_command, command.COMMAND_SCHEMA),
    random.PASSWORD: Model(random.read_password, random.PASSWORD_SCHEMA),
    random.BYTES: Model(random.read_bytes, random.BYTES_SCHEMA),
    tls.PRIVATE_KEY: Model(tls.read_private_key, tls.PRIVATE_KEY_SCHEMA),
    cloudflare.DNS_RECORD: Model(cloudflare.read_echo, cloudflare.DNS_RECORD_SCHEMA),
    cloudflare.RULESET: Model(cloudflare.read_echo, cloudflare.RULESET_SCHEMA),
    cloudflare.ZONE_SETTING: Model(cloudflare.read_echo, cloudflare.ZONE_SETTING_SCHEMA),
}


def read_back(type_token: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
    """The provider's state for these inputs, or None for a type without a model."""
    model = MODELS.get(type_token)
    if model is None:
        return None
    state = model.read(dict(inputs))
    # The plan that created the resource filled in the schema's defaults; state keeps them.
    for name, attr in model.schema.items():
        if state.get(name) is None and attr.default is not None:
            state[name] = attr.default
    return state


class _Resource:
    """What second_up needs of a recorded resource (offline.recorder.Recorded has these attributes)."""

    type: str
    name: str
    urn: str
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any]


@dataclass
class SecondUp:
    changes: list[Change]
    unmodelled: list[str]
    """Custom resource types registered that have no read-back model (each one a gap to close)."""

    @property
    def resources(self) -> list[str]:
        return sorted({c.urn for c in self.changes})

    def as_dict(self) -> dict[str, Any]:
        return {
            "resourcesChanging": len(self.resources),
            "changes": [c.as_dict() for c in self.changes],
            "unmodelled": self.unmodelled,
        }


def diff_resource(res: Any) -> list[Change]:
    """The changes the next `up` would plan for one resource: its inputs against its read-back state."""
    model = MODELS.get(res.type)
    if model is None:
        return []
    config, state = plain(res.inputs), plain(res.outputs)
    return [
        Change(res.urn, res.name, res.type, name, have, want, replace)
        for name, have, want, replace in diff_attrs(model.schema, config, state)
    ]


def second_up(resources: Iterable[Any]) -> SecondUp:
    changes: list[Change] = []
    unmodelled: set[str] = set()
    for res in resources:
        if not res.custom or res.type.startswith("pulumi:providers:"):
            continue
        if res.type not in MODELS:
            unmodelled.add(res.type)
            continue
        changes.extend(diff_resource(res))
    return SecondUp(sorted(changes, key=lambda c: (c.urn, c.field)), sorted(unmodelled))
