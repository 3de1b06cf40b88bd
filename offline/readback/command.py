"""pulumi-command 1.2.1: outputs are the inputs (with the schema's defaults) plus stdout and stderr.

pulumi/pulumi-command v1.2.1, provider/pkg/provider/remote/command.go:36-75 (CommandOutputs embeds
CommandInputs) and connection.go:56-79 (defaults: user root, port 22, dialErrorLimit 10, perDialTimeout 15).
The provider is built on pulumi-go-provider `infer` and has no Read of its own, so nothing is normalised; a
change to `triggers` replaces (common/inputs.go:10, replaceOnChanges), any other input updates.
"""

from __future__ import annotations

from typing import Any

from offline.readback.schema import Attr

REMOTE = "command:remote:Command"
LOCAL = "command:local:Command"
CONNECTION_DEFAULTS = {"user": "root", "port": 22, "dialErrorLimit": 10, "perDialTimeout": 15}


def read_command(inputs: dict[str, Any]) -> dict[str, Any]:
    state = dict(inputs)
    conn = inputs.get("connection")
    if isinstance(conn, dict):
        state["connection"] = {**CONNECTION_DEFAULTS, **{k: v for k, v in conn.items() if v is not None}}
    state.setdefault("stdout", "")
    state.setdefault("stderr", "")
    return state


COMMAND_SCHEMA: dict[str, Attr] = {
    "triggers": Attr(force_new=True, kind="list"),
    "create": Attr(),
    "update": Attr(),
    "delete": Attr(),
    "stdin": Attr(),
    "environment": Attr(kind="map"),
    "interpreter": Attr(kind="list"),
    "connection": Attr(
        kind="block",
        block={
            **{k: Attr(default=v) for k, v in CONNECTION_DEFAULTS.items()},
            "host": Attr(),
            "privateKey": Attr(),
            "hostKey": Attr(),
        },
    ),
}
