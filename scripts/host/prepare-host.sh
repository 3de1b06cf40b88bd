#!/usr/bin/env bash
# Host preparation for media-server: create the directory tree with the
# owner and mode each entry asks for. Idempotent: a second run changes
# nothing and reports "0 changed".
#
# Input (stdin): one record per line, tab-separated: MODE UID GID PATH
# Options:
#   --root DIR   prefix every PATH with DIR (tests prepare a scratch root)
#   --dry-run    print what would change, change nothing
set -euo pipefail

root=""
dry_run=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    --root) root="${2:?--root needs a directory}"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    *) echo "prepare-host: unknown argument: $1" >&2; exit 64 ;;
  esac
done

changed=0
checked=0
run() {
  if [ "$dry_run" -eq 1 ]; then
    echo "would: $*"
  else
    "$@"
  fi
}

while IFS=$'\t' read -r mode uid gid path; do
  [ -z "${path:-}" ] && continue
  case "$mode" in
    [0-7][0-7][0-7] | [0-7][0-7][0-7][0-7]) ;;
    *) echo "prepare-host: bad mode '$mode' for $path" >&2; exit 65 ;;
  esac
  case "$path" in
    /*) ;;
    *) echo "prepare-host: path must be absolute: $path" >&2; exit 65 ;;
  esac
  case "$path" in
    *..*) echo "prepare-host: path must not contain '..': $path" >&2; exit 65 ;;
  esac
  target="${root}${path}"
  checked=$((checked + 1))
  if [ -L "$target" ]; then
    echo "prepare-host: refusing symlink at $target" >&2
    exit 66
  fi
  if [ ! -d "$target" ]; then
    if [ -e "$target" ]; then
      echo "prepare-host: $target exists and is not a directory" >&2
      exit 66
    fi
    run mkdir -p -- "$target"
    changed=$((changed + 1))
  fi
  if [ "$dry_run" -eq 1 ] && [ ! -d "$target" ]; then
    continue
  fi
  current_owner="$(stat -c '%u:%g' -- "$target")"
  if [ "$current_owner" != "${uid}:${gid}" ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "prepare-host: $target is owned by $current_owner, wants ${uid}:${gid}; run as root (host.useSudo)" >&2
      exit 77
    fi
    run chown -- "${uid}:${gid}" "$target"
    changed=$((changed + 1))
  fi
  current_mode="$(stat -c '%a' -- "$target")"
  if [ "$((8#$current_mode))" -ne "$((8#$mode))" ]; then
    run chmod -- "$mode" "$target"
    changed=$((changed + 1))
  fi
done

echo "prepare-host: ${checked} directories checked, ${changed} changed"
