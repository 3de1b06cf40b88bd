#!/usr/bin/env bash
# Install the real tools the tests drive (Debian packages). Idempotent:
# does nothing when every tool is already on PATH.
set -euo pipefail

declare -A tools=(
  [promtool]=prometheus
  [amtool]=prometheus-alertmanager
  [prometheus-blackbox-exporter]=prometheus-blackbox-exporter
  [restic]=restic
  [pg_ctlcluster]=postgresql
  [sshd]=openssh-server
  [shellcheck]=shellcheck
  [sqlite3]=sqlite3
  [wget]=wget
  [openssl]=openssl
  [jq]=jq
  [calibredb]=calibre
  [dockerd]=docker.io
  [busybox]=busybox-static
  [docker-registry]=docker-registry
  [ip]=iproute2
  [unshare]=util-linux
  [chromium]=chromium
)

missing=()
for tool in "${!tools[@]}"; do
  if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
    missing+=("${tools[$tool]}")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-system: missing ${missing[*]}; run as root or install them: apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "setup-system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
