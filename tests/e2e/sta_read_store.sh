#!/bin/sh
# End-to-end: `insitu serve --read-store URI`: reads (GET, HEAD) are answered from the read
# store, writes go to --store. On PostgreSQL the read store is a real streaming replica of the
# test cluster (pg_basebackup -R, a hot standby on another loopback port): a POST lands on the
# primary, is not seen through the server while the replica's replay is paused, and is read
# back once replayed; the replica refuses writes, so every write that succeeds went to the
# primary. On SQLite the read store is the same file opened read-only.
. "$INSITU_TEST_LIB"

insitu init >/dev/null
insitu ingest "$DATA/csv/hydroweb_wse_long.csv" >/dev/null
insitu ingest "$DATA/theia/CATC_package.zip" >/dev/null

PID=""
REPLICA_DIR=""
at_exit '[ -n "$REPLICA_DIR" ] && "$INSITU_TEST_PG_CLUSTER" stop "$REPLICA_DIR"'
at_exit '[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null'

# rsql QUERY: QUERY on the read store
rsql() {
  if [ "$BACKEND" = postgresql ]; then psql -X -A -t -q "$READ" -c "$1"; else sqlite3 "$READ" "$1"; fi
}

if [ "$BACKEND" = postgresql ]; then
  REPLICA_DIR="$T/replica"
  READ=$("$INSITU_TEST_PG_CLUSTER" replica "$T/pg" "$REPLICA_DIR") ||
    { not_ok "a streaming replica of the test cluster starts"; done_testing; exit 1; }
  equal "the read store is a hot standby" "$(rsql 'SELECT pg_is_in_recovery()')" "t"
  expect 1 "the standby refuses writes by itself" "read-only" -- \
    psql -X -q "$READ" -v ON_ERROR_STOP=1 -c "DELETE FROM things"
  replayed_things() { [ "$(rsql 'SELECT count(*) FROM things')" = 7 ]; }
  wait_until "the replica to replay the ingests" replayed_things
else
  READ="$STORE"
fi

start_server() {
  rm -f "$T/serve.err"
  INSITU_SERVE_TOKEN=s3cret "$INSITU" --store "$STORE" serve --read-store "$READ" \
    --listen 127.0.0.1:0 --threads 2 "$@" 2>"$T/serve.err" &
  PID=$!
  serve_wait
}

AUTH="Authorization: Bearer s3cret"

start_server
case $(cat "$T/serve.err") in *"reads from $READ"*) ok "the server says where it reads";;
  *) not_ok "the server says where it reads" "$(cat "$T/serve.err")";; esac
fetch GET "$URL/Things?\$count=true&\$top=2&\$select=name"
equal "reads come from the read store" "$CODE $(py 'd["@iot.count"], len(d["value"])')" "200 7 2"
fetch GET "$URL/Datastreams(4)/Observations?\$filter=year(phenomenonTime)%20eq%202023&\$count=true&\$select=result"
equal "a filtered series from the read store" "$CODE $(py 'd["@iot.count"]')" "200 3"

if [ "$BACKEND" = postgresql ]; then
  # one connection per thread (and one spare) to each store: the pool. The backend of a psql
  # this script ran just before may still be leaving (psql does not wait for it): counted
  # once they have left
  backends() { "$1" "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"; }
  three_backends() { [ "$(backends "$1")" = 3 ]; }
  wait_until "3 connections to the replica" three_backends rsql
  equal "one connection to the replica per thread, and one spare" "$(backends rsql)" "3"
  wait_until "3 connections to the primary" three_backends sql
  equal "one connection to the primary per thread, and one spare" "$(backends sql)" "3"
  # replay paused: what the primary has and the replica has not yet shows who answers
  # (pg_wal_replay_pause only asks for it: the replica says when it has paused)
  rsql "SELECT pg_wal_replay_pause()" >/dev/null
  replay_paused() { [ "$(rsql "SELECT pg_get_wal_replay_pause_state()")" = paused ]; }
  wait_until "the replica to pause its replay" replay_paused
