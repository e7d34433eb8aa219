#!/bin/sh
# End-to-end: `insitu pull sta` harvests a SensorThings endpoint: a real `insitu serve` on a
# loopback port, over a SQLite store built from tests/data, harvested into the store under
# test (SQLite, or PostgreSQL in the .pgsh twin); then both stores are compared, the harvest
# is repeated (nothing new: nothing written), new Observations are POSTed and harvested
# (only they are fetched), and the URL forms and the mistakes are checked.
. "$INSITU_TEST_LIB"

A="$T/a.db"
"$INSITU" --store "$A" init >/dev/null
"$INSITU" --store "$A" ingest "$DATA/csv/hydroweb_wse_long.csv" "$DATA/theia/CATC_package.zip" \
  "$DATA/hydroweb/" "$DATA/waterml2/usgs_435601087432701_precipitation.xml" >/dev/null
export INSITU_CACHE_DIR="$T/cache"

PID=""
at_exit '[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null'
# the access log on stderr: each line written at once (a file is flushed once a second)
INSITU_SERVE_TOKEN=s3cret "$INSITU" --store "$A" serve --listen 127.0.0.1:0 --threads 2 \
  --access-log - 2>"$T/serve.err" &
PID=$!
serve_wait
requests() { grep -c "$1" "$T/serve.err"; }

# what a store holds, without its own ids and keys: Things, Datastreams, Observations, as
# sorted JSON rows of the listings
rows() {
  "$INSITU" --store "$1" "$2" --format json | python3 -c 'import json, sys
drop = set(sys.argv[1:])
rows = [json.dumps({k: v for k, v in r.items() if k not in drop}, sort_keys=True)
        for r in json.load(sys.stdin)]
print("\n".join(sorted(rows)))' $3
}
things() { rows "$1" things "id code namespace"; }
datastreams() { rows "$1" datastreams "id thing_id"; }
observations() { rows "$1" query "datastream_id"; }
same_as_served() {
  equal "$1: the same Things (names, descriptions, locations, properties)" \
    "$(things "$STORE")" "$(things "$A")"
  equal "$1: the same Datastreams (property, unit, sensor, counts, spans, properties)" \
    "$(datastreams "$STORE")" "$(datastreams "$A")"
  equal "$1: the same Observations (times, results, quality, parameters)" \
    "$(observations "$STORE")" "$(observations "$A")"
}

n_ds=$(sqlite3 "$A" "SELECT count(*) FROM datastreams")
expect 0 "pull sta: every Datastream of the endpoint, one source each" \
  "ingested $URL/Datastreams(1)/Observations?" "(sta)" -- insitu pull sta "$URL"
equal "one complete run per Datastream" \
  "$(sql "SELECT count(*) FROM ingest_runs WHERE ingester = 'sta' AND status = 'complete'")" "$n_ds"
same_as_served "a first harvest"
equal "Things keep the endpoint as namespace, their remote ids as codes" \
  "$(sql "SELECT count(*) FROM things WHERE namespace = '$URL' AND code = '1'")" 1

# again: nothing newer, so nothing is written and the requests ask only for newer ones
runs=$(sql "SELECT count(*) FROM ingest_runs")
expect 0 "a second harvest: every Datastream has nothing new" "skipped" \
  "no data: no observation after" -- insitu pull sta "$URL"
equal "... and writes no run" "$(sql "SELECT count(*) FROM ingest_runs")" "$runs"
equal "... asking each Datastream only for what is newer (phenomenonTime gt)" \
  "$(requests 'Observations?.*[$]filter=phenomenonTime%20gt%20')" "$n_ds"

# new Observations on the server: the next harvest brings them, and only them
ds=$(sqlite3 "$A" "SELECT d.id FROM datastreams d JOIN things t ON t.id = d.thing_id WHERE t.code = 'R_MARONI_TAPANAHONY_KM0198' LIMIT 1")
fetch POST "$URL/CreateObservations" -H 'Authorization: Bearer s3cret' \
  -d '[{"Datastream":{"@iot.id":'"$ds"'},"components":["phenomenonTime","result","resultQuality"],"dataArray":[["2030-01-01T00:00:00Z",50.5,"good"],["2030-01-02T00:00:00Z",50.75,"good"]]}]'
equal "two new Observations on the server" "$CODE" "201"
run insitu pull sta "$URL"
equal "the next harvest: 2 new Observations of one Datastream, the others skipped" \
  "$RC $(printf '%s\n' "$OUT" | grep -c '^ingested') $(printf '%s\n' "$OUT" | grep -c '^skipped')" \
  "0 1 $((n_ds - 1))"
case $OUT in *"1 datastreams, 2 observations (2 inserted, 0 updated"*) ok "only the new ones are fetched and inserted" ;;
  *) not_ok "only the new ones are fetched and inserted" "$OUT" ;; esac
same_as_served "after an incremental harvest"

# the URL forms: one Datastream, a collection of them; paging by nextLink
rm -f "$T/b.db"
expect 0 "one Datastream by its URL" "1 datastreams" -- \
  "$INSITU" --store "$T/b.db" pull sta "$URL/Datastreams($ds)"
equal "... only it" "$(sqlite3 "$T/b.db" "SELECT count(*) FROM datastreams")" 1
expect 0 "a collection of Datastreams, pages of 2 followed by their nextLink" "(sta)" -- \
  "$INSITU" --store "$T/b.db" pull sta --page-size 2 "$URL/Things(1)/Datastreams"
equal "... the Observations of a series paged by 2 are all there" \
  "$(sqlite3 "$T/b.db" "SELECT count(*) FROM observations")" \
  "$(sqlite3 "$A" "SELECT count(*) FROM observations o JOIN datastreams d ON d.id = o.datastream_id WHERE d.thing_id = 1 OR d.id = $ds")"
expect 0 "--from and --to bound the harvest" "(sta)" -- \
  "$INSITU" --store "$T/c.db" pull sta --from 2030-01-01 --to 2030-01-02 "$URL/Datastreams($ds)"
equal "... to the Observations of the range" "$(sqlite3 "$T/c.db" "SELECT count(*) FROM observations")" 1

# mistakes
expect 2 "not a URL" "expected a SensorThings URL" -- insitu pull sta R_MARONI
expect 2 "a URL without a version segment" "expected a SensorThings URL" -- \
  insitu pull sta "http://127.0.0.1:1/nothing"
expect 1 "a Datastream that does not exist: its error, and the summary line" \
  "HTTP 404" "1 source failed (of 1)" -- insitu pull sta --retries 0 "$URL/Datastreams(999999)"
stop_server
equal "the server stopped cleanly" "$STOP_RC" 0
done_testing
