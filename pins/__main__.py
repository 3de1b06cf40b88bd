"""`make pin`, `make outdated`, `make upgrade`: image digests and releases, from the registries.

    python -m pins pin       [--stack NAME | --stack-file PATH]...   every enabled image's tag -> its digest
    python -m pins outdated  [--stack NAME | --stack-file PATH]...   newer releases of each pinned tag
    python -m pins upgrade --app APP [--tag TAG] [--stack ...]       move one app's pin, print the offline diff

Without a stack, every Pulumi.<stack>.yaml at the project root. The lock (config/images.lock.json, or
--lock) is replaced only when every image resolved: an unreachable registry or a missing tag leaves it as
it was. Exit 0 on success, 1 when a registry could not answer (each error printed), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from config.catalog import CATALOG
from config.lock import LOCK_ENV, ImageLock, LockError, Pin, lock_path, read_lock, write_lock
from config.problems import SettingsError
from config.settings import Settings
from config.stack import load_stack_file, settings_of
from pins.registry import Registries, RegistryError
from pins.versions import newer

ROOT = Path(__file__).resolve().parent.parent
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_REGISTRY = re.compile(r"(?P<host>[a-z0-9.-]+(?::[0-9]{1,5})?)=(?P<url>https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/?)")


class UsageError(Exception):
    pass


@dataclass(frozen=True)
class Wanted:
    """One app's image in one stack: the base the lock pins, and the reference the stack pulls."""

    app: str
    repository: str
    base_tag: str
    final_tag: str
    site_tag: bool
    """services.<app>.imageTag set by the site: its digest goes to variants, the app's pin stays."""


def _stack_files(names: list[str], files: list[Path]) -> list[Path]:
    chosen = [ROOT / f"Pulumi.{n}.yaml" for n in names] + [f.resolve() for f in files]
    if not chosen:
        chosen = sorted(p for p in ROOT.glob("Pulumi.*.yaml"))
    for path in chosen:
        if not path.is_file():
            raise UsageError(f"no stack file at {path}")
    return chosen


@contextmanager
def _lock_env(path: Path) -> Iterator[None]:
    """Settings read the lock named here, so a stack's images are the ones this lock moves."""
    before = os.environ.get(LOCK_ENV)
    os.environ[LOCK_ENV] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(LOCK_ENV, None)
        else:
            os.environ[LOCK_ENV] = before


def _settings(stack_file: Path) -> Settings:
    beside = stack_file.parent / "Pulumi.yaml"
    return settings_of(load_stack_file(stack_file, beside if beside.is_file() else ROOT / "Pulumi.yaml"))


def wanted(stack_files: list[Path], lock: Path) -> list[Wanted]:
    found: dict[tuple[str, str, str], Wanted] = {}
    with _lock_env(lock):
        for stack_file in stack_files:
            settings = _settings(stack_file)
            for spec in settings.enabled_services():
                if spec.image.build:
                    continue  # built on the host from a Dockerfile that pins its base
                base = settings.base_image(spec.name)
                override = settings.services.get(spec.name)
                item = Wanted(
                    spec.name,
                    spec.image.repository,
                    base.tag,
                    spec.image.tag,
                    bool(override and override.image_tag),
                )
                found[(item.app, item.base_tag, item.final_tag)] = item
    return sorted(found.values(), key=lambda w: (w.app, w.final_tag))


class Resolver:
    def __init__(self, registries: Registries) -> None:
        self.registries = registries
        self.seen: dict[str, str] = {}
        self.errors: list[str] = []

    def __call__(self, repository: str, tag: str) -> str | None:
        reference = f"{repository}:{tag}"
        if reference not in self.seen:
            try:
                self.seen[reference] = self.registries.digest(repository, tag)
            except RegistryError as exc:
                self.errors.append(str(exc))
                return None
        return self.seen[reference]


def pin(items: list[Wanted], lock: ImageLock, resolve: Resolver) -> ImageLock:
    images, variants = dict(lock.images), dict(lock.variants)
    for item in items:
        if not item.site_tag:
            digest = resolve(item.repository, item.base_tag)
            if digest is not None:
                images[item.app] = Pin(item.repository, item.base_tag, digest)
        if item.site_tag or item.final_tag != item.base_tag:
            digest = resolve(item.repository, item.final_tag)
            if digest is not None:
                variants[f"{item.repository}:{item.final_tag}"] = digest
    return ImageLock(images=images, variants=variants)


def _fail(errors: list[str], path: Path) -> int:
    for error in errors:
        print(f"pin: {error}", file=sys.stderr)
    print(f"pin: {len(errors)} image(s) not resolved; {path} left as it was", file=sys.stderr)
    return 1


def cmd_pin(stack_files: list[Path], path: Path, registries: Registries) -> int:
    old = read_lock(path)
    resolve = Resolver(registries)
    new = pin(wanted(stack_files, path), old, resolve)
    if resolve.errors:
        return _fail(resolve.errors, path)
    for app, p in sorted(new.images.items()):
        was = old.images.get(app)
        note = "" if was == p else (" (new)" if was is None else f" (was {was.tag}@{was.digest[:19]}...)")
        print(f"{app:26} {p.reference}@{p.digest}{note}")
    for reference, digest in sorted(new.variants.items()):
        print(f"{'(variant)':26} {reference}@{digest}")
    write_lock(new, path)
    print(f"pinned {len(new.images)} app(s), {len(new.variants)} variant(s) in {path}")
    return 0


