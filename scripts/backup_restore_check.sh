#!/usr/bin/env bash
# Back up a PostgreSQL database with pg_dump, restore it into another database and compare the
# row count of every table: a backup is only known to be good once it has been restored.
#
#   scripts/backup_restore_check.sh SOURCE_URL TARGET_URL [DUMP_FILE]
#
# SOURCE_URL, TARGET_URL: postgresql://user@host:port/db. The target database must exist and be
# empty (it is restored with --clean --if-exists, so a previous check's tables are replaced);
# never point it at the live database. DUMP_FILE (default: a temporary file, removed) is
# pg_dump's custom format, the one to keep: `pg_restore` reads it.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 SOURCE_URL TARGET_URL [DUMP_FILE]" >&2
  exit 2
fi
source_url=$1
target_url=$2
dump=${3:-}
if [ -z "$dump" ]; then
  dump=$(mktemp --suffix=.dump)
  trap 'rm -f "$dump"' EXIT
fi
if [ "$source_url" = "$target_url" ]; then
  echo "refused: the restore target is the source database" >&2
  exit 2
fi

pg_dump --format=custom --no-owner --no-privileges --file="$dump" "$source_url"
pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error \
  --dbname="$target_url" "$dump"

# Exact counts (count(*)), table by table, in the public schema of each database.
count_rows() {
  local url=$1 table
  for table in $(psql "$url" -At -v ON_ERROR_STOP=1 -c \
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"); do
    echo "$table $(psql "$url" -At -v ON_ERROR_STOP=1 -c "SELECT count(*) FROM public.\"$table\"")"
  done
}

source_counts=$(count_rows "$source_url")
target_counts=$(count_rows "$target_url")
if [ "$source_counts" != "$target_counts" ]; then
  echo "backup check FAILED: row counts differ (source, then restored copy)" >&2
  diff <(echo "$source_counts") <(echo "$target_counts") >&2 || true
  exit 1
fi
echo "backup check ok: $(echo "$source_counts" | wc -l) tables, row counts equal"
echo "$source_counts"
