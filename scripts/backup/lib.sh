# shellcheck shell=bash
# Shared by the backup runner's jobs: configuration lookup, repositories, metrics.
#
# Configuration is JSON rendered by render/backup.py: $BACKUP_CONF_DIR/site.json (repositories,
# directories) and $BACKUP_CONF_DIR/sets/<set>.json (paths, excludes, databases, retention).
# Secrets come from the environment: RESTIC_PASSWORD, PGPASSWORD_<SERVER>, the off-site keys.
# Nothing here writes outside the repositories, the metrics directory and the staging directory.

BACKUP_CONF_DIR=${BACKUP_CONF_DIR:-/opt/backup}
SITE_JSON="$BACKUP_CONF_DIR/site.json"
export PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-15}

log() {
  printf '%s backup[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${JOB:-job}" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 1
}

require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "required tool $tool is not installed"
  done
}

site() {
  jq -r "$1" "$SITE_JSON"
}

set_manifest() {
  local file="$BACKUP_CONF_DIR/sets/$1.json"
  [ -f "$file" ] || die "no backup set named $1 (expected $file)"
  printf '%s\n' "$file"
}

# repo_args NAME SET: fills the REPO_ARGS array with the location and options of SET in repository NAME.
repo_args() {
  local name=$1 set=$2 url opt
  url=$(jq -r --arg n "$name" '.repositories[] | select(.name == $n) | .url' "$SITE_JSON")
  [ -n "$url" ] || die "unknown repository $name"
  REPO_ARGS=(--repo "$url/$set")
  while IFS= read -r opt; do
    [ -n "$opt" ] && REPO_ARGS+=(-o "$opt")
  done < <(jq -r --arg n "$name" '.repositories[] | select(.name == $n) | .options[]' "$SITE_JSON")
  return 0
}

# set_repositories SET: the repositories SET is kept in, local first.
set_repositories() {
  jq -r '.repositories[]' "$(set_manifest "$1")"
}

# scratch_dir NAME: a fresh directory under the staging area (never a live path).
scratch_dir() {
  local staging dir
  staging=$(site '.stagingDir')
  dir="$staging/$1"
  case "$dir" in
    "$staging"/?*) ;;
    *) die "refusing scratch path $dir outside $staging" ;;
  esac
  rm -rf -- "$dir"
  mkdir -p -- "$dir"
  printf '%s\n' "$dir"
}

# remove_scratch DIR: delete a directory made by scratch_dir (refuses anything else).
remove_scratch() {
  local staging
  staging=$(site '.stagingDir')
  case "$1" in
    "$staging"/?*) rm -rf -- "$1" ;;
    *) die "refusing to delete $1 outside $staging" ;;
  esac
}

# take_lock NAME [WAIT_SECONDS]: one job per set at a time (exit 75 when busy).
take_lock() {
  local dir
  dir="$(site '.stagingDir')/locks"
  mkdir -p -- "$dir"
  exec 9>"$dir/$1.lock"
  # A polling wait: busybox flock has no -w.
  local deadline=$(($(date +%s) + ${2:-0}))
  until flock -n 9; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "another job holds the $1 lock; not starting"
      exit 75
    fi
    sleep 5
  done
}

# previous_value FILE METRIC SET REPOSITORY: the sample in an earlier metrics file, 0 if none.
previous_value() {
  local file=$1 metric=$2 labels="{set=\"$3\",repository=\"$4\"}"
  if [ ! -f "$file" ]; then
    echo 0
    return
  fi
  awk -v key="$metric$labels" '$1 == key { value = $2; found = 1 } END { print (found ? value : 0) }' "$file"
}

# write_atomic DEST: stdin to DEST via a temporary file and rename (node-exporter never sees half a file).
write_atomic() {
  local dest=$1 tmp
  tmp=$(mktemp "$(dirname "$dest")/.tmp.XXXXXX")
  cat >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$dest"
}

metric_help() {
  printf '# HELP %s %s\n# TYPE %s gauge\n' "$1" "$2" "$1"
}

