#!/usr/bin/env bash
# Write the off-site credentials that tools read from files (restic's SFTP key, the rclone config) into
# 0600 files under DIR. They arrive as secret environment, not as uploads: one secret among the runner's
# uploads would make every upload secret, and unreadable in a preview's diff.
#
# Usage: offsite-secrets.sh DIR   (start.sh: /run/backup; the caller unsets the variables afterwards)
set -Eeuo pipefail
dir="${1:?usage: offsite-secrets.sh DIR}"
umask 077
mkdir -p "$dir"
if [ -n "${BACKUP_SFTP_PRIVATE_KEY:-}" ]; then
  printf '%s\n' "$BACKUP_SFTP_PRIVATE_KEY" >"$dir/sftp_key"
fi
if [ -n "${BACKUP_RCLONE_CONFIG:-}" ]; then
  printf '%s\n' "$BACKUP_RCLONE_CONFIG" >"$dir/rclone.conf"
fi
