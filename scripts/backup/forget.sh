#!/usr/bin/env bash
# forget.sh SET [REPOSITORY]: apply the set's retention (restic forget --prune) in one repository
# (default: local). run-set.sh does this after every successful backup.
set -Euo pipefail
JOB=forget
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

SET=${1:?usage: forget.sh SET [REPOSITORY]}
require_tools restic jq flock
take_lock "$SET" 600
apply_retention "$SET" "${2:-local}"
