"""Mocks that answer like the engine, and a monitor that records every registration.

The SDK's MockResourceArgs carries no parent, dependencies or secret options,
so the monitor records them from the raw RegisterResource request. Inputs are
normalised once here: integral floats back to ints, JSON text of providers'
non-string inputs decoded, secrets kept as `Secret` markers.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks


@dataclass(frozen=True)
class Secret:
    """A value that reached the engine marked as a Pulumi secret."""

    value: Any


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _normalise(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return Secret(_normalise(rpc.unwrap_rpc_secret(value)))
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def _decode_provider_input(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


@dataclass
class Recorded:
    type: str
    name: str
    urn: str
    parent: str | None
    provider: str | None
    custom: bool
    dependencies: list[str]
    additional_secret_outputs: list[str]
    inputs: dict[str, Any]
    id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    host_files: Any = None
    """For a container: the `uploads`-shaped list of files written on the host for it (HostFiles), if any."""
    replacement_trigger: Any = None
    """The `replacement_trigger` option's value: when it changes, the engine replaces the resource."""


class EngineMocks(Mocks):
    """Return inputs plus the computed outputs a real provider would (camelCase, secrets wrapped)."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        rid = f"{args.name}-{_digest(args.typ, args.name)[:12]}"
        typ = args.typ
        if typ == "docker:index/remoteImage:RemoteImage":
            name = str(args.inputs.get("name", ""))
            untagged = name.split("@", maxsplit=1)[0]
            repo = untagged.rsplit(":", 1)[0] if ":" in untagged.rsplit("/", 1)[-1] else untagged
            digest = _digest(name)
            state.update(repoDigest=f"{repo}@sha256:{digest}", imageId=f"sha256:{_digest('id', name)}")
        elif typ == "docker:index/container:Container":
            rid = _digest("container", args.name)
            state.setdefault("networkDatas", [])
        elif typ == "docker:index/network:Network":
            rid = _digest("network", args.name)
            state.setdefault("scope", "local")
        elif typ == "random:index/randomPassword:RandomPassword":
            length = int(args.inputs.get("length", 32))
            value = (_digest("password", args.name) * 4)[:length]
            state["result"] = rpc.wrap_rpc_secret(value)
            state["bcryptHash"] = rpc.wrap_rpc_secret("$2a$10$" + _digest("bcrypt", value)[:53])
        elif typ == "random:index/randomBytes:RandomBytes":
            length = int(args.inputs.get("length", 32))
            raw = bytes.fromhex((_digest("bytes", args.name) * 8)[: length * 2])
            state["hex"] = rpc.wrap_rpc_secret(raw.hex())
            state["base64"] = rpc.wrap_rpc_secret(base64.b64encode(raw).decode())
        elif typ == "tls:index/privateKey:PrivateKey":
            body = base64.b64encode(bytes.fromhex(_digest("key", args.name) * 8)).decode()
            lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
            pem = f"-----BEGIN RSA PRIVATE KEY-----\n{lines}\n-----END RSA PRIVATE KEY-----\n"
            state["privateKeyPem"] = rpc.wrap_rpc_secret(pem)
            state["publicKeyPem"] = f"-----BEGIN PUBLIC KEY-----\n{lines[:64]}\n-----END PUBLIC KEY-----\n"
        elif typ.startswith("command:"):
            state.setdefault("stdout", "")
            state.setdefault("stderr", "")
        elif typ.startswith("cloudflare:"):
            rid = _digest("cf", args.name)[:32]
        return rid, state

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        """Invokes the program made (token, args), in order: e.g. pulumi-command's `local.run` writing ssh files."""

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.calls.append((args.token, _normalise(dict(args.args))))
        if args.token == "command:local:run":  # noqa: S105 - an invoke token, not a password
            return {"stdout": "", "stderr": ""}, []
        return {}, []


class RecordingMonitor(MockMonitor):
    """A MockMonitor that keeps what the engine would see of each registration."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.recorded: dict[str, Recorded] = {}
        self.stack_outputs: dict[str, Any] = {}

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        if "::pulumi:pulumi:Stack::" in request.urn:
            self.stack_outputs = _normalise(rpc.deserialize_properties(request.outputs, keep_unknowns=True))
        return super().RegisterResourceOutputs(request)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        raw = rpc.deserialize_properties(request.object, keep_unknowns=True)
        inputs = _normalise(raw)
        if request.type.startswith("pulumi:providers:"):
            inputs = {k: _decode_provider_input(v) for k, v in inputs.items()}
        # A provider reference is "<urn>::<id>"; the URN is what identifies it.
        provider = request.provider.rsplit("::", 1)[0] if request.provider else None
        self.recorded[response.urn] = Recorded(
            type=request.type,
            name=request.name,
            urn=response.urn,
            parent=request.parent or None,
            provider=provider,
            custom=bool(request.custom),
            dependencies=sorted(request.dependencies),
            additional_secret_outputs=sorted(request.additionalSecretOutputs),
            inputs=inputs,
            id=response.id,
            outputs=_normalise(rpc.deserialize_properties(response.object, keep_unknowns=True)),
            replacement_trigger=_normalise(json_format.MessageToDict(request.replacement_trigger))
            if request.HasField("replacement_trigger")
            else None,
        )
        return response
