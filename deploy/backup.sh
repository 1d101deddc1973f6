#!/usr/bin/env bash
# Backs up the accounts database and restores it (see deploy/CHECKLIST.md).
#
#   deploy/backup.sh dump DATABASE_URL DIR       write DIR/accounts-<UTC time>.dump (pg_dump -Fc)
#                                                and print its path
#   deploy/backup.sh restore FILE DATABASE_URL   restore FILE into DATABASE_URL, which must be an
#                                                existing, empty database (--no-owner: the objects
#                                                belong to the role of DATABASE_URL)
#
# The pg_dump and pg_restore used are those of the server's major version when this machine has
# them (/usr/lib/postgresql/<major>/bin), else the ones on PATH if they are at least as new.
# A dump is written under a temporary name and renamed when complete, so a file named
# accounts-*.dump is always a whole one. The server applies no migration on a restored database:
# their record (_sqlx_migrations) is restored with the rest.
#
# Exit status: 0 done; 1 pg_dump/pg_restore/psql failed (their message is on stderr);
# 2 usage; 3 the restore target is not empty; 4 no client tools that can talk to this server.
set -euo pipefail

log() { printf '[backup] %s\n' "$*" >&2; }
die() { local status=$1; shift; printf '[backup] error: %s\n' "$*" >&2; exit "$status"; }
usage() {
  sed -n '3,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# The server's major version (15, 16, …), asked with whichever psql there is.
server_major() {
  local psql num
  psql=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$psql" ] || die 4 "no psql found; install Debian's postgresql-client"
  num=$("$psql" --no-psqlrc -At -d "$1" -c 'show server_version_num') ||
    die 1 "cannot connect to the database"
  echo $((num / 10000))
}

# Sets bin to a directory whose client tools match (or are newer than) the server.
pick_tools() {
  local major=$1 own
  if [ -x "/usr/lib/postgresql/$major/bin/pg_dump" ]; then
    bin="/usr/lib/postgresql/$major/bin"
    return
  fi
  if command -v pg_dump >/dev/null; then
    own=$(pg_dump --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')
    if [ "$own" -ge "$major" ]; then
      bin=$(dirname "$(readlink -f "$(command -v pg_dump)")")
      return
    fi
    die 4 "pg_dump $own cannot dump a Postgres $major server; install postgresql-client-$major"
  fi
  die 4 "no pg_dump found; install postgresql-client-$major"
}

cmd_dump() {
  [ $# -eq 2 ] || usage
  local url=$1 dir=$2 bin major stamp file
  [ -d "$dir" ] || die 2 "$dir is not a directory"
  major=$(server_major "$url")
  pick_tools "$major"
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  file="$dir/accounts-$stamp.dump"
  [ -e "$file" ] && die 1 "$file exists already"
  log "dumping (Postgres $major, $bin/pg_dump) to $file"
  # Custom format: compressed, and pg_restore can pick and reorder what it restores.
  if ! "$bin/pg_dump" --format=custom --no-owner --dbname="$url" --file="$file.partial"; then
    rm -f "$file.partial"
    die 1 "pg_dump failed"
  fi
  mv "$file.partial" "$file"
  echo "$file"
}

cmd_restore() {
  [ $# -eq 2 ] || usage
  local file=$1 url=$2 bin major tables
  [ -f "$file" ] || die 2 "$file is not a file"
  major=$(server_major "$url")
  pick_tools "$major"
  # Restoring over existing tables mixes two databases; only an empty one is accepted.
  tables=$("$bin/psql" --no-psqlrc -At -d "$url" -c \
    "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'") ||
    die 1 "cannot read the target database"
  [ "$tables" -eq 0 ] || die 3 "the target database is not empty ($tables relations); restore into a fresh one"
  log "restoring $file (Postgres $major, $bin/pg_restore)"
  # One transaction: a failure leaves the target as empty as it was.
  "$bin/pg_restore" --no-owner --no-privileges --exit-on-error --single-transaction \
    --dbname="$url" "$file" || die 1 "pg_restore failed; the target is unchanged"
  log "restored"
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  dump) cmd_dump "$@" ;;
  restore) cmd_restore "$@" ;;
  *) usage ;;
esac
