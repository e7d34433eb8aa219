#!/bin/sh
# End-to-end: a store on read-only media, a full disk, concurrent writers, online backup
# (issue 17 items 3, 6, 7; docs/reliability.md). Mounts need root: without it those checks
# are skipped, saying why. On PostgreSQL (pg_store_hazards.pgsh): concurrent ingests of
# overlapping sources and the backup's pointer to pg_dump.
. "$INSITU_TEST_LIB"

# gen_csv FILE ROWS FIRST_YEAR: a time,value series of ROWS hourly rows
gen_csv() {
  python3 - "$1" "$2" "$3" <<'EOF'
import datetime, sys
t = datetime.datetime(int(sys.argv[3]), 1, 1)
with open(sys.argv[1], "w") as f:
    f.write("time,value\n")
    for i in range(int(sys.argv[2])):
        f.write("%s,%d.%d\n" % ((t + datetime.timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ"), i, i % 7))
EOF
}

# every source fully present or absent: complete runs hold their rows, the others none (the
# server's own run, ingester 'sta', is 'running' while it serves: its writes are its own)
whole_sources() {
  agg=group_concat
  [ "$1" = sql ] && [ "$BACKEND" = postgresql ] && agg=string_agg
  "$@" "SELECT count(*) || coalesce(' runs: ' || $agg(id || ' ' || status || ' ' ||
    n_inserted || ' ' || (SELECT count(*) FROM observations o WHERE o.run_id = r.id) || ' ' ||
    source, '; '), '') FROM ingest_runs r WHERE r.ingester <> 'sta' AND ((r.status = 'complete' AND (SELECT count(*)
    FROM observations o WHERE o.run_id = r.id) != r.n_inserted) OR (r.status <> 'complete' AND
    EXISTS (SELECT 1 FROM observations o WHERE o.run_id = r.id)))"
}
sq() { sqlite3 "$STORE" "$1"; }

# a writer of Observations through the server: POSTs until $T/stop_posts exists, writes the
# number of 201 answers to $1 (and "1" to $T/posting at the first one)
post_loop() {
  python3 - "$URL" "$1" "$T/posting" "$T/stop_posts" <<'EOF' &
import os, sys, urllib.request, urllib.error
url, out, started, stop = sys.argv[1:5]
acked = other = 0
k = 0
while not os.path.exists(stop):
    body = ('{"result": %d, "phenomenonTime": "2030-01-01T00:%02d:%02dZ", "Datastream": {"@iot.id": 2}}'
            % (k, (k // 60) % 60, k % 60)).encode()
    k += 1
    req = urllib.request.Request(url + "/Observations", data=body, method="POST",
        headers={"Authorization": "Bearer s3cret", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            acked += r.status == 201
    except urllib.error.HTTPError as e:
        other += e.code != 503
        if e.code != 503:
            sys.stderr.write("POST: %d %s\n" % (e.code, e.read()[:200]))
    if acked == 1 and not os.path.exists(started):
        open(started, "w").write("1")
    if k >= 3000:
        break
open(out, "w").write("%d %d\n" % (acked, other))
EOF
  POSTER=$!
}

start_server() {
  rm -f "$T/serve.err"
  env "$@" "$INSITU" --store "$STORE" serve --listen 127.0.0.1:0 --threads 2 2>"$T/serve.err" &
  PID=$!
  serve_wait
}
PID=""
at_exit '[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null'

if [ "$BACKEND" = postgresql ]; then
  insitu init >/dev/null
  # two ingests of sets that share files, at once: each source once, no duplicate rows
  mkdir "$T/a" "$T/b"
  for i in 1 2 3 4; do gen_csv "$T/a/s$i.csv" 3000 $((2000 + i)); done
  cp "$T/a/s3.csv" "$T/a/s4.csv" "$T/b/"
  for i in 5 6; do gen_csv "$T/b/s$i.csv" 3000 $((2000 + i)); done
  insitu ingest "$T/a" >"$T/a.out" 2>"$T/a.err" &
  A=$!
  insitu ingest "$T/b" >"$T/b.out" 2>"$T/b.err" &
  B=$!
  wait $A; rca=$?
  wait $B; rcb=$?
  equal "two overlapping ingests at once each exit 0 (or 3: busy)" \
    "$( [ $rca = 0 ] || [ $rca = 3 ]; echo $?)$( [ $rcb = 0 ] || [ $rcb = 3 ]; echo $?)" "00"
  insitu ingest "$T/a" "$T/b" >/dev/null 2>&1
  equal "after a re-run: the 6 distinct files are 6 datastreams of 3000 observations, none twice" \
    "$(sql "SELECT count(DISTINCT datastream_id) || ' ' || count(*) FROM observations")" "6 18000"
  equal "each file's content has exactly one complete run" \
    "$(sql "SELECT count(DISTINCT checksum) || ' ' || count(*) FROM ingest_runs WHERE status = 'complete'")" "6 6"
  equal "every source fully present or absent" "$(whole_sources sql)" "0"
  expect 1 "backup of a PostgreSQL store points to pg_dump and pg_basebackup" \
    "pg_dump" "pg_basebackup" "docs/scale.md#backups" -- insitu backup "$T/copy.db"
  equal "no file left" "$(ls "$T/copy.db"* 2>/dev/null)" ""
  skip "read-only media and a full disk" "the PostgreSQL server owns its files (docs/reliability.md)"
  done_testing
  exit 0
fi

gen_csv "$T/small.csv" 50 1990
insitu ingest "$T/small.csv" >/dev/null 2>&1
insitu ingest "$DATA/csv/hydroweb_wse_long.csv" >/dev/null 2>&1 # Datastream 2 has a Location

# ---- read-only media ----------------------------------------------------------------------
can_mount() { [ "$(id -u)" = 0 ] && mkdir -p "$T/probe" && mount -t tmpfs -o size=64k tmpfs "$T/probe" 2>/dev/null && umount "$T/probe"; }
if can_mount; then
  mkdir -p "$T/rw" "$T/ro"
  cp "$STORE" "$T/rw/s.db"
  mount --bind "$T/rw" "$T/ro" && mount -o remount,bind,ro "$T/ro"
  at_exit "umount '$T/ro' 2>/dev/null"
  RO="$T/ro/s.db"
  sum=$(md5sum <"$RO")
  expect 0 "things on a read-only file system" "small" -- "$INSITU" --store "$RO" things
  expect 0 "query on a read-only file system" "1990-01-01T00:00:00Z" -- \
    "$INSITU" --store "$RO" query --thing small --format csv
  expect 0 "sources on a read-only file system" "complete" -- "$INSITU" --store "$RO" sources
  expect 0 "backup of a store on a read-only file system" "backed up" -- \
    "$INSITU" --store "$RO" backup "$T/ro_copy.db"
  expect 1 "ingest into a read-only file system: names the store and the cause" \
    "$RO: cannot write the store: read-only file system" -- \
    "$INSITU" --store "$RO" ingest "$DATA/csv/time_value.csv"
  expect 1 "init on a read-only file system" "$RO: cannot write the store: read-only file system" -- \
    "$INSITU" --store "$RO" init
  expect 1 "serve with writes on a read-only file system" "read-only file system" -- \
    "$INSITU" --store "$RO" serve --listen 127.0.0.1:0
  "$INSITU" --store "$RO" serve --read-only --listen 127.0.0.1:0 2>"$T/serve.err" &
  PID=$!
  serve_wait
  fetch GET "$URL/Things"
  equal "serve --read-only on a read-only file system answers" "$CODE $(py 'd["value"][0]["name"]')" "200 small"
  stop_server
  equal "the store on read-only media is unchanged" "$(md5sum <"$RO")" "$sum"
  equal "no file was left beside it" "$(ls "$T/rw")" "s.db"
  # a WAL that holds pages on read-only media: refused, not read without them
  umount "$T/ro"
  python3 -c 'import sqlite3, sys, shutil
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA wal_autocheckpoint = 0")
c.execute("UPDATE things SET description = ? WHERE code = ?", ("in the wal", "small"))
shutil.copy(sys.argv[1], sys.argv[2]); shutil.copy(sys.argv[1] + "-wal", sys.argv[2] + "-wal")
' "$T/rw/s.db" "$T/w.db"
  mkdir "$T/rw2" && mv "$T/w.db" "$T/w.db-wal" "$T/rw2/" && mount --bind "$T/rw2" "$T/ro" &&
    mount -o remount,bind,ro "$T/ro"
  expect 1 "a store whose WAL holds changes on read-only media: refused, saying why" \
    "write-ahead log" "not yet in the store" -- "$INSITU" --store "$T/ro/w.db" things
  umount "$T/ro"
else
  skip "read-only media" "mounting needs root and the mount capability"
fi
# a store file read-only by its permissions, for a user other than root
asuser() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && asuser "$INSITU" --version >/dev/null 2>&1; then
  mkdir -m 755 "$T/perm" && cp "$STORE" "$T/perm/s.db" && chmod 444 "$T/perm/s.db"
  chmod 755 "$T" && chmod 644 "$T/small.csv"
  expect 1 "ingest into a store read-only by permissions" "cannot write the store: Permission denied" -- \
    asuser "$INSITU" --store "$T/perm/s.db" ingest "$T/small.csv"
  expect 0 "reading a store in a folder the user cannot write" "small" -- \
    asuser "$INSITU" --store "$T/perm/s.db" things
else
  skip "a store read-only by permissions" "needs root and setpriv, to run insitu as user 65534"
fi

# ---- a full disk ----------------------------------------------------------------------------
if can_mount; then
  mkdir -p "$T/full"
  mount -t tmpfs -o size=32m tmpfs "$T/full"
  at_exit "umount '$T/full' 2>/dev/null"
  cp "$STORE" "$T/full/s.db"
  F="$T/full/s.db"
  gen_csv "$T/big.csv" 100000 2000
  # leave ~512 KiB free: the big series needs several MiB
  free_kb=$(df -k --output=avail "$T/full" | tail -n 1)
  dd if=/dev/zero of="$T/full/filler" bs=1k count=$((free_kb - 512)) 2>/dev/null
  before=$(sqlite3 "$F" "SELECT count(*) FROM observations")
  expect 1 "an ingest that fills the disk: exit 1, 'disk full' naming the store" \
    "$F: disk full" -- "$INSITU" --store "$F" ingest "$T/big.csv"
  equal "the store is as it was: same observations, integrity ok" \
    "$(sqlite3 "$F" "SELECT count(*) FROM observations; PRAGMA integrity_check" | tr '\n' ' ')" "$before ok "
  equal "the failed run is recorded as failed, with the cause" \
    "$(sqlite3 "$F" "SELECT status, message LIKE '%disk full%' FROM ingest_runs ORDER BY id DESC LIMIT 1")" "failed|1"
  rm "$T/full/filler"
  expect 0 "once space is freed the same ingest completes" "100000 observations" -- \
    "$INSITU" --store "$F" ingest "$T/big.csv"
  equal "all rows there" "$(sqlite3 "$F" "SELECT count(*) FROM observations; PRAGMA integrity_check" | tr '\n' ' ')" \
    "$((before + 100000)) ok "
  umount "$T/full"
else
  skip "a full disk" "mounting a tmpfs needs root and the mount capability"
fi

# ---- concurrent writers -------------------------------------------------------------------
# a writer that keeps the lock past the busy timeout: exit 3, a clear message
python3 -c 'import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").write("locked")
while not os.path.exists(sys.argv[3]):
    time.sleep(0.02)
c.execute("ROLLBACK")' "$STORE" "$T/locked" "$T/unlock" &
locker=$!
wait_file "$T/locked" "$locker"
before=$(sq "SELECT count(*) FROM ingest_runs")
expect 3 "an ingest behind a writer that keeps the lock past INSITU_BUSY_TIMEOUT: exit 3" \
  "$STORE: store busy" "INSITU_BUSY_TIMEOUT" -- \
  env INSITU_BUSY_TIMEOUT=200 "$INSITU" --store "$STORE" ingest "$DATA/csv/time_value.csv"
touch "$T/unlock"
wait $locker
equal "the busy ingest left nothing" "$(sq "SELECT count(*) FROM ingest_runs")" "$before"
expect 2 "INSITU_BUSY_TIMEOUT must be milliseconds" "INSITU_BUSY_TIMEOUT=soon: expected milliseconds" -- \
  env INSITU_BUSY_TIMEOUT=soon "$INSITU" --store "$STORE" things

# two ingests and a server taking writes, all at once
mkdir "$T/c1" "$T/c2"
for i in 1 2 3 4 5; do gen_csv "$T/c1/a$i.csv" 20000 $((2000 + i)); gen_csv "$T/c2/b$i.csv" 20000 $((1900 + i)); done
start_server INSITU_SERVE_TOKEN=s3cret
rm -f "$T/posting" "$T/stop_posts"
post_loop "$T/acked"
wait_file "$T/posting" "$POSTER"
insitu ingest "$T/c1" >"$T/c1.out" 2>"$T/c1.err" &
A=$!
insitu ingest "$T/c2" >"$T/c2.out" 2>"$T/c2.err" &
B=$!
wait $A; rca=$?
wait $B; rcb=$?
touch "$T/stop_posts"
wait $POSTER
stop_server
equal "two ingests beside a writing server: each exits 0 (waited) or 3 (busy)" \
  "$( [ $rca = 0 ] || [ $rca = 3 ]; echo $?)$( [ $rcb = 0 ] || [ $rcb = 3 ]; echo $?)" "00"
acked=$(cut -d' ' -f1 "$T/acked")
equal "the server's writes: each answered 201 or 503, none other" "$(cut -d' ' -f2 "$T/acked")" "0"
equal "every acknowledged POST is in the store" \
  "$(sq "SELECT count(*) >= $acked FROM observations WHERE datastream_id = 2 AND phenomenon_start >= 1893456000000000")" "1"
equal "integrity ok, every source fully present or absent" "$(sq "PRAGMA integrity_check") $(whole_sources sq)" "ok 0"
insitu ingest "$T/c1" "$T/c2" >/dev/null 2>&1
equal "a re-run completes: 10 series of 20000" \
  "$(sq "SELECT count(*) FROM (SELECT datastream_id FROM observations GROUP BY datastream_id HAVING count(*) = 20000)")" "10"

# ---- backup -----------------------------------------------------------------------------------
sqlite3 "$STORE" .dump >"$T/quiet.sql"
expect 0 "backup of a quiet store" "backed up" -- insitu backup "$T/quiet.db"
sqlite3 "$T/quiet.db" .dump >"$T/quiet_copy.sql"
equal "the backup of a quiet store equals it (dumps)" "$(cmp "$T/quiet.sql" "$T/quiet_copy.sql" && echo same)" "same"
expect 1 "backup refuses an existing destination" "quiet.db: exists (--force replaces it)" -- \
  insitu backup "$T/quiet.db"
expect 0 "backup --force replaces it" "backed up" -- insitu backup --force "$T/quiet.db"
expect 1 "backup onto the store itself" "is the store itself" -- insitu backup --force "$STORE"
expect 2 "backup without a destination" "no destination given" -- insitu backup
# while a server takes writes and an ingest runs
mkdir "$T/c3"
for i in 1 2 3 4 5 6; do gen_csv "$T/c3/d$i.csv" 20000 $((2100 + i)); done
start_server INSITU_SERVE_TOKEN=s3cret
rm -f "$T/posting" "$T/stop_posts"
post_loop "$T/acked2"
wait_file "$T/posting" "$POSTER"
insitu ingest --commit-every 0 "$T/c3" >"$T/c3.out" 2>"$T/c3.err" &
A=$!
# the backup starts once the ingest has committed a first source
i=0
while [ $i -lt 1200 ] && ! grep -q ingested "$T/c3.out" 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
expect 0 "backup while a server takes writes and an ingest runs" "backed up" -- insitu backup "$T/busy.db"
wait $A; rca=$?
touch "$T/stop_posts"
wait $POSTER
stop_server
equal "the ingest beside the backup completed" "$rca" "0"
equal "the copy: integrity ok, every source fully present or absent" \
  "$(sqlite3 "$T/busy.db" "PRAGMA integrity_check") $(whole_sources sqlite3 "$T/busy.db")" "ok 0"
expect 0 "the copy opens as a store" "d1" -- "$INSITU" --store "$T/busy.db" things
equal "the copy holds a snapshot in the middle: some of the 6 new sources, not all, or all" \
  "$(sqlite3 "$T/busy.db" "SELECT count(*) BETWEEN 1 AND 6 FROM ingest_runs WHERE source LIKE '%/c3/%' AND status = 'complete'")" "1"
ls "$T"/busy.db.partial* >/dev/null 2>&1
equal "no partial file left" "$?" "2"
done_testing
