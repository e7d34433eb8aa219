# kill_lib.sh: helpers of the SIGKILL tests (kill_ingest.sh, kill_server.sh), sourced after
# lib.sh. Each kill point runs on a fresh copy of an initialised store (CSTORE), so that every
# kill lands in a full run: a file copy on SQLite, a database made from a template on
# PostgreSQL.
#   KILL_POINTS=N  kill points per ingest (kill_ingest.sh) or server run (kill_server.sh)
#   KILL_SEED=S    replays a campaign: the delays are drawn from S (printed at the start)
: "${KILL_SEED:=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
echo "# KILL_SEED=$KILL_SEED (set it to replay these kill points)"

# delays N MAX [SALT]: N delays drawn uniformly in [0, MAX] seconds from KILL_SEED and SALT
delays() {
  python3 -c 'import random, sys
r = random.Random(int(sys.argv[3]) * 1000 + int(sys.argv[4]))
for _ in range(int(sys.argv[1])):
    print("%.3f" % r.uniform(0, float(sys.argv[2])))' "$1" "$2" "$KILL_SEED" "${3:-0}"
}

# The store every kill point starts from: TEMPLATE, an initialised store (a script may add
# to it before its first fresh_store).
if [ "$BACKEND" = postgresql ]; then
  PG_BASE=${STORE%/*}
  TEMPLATE="$PG_BASE/kill_empty"
  psql -X -q "$STORE" -c "CREATE DATABASE kill_empty" >/dev/null || exit 1
else
  TEMPLATE="$T/empty.db"
fi
"$INSITU" --store "$TEMPLATE" init >/dev/null || exit 1

# fresh_store: CSTORE is a new copy of the initialised store.
fresh_store() {
  if [ "$BACKEND" = postgresql ]; then
    psql -X -q "$STORE" -c "SET client_min_messages = warning" \
      -c "DROP DATABASE IF EXISTS kill_cycle WITH (FORCE)" \
      -c "CREATE DATABASE kill_cycle TEMPLATE kill_empty" >/dev/null
    CSTORE="$PG_BASE/kill_cycle"
  else
    rm -f "$T/cycle.db" "$T/cycle.db-journal" "$T/cycle.db-wal" "$T/cycle.db-shm"
    cp "$T/empty.db" "$T/cycle.db"
    CSTORE="$T/cycle.db"
  fi
}

# csql QUERY: QUERY's result on CSTORE
csql() {
  if [ "$BACKEND" = postgresql ]; then psql -X -A -t -q "$CSTORE" -c "$1"
  else sqlite3 "$CSTORE" "$1"; fi
}

# open_transactions: how many connections PostgreSQL saw end inside a transaction (its log);
# on SQLite, 0 (there a hot journal tells, see hot_journal)
open_transactions() {
  if [ "$BACKEND" = postgresql ]; then
    grep -c "open transaction" "$T/pg/server.log" 2>/dev/null || true
  else
    echo 0
  fi
}

# hot_journal: 1 when the killed SQLite writer left a rollback journal (it was inside a
# transaction), else 0. To be called before anything opens the store again.
hot_journal() {
  if [ "$BACKEND" != postgresql ] && [ -s "$CSTORE-journal" ]; then echo 1; else echo 0; fi
}

# store_sound: the checks after a kill that hold for any store: insitu opens it, SQLite's
# integrity and foreign key checks pass (PostgreSQL: a query answers), no ingest run is left
# 'running', every observation belongs to a complete run, every datastream's summary count
# is its number of observations. (The run of a server, ingester 'sta', is 'running' until
# the server stops cleanly: a killed server's stays so, with the rows it committed.) Prints what is wrong, nothing when all holds.
store_sound() {
  "$INSITU" --store "$CSTORE" sources >/dev/null 2>"$T/sound.err" ||
    { echo "insitu does not open the store: $(cat "$T/sound.err")"; return; }
  if [ "$BACKEND" = postgresql ]; then
    [ "$(csql "SELECT 1 FROM ingest_runs LIMIT 0; SELECT 'ok'")" = ok ] || echo "the store does not answer"
  else
    r=$(csql "PRAGMA integrity_check" 2>&1)
    [ "$r" = ok ] || echo "integrity_check: $r"
    r=$(csql "PRAGMA foreign_key_check" 2>&1)
    [ -z "$r" ] || echo "foreign_key_check: $r"
  fi
  r=$(csql "SELECT count(*) FROM ingest_runs WHERE status = 'running' AND ingester <> 'sta'")
  [ "$r" = 0 ] || echo "$r ingest runs left 'running'"
  r=$(csql "SELECT count(*) FROM observations o WHERE NOT EXISTS (SELECT 1 FROM ingest_runs r
            WHERE r.id = o.run_id AND (r.status = 'complete' OR r.ingester = 'sta'))")
  [ "$r" = 0 ] || echo "$r observations of no complete run"
  r=$(csql "SELECT count(*) FROM datastreams d WHERE d.n_obs <>
            (SELECT count(*) FROM observations o WHERE o.datastream_id = d.id)")
  [ "$r" = 0 ] || echo "$r datastreams whose count is not their number of observations"
}

# store_dump: every observation of CSTORE by natural keys and values, sorted (ids differ
# between runs: PostgreSQL's sequences do not roll back)
store_dump() {
  csql "SELECT t.namespace || '|' || t.code || '|' || p.name || '|' || d.qualifier || '|' ||
          o.phenomenon_start || '|' || coalesce(CAST(o.phenomenon_end AS TEXT), '') || '|' ||
          coalesce(CAST(o.result AS TEXT), '') || '|' || coalesce(o.result_json, '')
        FROM observations o JOIN datastreams d ON d.id = o.datastream_id
        JOIN things t ON t.id = d.thing_id JOIN observed_properties p ON p.id = d.observed_property_id" |
    LC_ALL=C sort
}
