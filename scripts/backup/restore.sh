#!/usr/bin/env bash
# restore.sh: restore from the backups, by app, database, set or everything.
#
#   restore.sh --service APP   [options]   the app's config and metadata, with its SQLite databases
#                                           put back from their consistent copies
#   restore.sh --database APP  [options]   the app's database dumps (--load: into its PostgreSQL server)
#   restore.sh --set SET       [options]   one whole set
#   restore.sh --all           [options]   every set (a fresh host)
# options:
#   --target DIR        where files land, under their host paths (default: <staging>/restore)
#   --repository NAME   local (default) or an off-site repository's name
#   --snapshot ID       a snapshot instead of the latest of each set
#   --load              pg_restore the app's PostgreSQL dumps into their server (in one transaction)
#
# Files land at DIR/<host path>, e.g. DIR/opt/mediaserver/sonarr; with --target / on a new host
# they land in place. Nothing else is written.
set -Euo pipefail
JOB=restore
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
  sed -n '2,17p' "$0" >&2
  exit 2
}

MODE="" NAME="" TARGET="" REPOSITORY=local SNAPSHOT="" LOAD=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    --service | --database | --set)
      MODE=${1#--}
      NAME=${2:-}
      shift
      ;;
    --all) MODE=all ;;
    --target) TARGET=${2:-} && shift ;;
    --repository) REPOSITORY=${2:-} && shift ;;
    --snapshot) SNAPSHOT=${2:-} && shift ;;
    --load) LOAD=1 ;;
    *) usage ;;
  esac
  shift
done
[ -n "$MODE" ] || usage
[ "$MODE" = all ] || [ -n "$NAME" ] || usage
require_tools restic jq
TARGET=${TARGET:-$(site '.stagingDir')/restore}
mkdir -p -- "$TARGET"
TARGET=$(cd "$TARGET" && pwd)

# restore_set SET [PATH...]: restore the set's snapshot (only PATHs, if given) and map it to host paths.
restore_set() {
  local set=$1 work root host snapshot
  shift
  repo_args "$REPOSITORY" "$set"
  snapshot=${SNAPSHOT:-latest}
  work=$(scratch_dir "restore-work-$set")
  local includes=()
  for root in "$@"; do includes+=(--include "$root"); done
  log "restoring $set from snapshot $snapshot ($REPOSITORY)${1:+: $*}"
  restic "${REPO_ARGS[@]}" restore "$snapshot" --tag "set=$set" --target "$work" --verify "${includes[@]}" >&2 ||
    die "restic restore of $set from $REPOSITORY failed"
  while IFS= read -r root; do
    [ -e "$work$root" ] || continue
    host=$(host_path "$root")
    mkdir -p -- "$TARGET$host"
    cp -a -- "$work$root/." "$TARGET$host/"
    log "restored $root -> $TARGET$host"
  done < <(jq -r '.roots | keys[]' "$SITE_JSON")
  remove_scratch "$work"
}

# put_back_sqlite APP: each SQLite copy restored into the staging tree goes to its database's path.
put_back_sqlite() {
  local manifest service source file copy dest
  manifest=$(set_manifest databases)
  while IFS=$'\t' read -r service source file; do
    copy="$TARGET$(host_path "$(jq -r '.paths[0]' "$manifest")/$file")"
    dest="$TARGET$(host_path "$source")"
    if [ -f "$copy" ]; then
      mkdir -p -- "$(dirname "$dest")"
      cp -a -- "$copy" "$dest"
      rm -f -- "$dest-wal" "$dest-shm" "$dest-journal"
      log "$service: SQLite database restored to $dest"
    fi
  done < <(jq -r --arg a "$1" '.sqlite[] | select(.service == $a) | [.service, .source, .file] | @tsv' "$manifest")
}

# load_postgres APP: pg_restore the app's dumps into their servers, replacing what is there.
load_postgres() {
  local manifest server host port user env db file dump password exists
  manifest=$(set_manifest databases)
  require_tools pg_restore psql
  while IFS=$'\t' read -r server host port user env db file; do
    dump="$TARGET$(host_path "$(jq -r '.paths[0]' "$manifest")/$file")"
    [ -f "$dump" ] || die "dump $dump was not restored"
    password=${!env:-}
    [ -n "$password" ] || die "no password for server $server (environment $env)"
    exists=$(PGPASSWORD=$password psql --host "$host" --port "$port" --username "$user" --no-password \
      --dbname postgres --tuples-only --no-align \
      --command "SELECT 1 FROM pg_database WHERE datname = '$db'") || die "cannot connect to $server"
    if [ "$exists" = 1 ]; then
      PGPASSWORD=$password pg_restore --host "$host" --port "$port" --username "$user" --no-password \
        --dbname "$db" --clean --if-exists --single-transaction --exit-on-error "$dump" ||
        die "pg_restore of $db into $server failed; the database is unchanged"
    else
      PGPASSWORD=$password pg_restore --host "$host" --port "$port" --username "$user" --no-password \
        --dbname postgres --create --exit-on-error "$dump" || die "pg_restore --create of $db on $server failed"
    fi
    log "database $db loaded into $server"
  done < <(jq -r --arg a "$1" '.postgres[] | select(.service == $a)
             | [.server, .host, .port, .user, .passwordEnv, .database, .file] | @tsv' "$manifest")
}

case "$MODE" in
  service)
    found=0
    for set in config metadata originals; do
      [ -f "$BACKUP_CONF_DIR/sets/$set.json" ] || continue
      mapfile -t paths < <(jq -r --arg a "$NAME" '.services[$a] // [] | .[]' "$(set_manifest "$set")")
      [ "${#paths[@]}" -gt 0 ] || continue
      restore_set "$set" "${paths[@]}"
      found=1
    done
    if [ -f "$BACKUP_CONF_DIR/sets/databases.json" ] &&
      jq -e --arg a "$NAME" '.sqlite | any(.service == $a)' "$(set_manifest databases)" >/dev/null; then
      mapfile -t paths < <(jq -r --arg a "$NAME" '.services[$a] // [] | .[]' "$(set_manifest databases)")
      restore_set databases "${paths[@]}"
      put_back_sqlite "$NAME"
      found=1
    fi
    [ "$found" = 1 ] || die "no backed-up paths for app $NAME"
    ;;
  database)
    mapfile -t paths < <(jq -r --arg a "$NAME" '.services[$a] // [] | .[]' "$(set_manifest databases)")
    [ "${#paths[@]}" -gt 0 ] || die "app $NAME has no database in the backups"
    restore_set databases "${paths[@]}"
    put_back_sqlite "$NAME"
    if [ "$LOAD" = 1 ]; then
      load_postgres "$NAME"
    fi
    ;;
  set)
    restore_set "$NAME"
    ;;
  all)
    for set in $(site '.sets[]'); do
      restore_set "$set"
    done
    log "PostgreSQL dumps are under $TARGET$(host_path "$(site '.stagingDir')")/databases/postgres;" \
      "load each app's with: restore.sh --database APP --load --target $TARGET"
    ;;
esac
log "restore finished: $TARGET"
