#!/usr/bin/env bash
# Give each app its own PostgreSQL database and role. Idempotent: every run
# creates what is missing, (re)sets each role's password and ownership, and
# keeps every app out of the other apps' databases; a second run changes
# nothing else.
#
# Connection: the usual libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD)
# for a superuser; the maintenance database is PGDATABASE (default postgres).
# Input:
#   MS_DATABASES           space-separated DATABASE:ROLE pairs, e.g. "authelia:authelia jellystat:jellystat"
#   MS_PASSWORD_<ROLE>     each role's password (role upper-cased, '-' as '_')
set -euo pipefail

databases="${MS_DATABASES:-}"
if [ -z "${databases// /}" ]; then
  echo "init-databases: no app databases requested"
  exit 0
fi

valid_name() { [[ "$1" =~ ^[a-z_][a-z0-9_-]{0,62}$ ]]; }

for pair in $databases; do
  database="${pair%%:*}"
  role="${pair#*:}"
  if [ "$pair" = "$database" ] || ! valid_name "$database" || ! valid_name "$role"; then
    echo "init-databases: bad entry '$pair'; expected DATABASE:ROLE, lowercase letters, digits, '_' and '-'" >&2
    exit 65
  fi
  variable="MS_PASSWORD_$(printf '%s' "$role" | tr 'a-z-' 'A-Z_')"
  if [ -z "${!variable:-}" ]; then
    echo "init-databases: $variable is not set (the password for role $role)" >&2
    exit 65
  fi
  # The password reaches psql through its environment, never its command line.
  MS_ROLE_PASSWORD="${!variable}" psql -X -q -v ON_ERROR_STOP=1 --dbname="${PGDATABASE:-postgres}" \
    -v database="$database" -v role="$role" <<'SQL'
\getenv password MS_ROLE_PASSWORD
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
ALTER DATABASE :"database" OWNER TO :"role";
-- Every role may connect to every database unless PUBLIC loses CONNECT.
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT ALL ON DATABASE :"database" TO :"role";
SQL
  echo "init-databases: database $database ready (owner $role)"
done
