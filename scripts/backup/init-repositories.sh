#!/usr/bin/env bash
# Create every set's repository that does not exist yet, in every repository it is kept in.
# Off-site repositories copy the local chunker parameters, so `restic copy` deduplicates.
# Never touches an existing repository. Exit 1 if any repository is neither present nor creatable.
set -Euo pipefail
JOB=init
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# exists SET REPOSITORY: 0 present, 1 absent, 2 unknown (unreachable, wrong password, ...).
exists() {
  local set=$1 repo=$2 url err rc
  url=$(jq -r --arg n "$repo" '.repositories[] | select(.name == $n) | .url' "$SITE_JSON")
  if [ "$repo" = local ]; then
    [ -f "$url/$set/config" ] && return 0
    [ -d "$url/$set" ] && [ -n "$(ls -A "$url/$set")" ] && return 2
    return 1
  fi
  repo_args "$repo" "$set"
  err=$(restic "${REPO_ARGS[@]}" cat config 2>&1 >/dev/null) && return 0
  rc=$?
  # restic >= 0.17 exits 10 for "repository does not exist"; older ones only say so.
  if [ "$rc" -eq 10 ] || grep -qE 'does not exist|Is there a repository at the following location' <<<"$err"; then
    return 1
  fi
  log "$repo/$set: $err"
  return 2
}

failed=0
for set in $(site '.sets[]'); do
  for repo in $(set_repositories "$set"); do
    exists "$set" "$repo"
    case $? in
      0) continue ;;
      2)
        log "repository $repo for set $set is not usable; not initialising it"
        failed=1
        continue
        ;;
    esac
    repo_args "$repo" "$set"
    if [ "$repo" = local ]; then
      mkdir -p "$(jq -r '.repositories[] | select(.name == "local") | .url' "$SITE_JSON")"
      args=()
    else
      local_url=$(jq -r '.repositories[] | select(.name == "local") | .url' "$SITE_JSON")
      args=(--copy-chunker-params --from-repo "$local_url/$set")
      export RESTIC_FROM_PASSWORD="${RESTIC_FROM_PASSWORD:-${RESTIC_PASSWORD:-}}"
    fi
    if restic "${REPO_ARGS[@]}" init "${args[@]}"; then
      log "initialised repository $repo for set $set"
    else
      log "could not initialise repository $repo for set $set"
      failed=1
    fi
  done
done
exit "$failed"
