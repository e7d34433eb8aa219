#!/bin/sh
# End-to-end: SIGKILL of `insitu serve` while a client posts CreateObservations batches
# ($resultFormat=dataArray bodies, with the write credential), again and again on one store:
# each kill point kills the server at a delay drawn uniformly in [0, KILL_WINDOW] s (default
# 1) after its first answer to the client, then restarts it. After each restart: every batch
# answered 201 is fully present, no batch is partially present, the server answers with the
# store's count, and the store passes its integrity check. KILL_POINTS (default 24),
# KILL_SEED: see kill_lib.sh.
. "$INSITU_TEST_LIB"
. "$(dirname "$INSITU_TEST_LIB")/kill_lib.sh"
POINTS=${KILL_POINTS:-24}
WINDOW=${KILL_WINDOW:-1}
ROWS=200
CLIENT="$(dirname "$INSITU_TEST_LIB")/kill_client.py"

# the Datastream the batches go to (its Thing has a Location: the Observations' feature)
"$INSITU" --store "$TEMPLATE" ingest --thing K1 --property level --unit m --lat 45 --lon 5 \
  "$DATA/csv/time_value.csv" >/dev/null || exit 1
fresh_store
DS=$(csql "SELECT id FROM datastreams")
BASE_US=1893456000000000

# serve: a server on CSTORE (PID, URL)
serve() {
  rm -f "$T/serve.err"
  INSITU_SERVE_TOKEN=s3cret "$INSITU" --store "$CSTORE" serve --listen 127.0.0.1:0 --threads 2 \
    2>"$T/serve.err" &
  PID=$!
  serve_wait
}
at_exit '[ -n "${PID:-}" ] && kill -9 "$PID" 2>/dev/null'

INFLIGHT=0 MID=0 PROBLEMS=0
: >"$T/client.log"
serve
kp=0
delays "$POINTS" "$WINDOW" 4 >"$T/delays"
while read -r delay; do
  kp=$((kp + 1))
  ended_before=$(open_transactions)
  rm -f "$T/round.log"
  python3 "$CLIENT" post "$URL" s3cret "$DS" "$ROWS" "$(wc -l <"$T/client.log")" "$T/round.log" &
  client=$!
  # the client's first batch is answered: the server is writing
  wait_file "$T/round.log" "$client"
  sleep "$delay"
  kill -KILL "$PID"
  wait "$PID" 2>/dev/null
  wait "$client"
  cat "$T/round.log" >>"$T/client.log"
  problems=""
  serve
  fetch GET "$URL/Datastreams($DS)/Observations?\$count=true&\$top=0"
  [ "$CODE" = 200 ] || problems="the restarted server answers $CODE: $BODY"
  api_count=$(py 'd["@iot.count"]' 2>/dev/null)
  # batch|result|rows (the '|' separated columns of sqlite3 and psql -A)
  csql "SELECT (phenomenon_start - $BASE_US) / ($ROWS * 1000000), result, count(*)
        FROM observations WHERE datastream_id = $DS AND phenomenon_start >= $BASE_US
        GROUP BY 1, 2 ORDER BY 1" >"$T/counts"
  python3 "$CLIENT" check "$ROWS" "$T/client.log" "$T/counts" >"$T/check"
  summary=$(tail -n 1 "$T/check")
  [ "$(wc -l <"$T/check")" -gt 1 ] && problems="$problems $(head -n -1 "$T/check" | head -n 5)"
  stored=$(csql "SELECT count(*) FROM observations WHERE datastream_id = $DS")
  [ "$api_count" = "$stored" ] || problems="$problems the API counts $api_count observations, the store $stored"
  sound=$(store_sound)
  [ -n "$sound" ] && problems="$problems $sound"
  inflight=$(grep -c noanswer "$T/round.log")
  INFLIGHT=$((INFLIGHT + inflight))
  [ "$(open_transactions)" -gt "$ended_before" ] && MID=$((MID + 1))
  desc="server kill $kp at ${delay}s after its first answer ($(wc -l <"$T/round.log") batches sent, $inflight in flight; so far $summary): answered batches kept, none partial, sound"
  if [ -z "$problems" ]; then ok "$desc"; else PROBLEMS=$((PROBLEMS + 1)); not_ok "$desc" "$problems" "seed $KILL_SEED"; fi
done <"$T/delays"
stop_server
equal "the last server stops cleanly" "$STOP_RC" 0
equal "each killed server's run stays 'running' (the last one wrote nothing: no run)" \
  "$(csql "SELECT status || ' ' || count(*) FROM ingest_runs WHERE ingester = 'sta' GROUP BY status")" \
  "running $POINTS"
echo "# server kill points $POINTS ($BACKEND): a request in flight at $INFLIGHT (PostgreSQL: $MID" \
  "ended inside a transaction); $(tail -n 1 "$T/check"); kill points with a problem $PROBLEMS"
done_testing
