#!/bin/sh
# Backup runner entrypoint (Alpine, POSIX sh): install the tools named in the arguments from the
# release's signed package repository, then hand over to start.sh (bash).
set -eu

if [ "$#" -gt 0 ]; then
  echo "backup runner: installing $*" >&2
  if ! apk add --no-cache "$@"; then
    echo "backup runner: package installation failed; backups cannot run" >&2
    exit 1
  fi
fi
exec bash /opt/backup/bin/start.sh