# retention_args SET: fills KEEP_ARGS from the set's retention settings.
retention_args() {
  local manifest period count
  manifest=$(set_manifest "$1")
  KEEP_ARGS=()
  for period in hourly daily weekly monthly yearly; do
    count=$(jq -r --arg p "$period" '.retention[$p]' "$manifest")
    if [ "$count" != "0" ]; then
      KEEP_ARGS+=("--keep-$period" "$count")
    fi
  done
  [ "${#KEEP_ARGS[@]}" -gt 0 ] || die "set $1 keeps no snapshot; refusing to forget everything"
}

# apply_retention SET REPOSITORY: forget --prune by the set's policy (only this set's snapshots).
# Sets KEPT to the number of the set's snapshots that remain.
apply_retention() {
  local set=$1 repo=$2 out
  repo_args "$repo" "$set"
  retention_args "$set"
  out=$(restic "${REPO_ARGS[@]}" forget --json --prune --group-by host,tags --tag "set=$set" "${KEEP_ARGS[@]}") ||
    return 1
  # shellcheck disable=SC2034  # read by the caller
  KEPT=$(jq -s '[.[0][]? | .keep | length] | add // 0' <<<"${out%%$'\n'*}")
}

# snapshot_count SET REPOSITORY
snapshot_count() {
  repo_args "$2" "$1"
  restic "${REPO_ARGS[@]}" snapshots --json --tag "set=$1" | jq 'length'
}

# host_path PATH: where a runner path lives on the Docker host (site.json roots).
host_path() {
  local path=$1 root
  while IFS= read -r root; do
    case "$path" in
      "$root" | "$root"/*)
        printf '%s%s\n' "$(jq -r --arg r "$root" '.roots[$r]' "$SITE_JSON")" "${path#"$root"}"
        return
        ;;
    esac
  done < <(jq -r '.roots | keys[]' "$SITE_JSON")
  printf '%s\n' "$path"
}

# write_job_metrics FILE PREFIX WHAT: metrics of a check or drill run from the global associative
# arrays JOB_RESULT, JOB_DURATION and JOB_FILES, keyed "SET REPOSITORY". The last success time of
# a pair that failed now is carried over from FILE.
write_job_metrics() {
  local file=$1 prefix=$2 what=$3 now key set repo last
  now=$(date +%s)
  {
    metric_help "${prefix}_success" "1 if the last $what of the set succeeded for the repository, else 0."
    for key in "${!JOB_RESULT[@]}"; do
      read -r set repo <<<"$key"
      printf '%s_success{set="%s",repository="%s"} %s\n' "$prefix" "$set" "$repo" "${JOB_RESULT[$key]}"
    done
    metric_help "${prefix}_last_success_timestamp_seconds" "Unix time of the last successful $what (0: never)."
    for key in "${!JOB_RESULT[@]}"; do
      read -r set repo <<<"$key"
      if [ "${JOB_RESULT[$key]}" = 1 ]; then
        last=$now
      else
        last=$(previous_value "$file" "${prefix}_last_success_timestamp_seconds" "$set" "$repo")
      fi
      printf '%s_last_success_timestamp_seconds{set="%s",repository="%s"} %s\n' "$prefix" "$set" "$repo" "$last"
    done
    metric_help "${prefix}_duration_seconds" "Seconds the last $what took."
    for key in "${!JOB_RESULT[@]}"; do
      read -r set repo <<<"$key"
      printf '%s_duration_seconds{set="%s",repository="%s"} %s\n' "$prefix" "$set" "$repo" "${JOB_DURATION[$key]:-0}"
    done
    if [ "${#JOB_FILES[@]}" -gt 0 ]; then
      metric_help "${prefix}_files_compared" "Restored files compared byte for byte with their source."
      for key in "${!JOB_FILES[@]}"; do
        read -r set repo <<<"$key"
        printf '%s_files_compared{set="%s",repository="%s"} %s\n' "$prefix" "$set" "$repo" "${JOB_FILES[$key]}"
      done
    fi
  } | write_atomic "$file"
}
