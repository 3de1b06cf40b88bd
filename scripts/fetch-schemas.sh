#!/usr/bin/env bash
# The published JSON schemas the tests need (scripts/schemas.tsv: name, sha256, pinned URL).
# Uses ../shared/schemas when every file there matches; otherwise downloads each into .schemas/ and
# checks its sha256. When a schema can be had neither way, it stops with one message saying which
# and how to provide them. Idempotent; needs no root.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
shared="${MEDIA_SERVER_SCHEMAS:-$repo/../shared/schemas}"
local_dir="${MEDIA_SERVER_SCHEMA_CACHE:-$repo/.schemas}"
list="${MEDIA_SERVER_SCHEMA_LIST:-$repo/scripts/schemas.tsv}"

matches() { # FILE SHA256
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

missing=()
while IFS=$'\t' read -r name sha url; do
  case "$name" in '' | '#'*) continue ;; esac
  if matches "$shared/$name" "$sha" || matches "$local_dir/$name" "$sha"; then
    continue
  fi
  mkdir -p "$local_dir"
  partial="$local_dir/.$name.part"
  if wget -q --timeout=15 --tries=2 -O "$partial" "$url" 2>/dev/null && matches "$partial" "$sha"; then
    mv "$partial" "$local_dir/$name"
    echo "fetch-schemas: $name downloaded and checked (sha256 $sha)"
  else
    rm -f "$partial"
    missing+=("$name")
  fi
done <"$list"

if [ "${#missing[@]}" -gt 0 ]; then
  echo "fetch-schemas: missing ${missing[*]}: neither in $shared nor downloadable with a matching sha256." \
    "Provide them: put the files of scripts/schemas.tsv in ../shared/schemas (or set MEDIA_SERVER_SCHEMAS to" \
    "a directory holding them), or run \`make setup-system\` where raw.githubusercontent.com is reachable." >&2
  exit 1
fi
