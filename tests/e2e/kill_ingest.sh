#!/bin/sh
# End-to-end: SIGKILL at random points of three large ingests (CSV files, THEIA/OZCAR
# packages, a SWOT folder). An uninterrupted run first gives the reference store; then each
# kill point starts the same ingest on a fresh store and kills it after a delay drawn
# uniformly in [0, the reference's duration]. After the kill: the store opens and passes its
# integrity check, no run is left 'running', every source is complete (as many rows as in the
# reference) or absent, and the same ingest run again completes the store, which then equals
# the reference. KILL_POINTS (default 9 per ingest), KILL_SEED: see kill_lib.sh.
. "$INSITU_TEST_LIB"
. "$(dirname "$INSITU_TEST_LIB")/kill_lib.sh"
POINTS=${KILL_POINTS:-9}
HERE=$(dirname "$INSITU_TEST_LIB")
GEN_SWOT="$(dirname "$INSITU")/bench/gen_swot"

# The sources, made from the real samples; each source holds its own series.
python3 "$HERE/kill_data.py" csv "$T/csv" 12 2500 || exit 1
python3 "$HERE/kill_data.py" theia "$T/theia" "$DATA/theia/CATC_en.json" \
  "$DATA/theia/CATC_DAT_CE.WChem_Od.zip" 3 10 1000 || exit 1
# distinct granules with the real RiverSP product's schema and values (new reach ids per
# tile, times shifted by 21 days per cycle): 8 products of 156 reaches; on PostgreSQL, which
# writes a product's thousands of one-row series far slower (12 products of 208 reaches:
# 47 s, against 0.68 s on SQLite), 3 products of 52 reaches
swot_size="2 4 3"
[ "$BACKEND" = postgresql ] && swot_size="1 3 1"
# shellcheck disable=SC2086
"$GEN_SWOT" "$DATA/swot/SWOT_L2_HR_RiverSP_Reach_049_058_AU_20260419T185249_20260419T190852_PID0_01.zip" \
  "$T/swot" $swot_size 2>/dev/null || { not_ok "bench/gen_swot makes the SWOT folder"; done_testing; exit 1; }

# A writer killed inside a transaction leaves a hot journal: a read-only command (sources)
# must roll it back and answer, not call the store "not a SQLite store" (fixed in issue 17).
if [ "$BACKEND" = sqlite ]; then
  fresh_store
  "$INSITU" --store "$CSTORE" ingest "$DATA/csv/wide_interval.csv" >/dev/null
  mkfifo "$T/sql.fifo"
  sqlite3 "$CSTORE" <"$T/sql.fifo" >"$T/sql.out" 2>&1 &
  sql_pid=$!
  exec 3>"$T/sql.fifo"
  # a one-page cache: the changes spill into the store file, after the journal is synced
  echo "PRAGMA journal_mode = DELETE; PRAGMA cache_size = 1; BEGIN; DELETE FROM observations;" \
    "UPDATE things SET name = name || ' (half written)'; SELECT 'written';" >&3
  i=0
  while ! grep -q written "$T/sql.out" && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
  kill -KILL "$sql_pid"
  wait "$sql_pid" 2>/dev/null
  exec 3>&-
  equal "a writer killed mid-transaction left a hot journal" "$(hot_journal)" 1
  expect 0 "a read-only command rolls the hot journal back and answers" "complete,csv" -- \
    "$INSITU" --store "$CSTORE" sources
  equal "the killed transaction is undone" \
    "$(csql "SELECT count(*) FROM observations") $(csql "SELECT count(*) FROM things WHERE name LIKE '%half%'")" \
    "6 0"
  equal "the journal is gone and the store is sound" "$(hot_journal) $(store_sound)" "0 "
else
  skip "a read-only command rolls a hot journal back" "SQLite only"
fi

now() { date +%s.%N; }
TOTAL=0 KILLED=0 MID=0 FOUND_COMPLETE=0 FOUND_ABSENT=0 PARTIAL=0 LOST=0

