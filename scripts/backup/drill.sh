#!/usr/bin/env bash
# drill.sh [SET...]: the restore drill. For each set, restore a random sample of files from the
# latest local snapshot into a scratch directory (restic --verify), then compare each restored
# file's SHA-256 with its source when the source is unchanged since the snapshot (same size and
# mtime). Restored PostgreSQL dumps must list with pg_restore, SQLite copies must pass
# integrity_check. Writes media_server_backup_restore_drill_* metrics; exit 1 on any mismatch.
set -Euo pipefail
JOB=drill
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

require_tools restic jq flock sha256sum shuf
SAMPLE=$(site '.drill.sampleFiles')
METRICS_FILE="$(site '.metricsDir')/media_server_backup_restore_drill.prom"
declare -A JOB_RESULT=() JOB_DURATION=() JOB_FILES=()
if [ "$#" -gt 0 ]; then SETS=("$@"); else mapfile -t SETS < <(site '.sets[]'); fi

# verify_file RESTORED SOURCE: 0 same or source changed since (skipped), 1 mismatch.
verify_file() {
  local restored=$1 source=$2
  if [ ! -f "$restored" ]; then
    log "MISMATCH: $source was not restored"
    return 1
  fi
  case "$source" in
    *.dump)
      pg_restore --list "$restored" >/dev/null || { log "MISMATCH: restored dump $source is unreadable"; return 1; }
      ;;
  esac
  if [ -f "$source" ] && [ "$(stat -c '%s %Y' "$source")" = "$(stat -c '%s %Y' "$restored")" ]; then
    if [ "$(sha256sum <"$source")" != "$(sha256sum <"$restored")" ]; then
      log "MISMATCH: $source differs from its restored copy"
      return 1
    fi
    COMPARED=$((COMPARED + 1))
  fi
  return 0
}

drill_set() {
  local set=$1 scratch snapshot sample path failed=0
  repo_args local "$set"
  sample=$(scratch_dir "drill-$set.list")/files
  restic "${REPO_ARGS[@]}" ls --json latest --tag "set=$set" >"$sample.json" || {
    log "set $set has no snapshot to restore"
    remove_scratch "$(dirname "$sample")"
    return 1
  }
  snapshot=$(jq -r 'select(.struct_type == "snapshot") | .id' "$sample.json" | head -n 1)
  jq -r 'select(.type == "file") | .path' "$sample.json" | shuf -n "$SAMPLE" >"$sample"
  if [ ! -s "$sample" ]; then
    log "snapshot $snapshot of $set holds no files"
    remove_scratch "$(dirname "$sample")"
    return 1
  fi
  scratch=$(scratch_dir "drill-$set")
  local includes=()
  while IFS= read -r path; do includes+=(--include "$path"); done <"$sample"
  if ! restic "${REPO_ARGS[@]}" restore "$snapshot" --target "$scratch" --verify "${includes[@]}" >&2; then
    log "restore of the sample from $snapshot FAILED"
    failed=1
  fi
  while IFS= read -r path; do
    verify_file "$scratch$path" "$path" || failed=1
    if [[ "$path" == *.dump ]] || [[ "$path" != */sqlite/* ]]; then continue; fi
    if [ "$(sqlite3 "$scratch$path" 'PRAGMA integrity_check;' | head -n 1)" != ok ]; then
      log "MISMATCH: restored SQLite copy $path fails integrity_check"
      failed=1
    fi
  done <"$sample"
  log "set $set: $(wc -l <"$sample") files restored from $snapshot, $COMPARED compared with their source"
  remove_scratch "$scratch"
  remove_scratch "$(dirname "$sample")"
  return "$failed"
}

status=0
for set in "${SETS[@]}"; do
  take_lock "$set" 21600
  started=$(date +%s)
  COMPARED=0
  if drill_set "$set"; then
    JOB_RESULT["$set local"]=1
  else
    JOB_RESULT["$set local"]=0
    status=1
  fi
  JOB_FILES["$set local"]=$COMPARED
  JOB_DURATION["$set local"]=$(($(date +%s) - started))
done
write_job_metrics "$METRICS_FILE" media_server_backup_restore_drill "restore drill"
exit "$status"
