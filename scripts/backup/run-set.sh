#!/usr/bin/env bash
# run-set.sh SET: back up one set into the local repository, apply its retention, copy the new
# snapshot to every off-site repository that keeps the set, and write textfile metrics.
#
# The databases set first dumps every PostgreSQL database with pg_dump (globals with pg_dumpall)
# and copies every SQLite database with SQLite's online backup API into the staging area; live
# database files are never read directly. Sources are only read. Any failure: exit 1 and
# media_server_backup_success 0 for the repositories concerned; retention is then not applied,
# so existing snapshots stay as they are.
set -Euo pipefail
SET=${1:?usage: run-set.sh SET}
JOB="$SET"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

require_tools restic jq flock
MANIFEST=$(set_manifest "$SET")
HOST=$(site '.host')
METRICS_FILE="$(site '.metricsDir')/media_server_backup_${SET}.prom"
mapfile -t REPOSITORIES < <(set_repositories "$SET")
declare -A RESULT=() ADDED=() SNAPSHOTS=() DURATION=()
RUN_STARTED=$(date +%s)
METRICS_WRITTEN=0

write_metrics() {
  local now repo last metric
  now=$(date +%s)
  {
    metric_help media_server_backup_success "1 if the last run of the set succeeded for the repository, else 0."
    for repo in "${REPOSITORIES[@]}"; do
      printf 'media_server_backup_success{set="%s",repository="%s"} %s\n' "$SET" "$repo" "${RESULT[$repo]:-0}"
    done
    metric_help media_server_backup_last_run_timestamp_seconds "Unix time the last run of the set started."
    for repo in "${REPOSITORIES[@]}"; do
      printf 'media_server_backup_last_run_timestamp_seconds{set="%s",repository="%s"} %s\n' \
        "$SET" "$repo" "$RUN_STARTED"
    done
    metric_help media_server_backup_last_success_timestamp_seconds \
      "Unix time the last successful run of the set finished (0: never)."
    for repo in "${REPOSITORIES[@]}"; do
      if [ "${RESULT[$repo]:-0}" = 1 ]; then
        last=$now
      else
        last=$(previous_value "$METRICS_FILE" media_server_backup_last_success_timestamp_seconds "$SET" "$repo")
      fi
      printf 'media_server_backup_last_success_timestamp_seconds{set="%s",repository="%s"} %s\n' "$SET" "$repo" "$last"
    done
    metric_help media_server_backup_duration_seconds "Seconds the last run took for the repository."
    for repo in "${REPOSITORIES[@]}"; do
      printf 'media_server_backup_duration_seconds{set="%s",repository="%s"} %s\n' \
        "$SET" "$repo" "${DURATION[$repo]:-$((now - RUN_STARTED))}"
    done
    metric_help media_server_backup_bytes_added "Bytes the last run added to the repository (after deduplication)."
    for repo in "${REPOSITORIES[@]}"; do
      printf 'media_server_backup_bytes_added{set="%s",repository="%s"} %s\n' "$SET" "$repo" "${ADDED[$repo]:-0}"
    done
    metric_help media_server_backup_snapshots "Snapshots of the set in the repository after the last run."
    for repo in "${REPOSITORIES[@]}"; do
      metric=${SNAPSHOTS[$repo]:-$(previous_value "$METRICS_FILE" media_server_backup_snapshots "$SET" "$repo")}
      printf 'media_server_backup_snapshots{set="%s",repository="%s"} %s\n' "$SET" "$repo" "$metric"
    done
  } | write_atomic "$METRICS_FILE"
  METRICS_WRITTEN=1
}

# Whatever ends the run (an unexpected error included), the metrics say how it went.
# shellcheck disable=SC2317  # invoked by the EXIT trap
on_exit() {
  local rc=$?
  if [ "$METRICS_WRITTEN" = 0 ]; then
    write_metrics || log "could not write $METRICS_FILE"
  fi
  if [ "$rc" -ne 0 ]; then
    log "set $SET FAILED (exit $rc)"
  fi
}
trap on_exit EXIT