# per_source: "SOURCE ROWS" of each complete source of CSTORE, sorted
per_source() {
  csql "SELECT r.source || ' ' || count(o.run_id) FROM ingest_runs r
        LEFT JOIN observations o ON o.run_id = r.id WHERE r.status = 'complete'
        GROUP BY r.source" | LC_ALL=C sort
}

# campaign NAME DIR SALT: the reference run of `insitu ingest DIR`, then POINTS kill points
# (every other one with --commit-every 0: each source its own transaction on SQLite)
campaign() {
  name=$1 dir=$2
  fresh_store
  t0=$(now)
  "$INSITU" --store "$CSTORE" ingest "$dir" >"$T/ref.out" 2>&1
  rc=$?
  t1=$(now)
  duration=$(echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }')
  equal "$name: the uninterrupted ingest completes ($duration s)" "$rc" 0
  store_dump >"$T/$name.ref"
  per_source >"$T/$name.sources"
  sources=$(wc -l <"$T/$name.sources")
  rows=$(wc -l <"$T/$name.ref")
  echo "# $name: $sources sources, $rows observations"
  kp=0
  delays "$POINTS" "$duration" "$3" >"$T/delays"
  while read -r delay; do
    kp=$((kp + 1))
    opts=""
    [ $((kp % 2)) = 0 ] && opts="--commit-every 0"
    fresh_store
    ended_before=$(open_transactions)
    # shellcheck disable=SC2086
    "$INSITU" --store "$CSTORE" ingest $opts "$dir" >"$T/kill.out" 2>&1 &
    pid=$!
    sleep "$delay"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    hot=$(hot_journal)
    problems=$(store_sound)
    per_source >"$T/found"
    complete=$(wc -l <"$T/found")
    partial=$(LC_ALL=C comm -23 "$T/found" "$T/$name.sources")
    [ -n "$partial" ] && problems="$problems partial sources (source, rows): $partial"
    # the same ingest again completes the store
    # shellcheck disable=SC2086
    "$INSITU" --store "$CSTORE" ingest $opts "$dir" >"$T/again.out" 2>&1 ||
      problems="$problems the ingest run again fails: $(tail -n 3 "$T/again.out")"
    again=$(store_sound)
    [ -n "$again" ] && problems="$problems after the second ingest: $again"
    store_dump >"$T/after"
    if ! cmp -s "$T/after" "$T/$name.ref"; then
      lost=$(LC_ALL=C comm -23 "$T/$name.ref" "$T/after" | wc -l)
      extra=$(LC_ALL=C comm -13 "$T/$name.ref" "$T/after" | wc -l)
      LOST=$((LOST + lost))
      problems="$problems the store differs from the reference: $lost rows missing, $extra other rows"
    fi
    n_complete=$(csql "SELECT count(*) FROM ingest_runs WHERE status = 'complete'")
    [ "$n_complete" = "$sources" ] || problems="$problems $n_complete complete runs, not $sources"
    mid=$hot
    [ "$(open_transactions)" -gt "$ended_before" ] && mid=1
    TOTAL=$((TOTAL + 1))
    what="finished before the kill"
    if [ "$rc" = 137 ]; then
      KILLED=$((KILLED + 1))
      what="killed"
      [ "$mid" = 1 ] && { MID=$((MID + 1)); what="killed mid-transaction"; }
    fi
    FOUND_COMPLETE=$((FOUND_COMPLETE + complete))
    FOUND_ABSENT=$((FOUND_ABSENT + sources - complete))
    [ -n "$partial" ] && PARTIAL=$((PARTIAL + 1))
    desc="$name kill $kp at ${delay}s of ${duration}s ${opts:+($opts) }($what, $complete of $sources sources complete): sound, nothing partial, completed again"
    if [ -z "$problems" ]; then ok "$desc"; else not_ok "$desc" "$problems" "seed $KILL_SEED"; fi
  done <"$T/delays"
}

campaign csv "$T/csv" 1
campaign theia "$T/theia" 2
campaign swot "$T/swot" 3
echo "# kill points $TOTAL ($BACKEND): killed $KILLED, of which mid-transaction $MID;" \
  "sources found complete $FOUND_COMPLETE, absent $FOUND_ABSENT, partial $PARTIAL; rows lost $LOST"
done_testing