def cmd_outdated(stack_files: list[Path], path: Path, registries: Registries) -> int:
    errors: list[str] = []
    seen: set[str] = set()
    for item in wanted(stack_files, path):
        if item.app in seen:
            continue
        seen.add(item.app)
        try:
            releases = newer(item.base_tag, registries.tags(item.repository))
        except RegistryError as exc:
            errors.append(str(exc))
            continue
        shown = ", ".join(releases[-5:]) if releases else "up to date"
        more = f" (+{len(releases) - 5} older)" if len(releases) > 5 else ""
        print(f"{item.app:26} {item.repository}:{item.base_tag:24} {shown}{more}")
    for error in errors:
        print(f"outdated: {error}", file=sys.stderr)
    return 1 if errors else 0


def cmd_upgrade(app: str, tag: str | None, stack_files: list[Path], path: Path, registries: Registries) -> int:
    if app not in CATALOG or CATALOG[app].image.build:
        raise UsageError(f"APP={app!r} is not a catalog app pulled from a registry")
    if tag is not None and not _TAG.fullmatch(tag):
        raise UsageError(f"TAG={tag!r} is not an image tag (letters, digits, '_', '.', '-'; at most 128)")
    mine = [w for w in wanted(stack_files, path) if w.app == app]
    if not mine:
        raise UsageError(f"{app} is not enabled in any of {', '.join(p.name for p in stack_files)}")
    current = mine[0]
    try:
        if tag is None:
            releases = newer(current.base_tag, registries.tags(current.repository))
            if not releases:
                print(f"upgrade: {app} {current.repository}:{current.base_tag} is the newest release")
                return 0
            tag = releases[-1]
        digest = registries.digest(current.repository, tag)
    except RegistryError as exc:
        return _fail([str(exc)], path)
    old = read_lock(path)
    moved = ImageLock(images={**old.images, app: Pin(current.repository, tag, digest)}, variants=dict(old.variants))
    with tempfile.TemporaryDirectory(prefix="media-server-upgrade-") as scratch:
        before, after = Path(scratch) / "before.json", Path(scratch) / "after.json"
        if path.is_file():
            shutil.copyfile(path, before)
        write_lock(moved, after)
        resolve = Resolver(registries)
        new = pin([w for w in wanted(stack_files, after) if w.app == app], moved, resolve)
        if resolve.errors:
            return _fail(resolve.errors, path)
        write_lock(new, after)
        print(f"{app}: {current.repository}:{current.base_tag} -> {tag}@{digest}")
        _print_diffs(stack_files, app, before, after)
        write_lock(new, path)
    print(f"upgraded {app} in {path}")
    return 0


def _print_diffs(stack_files: list[Path], app: str, before: Path, after: Path) -> None:
    """The offline diff the move causes, per stack that deploys the app (renders as `make diff` does)."""
    from offline.diff import compare, format_diff, render  # the renders run the program: only when asked

    for stack_file in stack_files:
        with _lock_env(before):
            old = render(ROOT, None, stack_file)
        with _lock_env(after):
            new = render(ROOT, None, stack_file)
        print(format_diff(compare(old, new), f"{stack_file.name}: upgrading {app}"), end="")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pins", description=__doc__)
    parser.add_argument("command", choices=("pin", "outdated", "upgrade"))
    parser.add_argument("--stack", action="append", default=[], help="stack name (repeatable)")
    parser.add_argument("--stack-file", action="append", type=Path, default=[], help="stack file (repeatable)")
    parser.add_argument("--lock", type=Path, help="lock file (default config/images.lock.json)")
    parser.add_argument("--app", help="upgrade: the catalog app to move")
    parser.add_argument("--tag", help="upgrade: the tag to move to (default: the newest release)")
    parser.add_argument(
        "--registry", action="append", default=[], help="HOST=URL: reach a registry at another base URL"
    )
    args = parser.parse_args(argv)
    path = (args.lock or lock_path()).resolve()
    try:
        bases = {}
        for item in args.registry:
            match = _REGISTRY.fullmatch(item)
            if match is None:
                raise UsageError(f"--registry {item!r}: expected HOST=http(s)://host[:port]")
            bases[match["host"]] = match["url"]
        registries = Registries(bases=bases)
        stack_files = _stack_files(args.stack, args.stack_file)
        read_lock(path)  # a damaged lock stops here, before any registry is asked
        if args.command == "pin":
            return cmd_pin(stack_files, path, registries)
        if args.command == "outdated":
            return cmd_outdated(stack_files, path, registries)
        if not args.app:
            raise UsageError("upgrade needs APP=<catalog app>")
        return cmd_upgrade(args.app, args.tag, stack_files, path, registries)
    except (UsageError, LockError) as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 2
    except SettingsError as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