# ------------------------------------------------------------------ database dumps
# pg_dumpall --globals-only: roles and their password hashes, which per-database dumps lack.
dump_globals() {
  local out=$1 failed=0 server host port user env file password
  while IFS=$'\t' read -r server host port user env file; do
    password=${!env:-}
    mkdir -p "$(dirname "$out/$file")"
    if [ -z "$password" ]; then
      log "no password for server $server (environment $env); cannot dump its roles"
      failed=1
    elif PGPASSWORD=$password pg_dumpall --host "$host" --port "$port" --username "$user" --no-password \
      --globals-only --file "$out/$file.partial"; then
      mv -f "$out/$file.partial" "$out/$file"
      log "dumped the roles of $server"
    else
      log "pg_dumpall --globals-only on $server failed"
      failed=1
    fi
  done < <(jq -r '.postgresGlobals[] | [.server, .host, .port, .user, .passwordEnv, .file] | @tsv' "$MANIFEST")
  return "$failed"
}

dump_postgres() {
  local out=$1 failed=0 server host port user env db file password
  while IFS=$'\t' read -r server host port user env db file; do
    password=${!env:-}
    mkdir -p "$(dirname "$out/$file")"
    if [ -z "$password" ]; then
      log "no password for server $server (environment $env); cannot dump $db"
      failed=1
      continue
    fi
    # Custom format without compression: pg_restore can pick objects, restic deduplicates and compresses.
    if ! PGPASSWORD=$password pg_dump --host "$host" --port "$port" --username "$user" --no-password \
      --format custom --compress 0 --file "$out/$file.partial" "$db"; then
      log "pg_dump of $db on $server failed"
      failed=1
      continue
    fi
    if ! pg_restore --list "$out/$file.partial" >/dev/null; then
      log "the dump of $db on $server is unreadable"
      failed=1
      continue
    fi
    mv -f "$out/$file.partial" "$out/$file"
    log "dumped $db on $server ($(stat -c %s "$out/$file") bytes)"
  done < <(jq -r '.postgres[] | [.server, .host, .port, .user, .passwordEnv, .database, .file] | @tsv' "$MANIFEST")
  return "$failed"
}

copy_sqlite() {
  local out=$1 failed=0 service source file check
  while IFS=$'\t' read -r service source file; do
    if [ ! -f "$source" ]; then
      log "$service: SQLite database $source does not exist yet; nothing to copy"
      continue
    fi
    mkdir -p "$(dirname "$out/$file")"
    # SQLite's online backup API, inside one read transaction: the copy is the database as of BEGIN
    # while the app keeps writing. Without the held transaction a busy writer restarts the copy over
    # and over, and through the runner's read-only mount that ends in "attempt to write a readonly
    # database".
    if ! sqlite3 -bail "file:$source?mode=ro" ".timeout 60000" "BEGIN; SELECT count(*) FROM sqlite_master;" \
      ".backup '$out/$file.partial'" "COMMIT;" >/dev/null; then
      log "$service: online backup of $source failed"
      failed=1
      continue
    fi
    check=$(sqlite3 "$out/$file.partial" "PRAGMA integrity_check;" 2>&1 | head -n 1)
    if [ "$check" != "ok" ]; then
      log "$service: copy of $source fails integrity_check: $check"
      failed=1
      continue
    fi
    mv -f "$out/$file.partial" "$out/$file"
    log "$service: copied $source ($(stat -c %s "$out/$file") bytes)"
  done < <(jq -r '.sqlite[] | [.service, .source, .file] | @tsv' "$MANIFEST")
  return "$failed"
}

# Dumps are made in a fresh directory and swapped in whole, so a snapshot never mixes runs.
dump_databases() {
  local root new rc=0
  root=$(jq -r '.paths[0]' "$MANIFEST")
  new=$(scratch_dir "$(basename "$root").new")
  if jq -e '.postgres | length > 0' "$MANIFEST" >/dev/null; then
    require_tools pg_dump pg_dumpall pg_restore
    dump_globals "$new" || rc=1
    dump_postgres "$new" || rc=1
  fi
  if jq -e '.sqlite | length > 0' "$MANIFEST" >/dev/null; then
    require_tools sqlite3
    copy_sqlite "$new" || rc=1
  fi
  if [ -d "$root" ]; then
    remove_scratch "$root"
  fi
  mv -- "$new" "$root"
  return "$rc"
}