fi

fetch POST "$URL/Things" -H "$AUTH" -H 'Content-Type: application/json' \
  -d '{"name":"replicated gauge","description":"written to the primary","Locations":[{"name":"here","description":"d","encodingType":"application/geo+json","location":{"type":"Point","coordinates":[-52.3,4.9]}}]}'
loc=$(header Location)
new=$(py 'd["@iot.id"]')
equal "a POST is written to --store and answered from it" "$CODE $(py 'd["name"]')" \
  "201 replicated gauge"
equal "the new Thing is in the written store" \
  "$(sql "SELECT name FROM things WHERE id = $new")" "replicated gauge"

if [ "$BACKEND" = postgresql ]; then
  fetch GET "$loc"
  equal "replay paused: the replica, which answers reads, does not have it yet" "$CODE" "404"
  equal "... and neither does a query on the replica" \
    "$(rsql "SELECT count(*) FROM things WHERE id = $new")" "0"
  rsql "SELECT pg_wal_replay_resume()" >/dev/null
  read_back() { fetch GET "$loc"; [ "$CODE" = 200 ]; }
  wait_until "the replica to replay the POST" read_back
fi
fetch GET "$loc?\$expand=Locations"
equal "the POST is read back through the read store once replayed" \
  "$CODE $(py 'd["name"], d["Locations"][0]["location"]["coordinates"]')" \
  "200 replicated gauge [-52.3, 4.9]"

# more writes: PATCH, CreateObservations, DELETE all go to --store (a replica refuses them)
fetch PATCH "$loc" -H "$AUTH" -d '{"description":"patched on the primary"}'
equal "PATCH goes to --store" "$CODE $(py 'd["description"]')" "200 patched on the primary"
fetch POST "$URL/CreateObservations" -H "$AUTH" \
  -d '[{"Datastream":{"@iot.id":4},"components":["phenomenonTime","result"],"dataArray":[["2025-01-01T00:00:00Z",50.5],["2025-01-02T00:00:00Z",50.75]]}]'
equal "CreateObservations goes to --store" "$CODE $(py 'len(d)')" "201 2"
equal "... a new yearly partition's rows on the written store" \
  "$(sql "SELECT count(*) FROM observations WHERE datastream_id = 4 AND phenomenon_start >= 1735689600000000")" "2"
fetch DELETE "$loc" -H "$AUTH"
equal "DELETE goes to --store" "$CODE" "200"
equal "the deleted Thing is gone from the written store" \
  "$(sql "SELECT count(*) FROM things WHERE id = $new")" "0"

# the read store catches up with all of it
replayed_obs() { [ "$(rsql "SELECT count(*) FROM observations WHERE datastream_id = 4")" = 6 ]; }
wait_until "the read store to have the new observations" replayed_obs
fetch GET "$URL/Datastreams(4)/Observations?\$filter=year(phenomenonTime)%20eq%202025&\$select=result&\$orderby=phenomenonTime"
equal "new observations are read back through the read store" \
  "$CODE $(py '[o["result"] for o in d["value"]]')" "200 [50.5, 50.75]"
fetch GET "$URL/Datastreams(4)"
equal "... with the series summary" "$(py 'd["phenomenonTime"]')" \
  "2023-11-04T01:35:00Z/2025-01-02T00:00:00Z"
stop_server
equal "SIGTERM: the server exits 0" "$STOP_RC" "0"
equal "the API's provenance run is complete, in --store" \
  "$(sql "SELECT status FROM ingest_runs WHERE ingester = 'sta'")" "complete"

expect 1 "a read store that cannot be opened is named" "--read-store" -- \
  "$INSITU" --store "$STORE" serve --listen 127.0.0.1:0 --read-store "$T/none.db"
done_testing
