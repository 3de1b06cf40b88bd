"""One offline render of a checkout as JSON, for `make diff`: run as a script against any checkout.

    python offline/snapshot.py --root <checkout> (--stack NAME | --stack-file PATH)

It imports the program and the harness from --root (the base of a diff is an older tree, with its
own code), so it uses only what every checkout has: config.stack.load_stack_file,
offline.runner.run_program and offline.recorder.Secret. Secrets are replaced by markers that
carry a digest (to tell a changed secret from an unchanged one) and never the value; the checkout's
own path becomes "<checkout>", so two clones compare equal.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

SECRET = "__secret__"  # noqa: S105 - a marker's key, not a password
"""Key of the marker that stands for a secret: {"__secret__": "<digest>"}."""
CHECKOUT = "<checkout>"
GENERATORS = ("random:", "tls:")
"""Providers whose secret outputs are the secrets the program makes (blanked wherever they are copied)."""


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


class _Redactor:
    def __init__(self, secret_type: type, root: Path) -> None:
        self.secret_type = secret_type
        self.root = str(root)
        self.values: set[str] = set()

    def collect(self, value: Any, inside: bool = False) -> None:
        """Every string inside a secret, so that a copy of it in a plain string can be blanked too."""
        if isinstance(value, self.secret_type):
            self.collect(value.value, True)  # type: ignore[attr-defined]
        elif isinstance(value, str) and inside and len(value) >= 8:
            self.values.add(value)
        elif isinstance(value, dict):
            for item in value.values():
                self.collect(item, inside)
        elif isinstance(value, list):
            for item in value:
                self.collect(item, inside)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, self.secret_type):
            return {SECRET: _digest(self(value.value))}  # type: ignore[attr-defined]
        if isinstance(value, str):
            for secret in self.values:
                if secret in value:
                    value = value.replace(secret, "[secret]")
            return value.replace(self.root, CHECKOUT)
        if isinstance(value, dict):
            return {str(k): self(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return str(value)  # an unknown (preview) or another marker: its text


def _files(res: Any, secret_type: type) -> list[Any]:
    """A container's generated files, however delivered (its uploads, or written on the host)."""
    out: list[Any] = []
    for source in (res.inputs.get("uploads"), getattr(res, "host_files", None)):
        if isinstance(source, secret_type):
            out.append(source)  # every file at once, as it reached the engine
        elif source:
            out.extend(source)
    return out


def snapshot(root: Path, stack: str | None, stack_file: Path | None) -> dict[str, Any]:
    sys.path.insert(0, str(root))
    # Imported here, from the checkout given, not from the tree this file belongs to.
    from config.stack import load_stack_file
    from offline.recorder import Recorded, Secret
    from offline.runner import run_program

    path = stack_file if stack_file is not None else root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        return {"stackFile": str(path), "missing": True, "problems": [], "resources": []}
    config = load_stack_file(path, root / "Pulumi.yaml") if stack_file is None else load_stack_file(path)
    result = run_program(config, program=root / "__main__.py")
    redact = _Redactor(Secret, root)
    for secret in config.secret_keys:
        redact.collect(Secret(config.values.get(secret, "")))
    for res in result.resources:
        if res.type.startswith(GENERATORS):
            redact.collect(res.outputs)
    resources = []
    for res in result.resources:
        entry: dict[str, Any] = {
            "urn": res.urn,
            "type": res.type,
            "name": res.name,
            "inputs": redact(res.inputs),
        }
        trigger = getattr(res, "replacement_trigger", None)
        if trigger is not None:
            entry["replacementTrigger"] = redact(trigger)
        files = _files(res, Secret) if res.type == "docker:index/container:Container" else []
        if files:
            entry["files"] = redact(files)
        resources.append(entry)
    return {
        # Older harnesses did not record the option: a diff compares it only when both sides did.
        "recordsReplacementTrigger": "replacement_trigger" in getattr(Recorded, "__dataclass_fields__", {}),
        "stackFile": str(path),
        "problems": [str(p) for p in result.problems],
        "resources": resources,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="snapshot")
    parser.add_argument("--root", type=Path, required=True)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--stack")
    group.add_argument("--stack-file", type=Path)
    args = parser.parse_args(argv)
    # Run as a script, this file's directory is first on sys.path: the checkout's modules must win.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
    doc = snapshot(args.root.resolve(), args.stack, args.stack_file.resolve() if args.stack_file else None)
    json.dump(doc, sys.stdout, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