# ------------------------------------------------------------------ backup, retention, copies
backup_local() {
  local work list excludes out rc summary path
  work=$(scratch_dir "run-$SET")
  list="$work/files"
  excludes="$work/excludes"
  out="$work/restic.json"
  : >"$list"
  while IFS= read -r path; do
    if [ -e "$path" ]; then
      printf '%s\n' "$path" >>"$list"
    else
      log "WARNING: $path does not exist; skipped"
    fi
  done < <(jq -r '.paths[]' "$MANIFEST")
  jq -r '.exclude[]' "$MANIFEST" >"$excludes"
  if [ ! -s "$list" ]; then
    log "none of the set's paths exist"
    return 1
  fi
  repo_args local "$SET"
  restic "${REPO_ARGS[@]}" backup --json --host "$HOST" --tag "set=$SET" \
    --files-from-verbatim "$list" --exclude-file "$excludes" >"$out"
  rc=$?
  summary=$(jq -c 'select(.message_type == "summary")' "$out" 2>/dev/null | tail -n 1)
  if [ -n "$summary" ]; then
    ADDED[local]=$(jq -r '.data_added // 0' <<<"$summary")
    NEW_SNAPSHOT=$(jq -r '.snapshot_id // empty' <<<"$summary")
    log "snapshot ${NEW_SNAPSHOT:-?}: $(jq -r '"\(.files_new) new, \(.files_changed) changed, \(.data_added) bytes added"' <<<"$summary")"
  fi
  remove_scratch "$work"
  if [ "$rc" -eq 3 ]; then
    log "restic could not read some files; the snapshot is incomplete"
  fi
  return "$rc"
}

copy_offsite() {
  local repo=$1 local_url
  local_url=$(jq -r '.repositories[] | select(.name == "local") | .url' "$SITE_JSON")
  repo_args "$repo" "$SET"
  RESTIC_FROM_PASSWORD="${RESTIC_FROM_PASSWORD:-${RESTIC_PASSWORD:-}}" \
    restic "${REPO_ARGS[@]}" copy --from-repo "$local_url/$SET" "$NEW_SNAPSHOT"
}

take_lock "$SET" 600
log "starting set $SET"
NEW_SNAPSHOT=""
dumps_ok=1
if [ "$SET" = databases ]; then
  dump_databases || dumps_ok=0
fi

status=0
started=$(date +%s)
if backup_local; then
  if [ "$dumps_ok" = 1 ]; then
    if apply_retention "$SET" local; then
      RESULT[local]=1
      SNAPSHOTS[local]=$KEPT
    else
      log "retention failed in the local repository"
      status=1
    fi
  else
    # The dumps that worked are kept, but this run is a failure and nothing is forgotten.
    log "some databases could not be dumped; snapshot kept, retention skipped"
    status=1
  fi
else
  log "backup to the local repository failed"
  status=1
fi
DURATION[local]=$(($(date +%s) - started))
if [ -z "${SNAPSHOTS[local]:-}" ]; then
  SNAPSHOTS[local]=$(snapshot_count "$SET" local) || unset 'SNAPSHOTS[local]'
fi

for repo in "${REPOSITORIES[@]}"; do
  [ "$repo" = local ] && continue
  started=$(date +%s)
  if [ -z "$NEW_SNAPSHOT" ]; then
    log "no new snapshot to copy to $repo"
    status=1
  elif copy_offsite "$repo" && [ "$dumps_ok" = 1 ] && apply_retention "$SET" "$repo"; then
    RESULT[$repo]=1
    ADDED[$repo]=${ADDED[local]:-0}
    SNAPSHOTS[$repo]=$KEPT
  else
    log "copy to $repo failed"
    status=1
  fi
  DURATION[$repo]=$(($(date +%s) - started))
  if [ -z "${SNAPSHOTS[$repo]:-}" ]; then
    SNAPSHOTS[$repo]=$(snapshot_count "$SET" "$repo") || unset "SNAPSHOTS[$repo]"
  fi
done

write_metrics
if [ "$status" -eq 0 ]; then
  log "set $SET done"
fi
exit "$status"
