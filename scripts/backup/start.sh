#!/usr/bin/env bash
# Backup runner start: keep the environment for cron jobs, lay out secret files, create missing
# repositories, then run crond in the foreground as PID 1.
set -Eeuo pipefail
JOB=start
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

require_tools restic jq pg_dump pg_dumpall pg_restore sqlite3 flock crond

umask 077
mkdir -p /run/backup
# Off-site credentials that tools read from files arrive as secret environment: written to 0600 files,
# then left out of the environment the jobs get.
bash "$(dirname "$0")/offsite-secrets.sh" /run/backup
unset BACKUP_SFTP_PRIVATE_KEY BACKUP_RCLONE_CONFIG
# Cron starts jobs with an empty environment: jobs read this file through BASH_ENV.
export -p >/run/backup/env
if [ -f /run/backup/rclone.conf ]; then
  echo "export RCLONE_CONFIG=/run/backup/rclone.conf" >>/run/backup/env
fi
echo "export RESTIC_CACHE_DIR=$(site '.stagingDir')/cache" >>/run/backup/env
umask 022

mkdir -p /etc/crontabs
install -m 0600 "$BACKUP_CONF_DIR/crontab" /etc/crontabs/root

# A repository that cannot be reached now is reported by the first job that needs it.
bash "$(dirname "$0")/init-repositories.sh" || log "some repositories could not be initialised; see above"

log "schedule:"
grep -v '^#' /etc/crontabs/root >&2 || log "(paused: no jobs scheduled)"
# -d: log to stderr (docker logs) rather than syslog.
exec crond -f -d 8 -c /etc/crontabs
