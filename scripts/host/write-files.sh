#!/usr/bin/env bash
# Write generated configuration files into the host's bind-mounted directories.
#
# Containers with a read-only root filesystem cannot receive files through Docker (the
# provider copies uploads in through the root filesystem, which Docker then refuses), so
# the program writes their files here, on the host, into the directories those containers
# bind-mount. Owners and modes come from the archive.
#
# Input (stdin): a base64-encoded tar archive whose members are relative to the root
#                (e.g. opt/mediaserver/traefik/traefik.yml), directories before their files.
#                In each bind-mount root it writes to, a .media-server-files manifest lists the
#                files the program manages there: a file the previous manifest lists and the new
#                one does not is removed (only regular files, only under that mount root). Secret
#                files come in an archive of their own with a .media-server-secrets manifest.
# Options:
#   --root DIR   extract under DIR instead of / (tests write into a scratch root)
set -euo pipefail

root="/"
while [ "$#" -gt 0 ]; do
  case "$1" in
    --root) root="${2:?--root needs a directory}"; shift 2 ;;
    *) echo "write-files: unknown argument: $1" >&2; exit 64 ;;
  esac
done

archive="$(mktemp)"
trap 'rm -f "$archive"' EXIT
if ! base64 -d >"$archive"; then
  echo "write-files: stdin is not base64" >&2
  exit 65
fi

# Refuse anything that could escape the root: absolute names, '..', links.
while IFS= read -r line; do
  case "$line" in
    l* | h*) echo "write-files: refusing link member: $line" >&2; exit 65 ;;
  esac
done < <(tar -tvf "$archive")
while IFS= read -r name; do
  case "$name" in
    /* | ../* | */../* | *..) echo "write-files: refusing member outside the root: $name" >&2; exit 65 ;;
  esac
done < <(tar -tf "$archive")

# Files the program wrote last time and no longer writes: remove them before extracting.
removed=0
while IFS= read -r manifest; do
  old="${root%/}/${manifest}"
  [ -f "$old" ] || continue
  dir="$(dirname "$old")"
  new_list="$(tar -xOf "$archive" "$manifest")"
  while IFS= read -r relative; do
    [ -n "$relative" ] || continue
    case "$relative" in
      /* | ../* | */../* | *..) echo "write-files: ignoring unsafe manifest entry: $relative" >&2; continue ;;
    esac
    if ! grep -qxF -- "$relative" <<<"$new_list" && [ -f "$dir/$relative" ] && [ ! -L "$dir/$relative" ]; then
      rm -f -- "${dir:?}/$relative"
      removed=$((removed + 1))
    fi
  done <"$old"
done < <(tar -tf "$archive" | grep -E '(^|/)\.media-server-(files|secrets)$' || true)

if [ "$(id -u)" -eq 0 ]; then
  tar -x -f "$archive" -C "$root" --same-owner --same-permissions --no-overwrite-dir
else
  # Not root: owners cannot be set; the caller must already own the directories.
  tar -x -f "$archive" -C "$root" --no-same-owner --same-permissions --no-overwrite-dir
fi
echo "write-files: $(tar -tf "$archive" | grep -vc '/$') files written, ${removed} stale removed under $root"
