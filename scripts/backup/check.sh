#!/usr/bin/env bash
# check.sh [SET...]: `restic check --read-data-subset` of every set in every repository that keeps it.
# Writes media_server_backup_check_* metrics; exit 1 if any check failed.
set -Euo pipefail
JOB=check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

require_tools restic jq flock
SUBSET=$(site '.check.readDataSubset')
METRICS_FILE="$(site '.metricsDir')/media_server_backup_check.prom"
declare -A JOB_RESULT=() JOB_DURATION=() JOB_FILES=()
if [ "$#" -gt 0 ]; then SETS=("$@"); else mapfile -t SETS < <(site '.sets[]'); fi

status=0
for set in "${SETS[@]}"; do
  # Waits for a running backup of the set: a check must not overlap its prune.
  take_lock "$set" 21600
  for repo in $(set_repositories "$set"); do
    started=$(date +%s)
    repo_args "$repo" "$set"
    if restic "${REPO_ARGS[@]}" check --read-data-subset="$SUBSET" >&2; then
      JOB_RESULT["$set $repo"]=1
    else
      log "check of $repo/$set FAILED"
      JOB_RESULT["$set $repo"]=0
      status=1
    fi
    JOB_DURATION["$set $repo"]=$(($(date +%s) - started))
  done
done
write_job_metrics "$METRICS_FILE" media_server_backup_check "repository check"
exit "$status"
