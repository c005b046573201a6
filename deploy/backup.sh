#!/usr/bin/env bash
# Back up imgapp: the PostgreSQL database (pg_dump, custom format) and the
# image directory ($IMGAPP_DATA_DIR/images, a tarball), then delete backups
# older than BACKUP_KEEP_DAYS (always keeping the newest BACKUP_KEEP_MIN).
#
#   DATABASE_URL=postgresql://... IMGAPP_DATA_DIR=/var/lib/imgapp deploy/backup.sh
#
# BACKUP_DIR (default /var/backups/imgapp), BACKUP_KEEP_DAYS (14), BACKUP_KEEP_MIN (3).
# The database is dumped first: every image a dumped row names already exists
# when the tarball is written (newer images in it are harmless). Each backup is
# written under a temporary name and renamed when complete, so a half-written
# file never looks like a backup. Restore: deploy/README.md ("Backups").
set -euo pipefail
: "${DATABASE_URL:?DATABASE_URL must name the PostgreSQL database}"
data_dir="${IMGAPP_DATA_DIR:-./data}"
backup_dir="${BACKUP_DIR:-/var/backups/imgapp}"
keep_days="${BACKUP_KEEP_DAYS:-14}"
keep_min="${BACKUP_KEEP_MIN:-3}"
pg_bin="${PG_BIN:-}"  # e.g. /usr/lib/postgresql/15/bin; default: pg_dump on PATH

# SQLAlchemy's driver suffix means nothing to libpq.
dsn="${DATABASE_URL/postgresql+psycopg:/postgresql:}"
dsn="${dsn/postgresql+psycopg2:/postgresql:}"
case "$dsn" in
  postgresql://* | postgres://*) ;;
  *) echo "backup: DATABASE_URL is not PostgreSQL; back up the SQLite file instead" >&2; exit 1 ;;
esac

umask 077
mkdir -p "$backup_dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
base="$backup_dir/imgapp-$stamp"
trap 'rm -f "$base.dump.partial" "$base-images.tar.gz.partial"' EXIT

"${pg_bin:+$pg_bin/}pg_dump" --format=custom --compress=6 --no-owner --file="$base.dump.partial" --dbname="$dsn"
mv "$base.dump.partial" "$base.dump"

if [ -d "$data_dir/images" ]; then
  tar --create --gzip --file="$base-images.tar.gz.partial" --directory="$data_dir" images
else
  tar --create --gzip --file="$base-images.tar.gz.partial" --files-from=/dev/null
fi
mv "$base-images.tar.gz.partial" "$base-images.tar.gz"
(cd "$backup_dir" && sha256sum "imgapp-$stamp.dump" "imgapp-$stamp-images.tar.gz" >"imgapp-$stamp.sha256")
echo "backup: $base.dump ($(du -h "$base.dump" | cut -f1)), $base-images.tar.gz ($(du -h "$base-images.tar.gz" | cut -f1))"

# Retention: older than keep_days, but never the newest keep_min backups.
mapfile -t stamps < <(find "$backup_dir" -maxdepth 1 -name 'imgapp-*.dump' -printf '%f\n' \
  | sed -e 's/^imgapp-//' -e 's/\.dump$//' | sort -r)
cutoff="$(date -u -d "-${keep_days} days" +%Y%m%dT%H%M%SZ)"
for i in "${!stamps[@]}"; do
  old="${stamps[$i]}"
  if [ "$i" -ge "$keep_min" ] && [[ "$old" < "$cutoff" ]]; then
    rm -f "$backup_dir/imgapp-$old.dump" "$backup_dir/imgapp-$old-images.tar.gz" "$backup_dir/imgapp-$old.sha256"
    echo "backup: removed imgapp-$old (older than ${keep_days} days)"
  fi
done
