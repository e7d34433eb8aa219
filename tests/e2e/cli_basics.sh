#!/bin/sh
# End-to-end: the command line contract: help, usage errors (exit 2), failures (exit 1).
. "$INSITU_TEST_LIB"

expect 0 "insitu --help lists the commands" "commands:" "ingest" "query" -- "$INSITU" --help
expect 0 "insitu --version" "insitu " -- "$INSITU" --version
for c in init ingest formats sources things datastreams query; do
  expect 0 "insitu $c --help" "usage: insitu" -- "$INSITU" "$c" --help
done
expect 2 "no command is bad usage" "usage:" -- "$INSITU"
expect 2 "an unknown command is bad usage" "'frobnicate' is not a command" -- "$INSITU" frobnicate
expect 2 "an unknown option is bad usage" "see 'insitu query --help'" -- "$INSITU" query --bogus
expect 1 "a missing store fails, naming it" "$T/none.db" "no such store" -- \
  "$INSITU" --store "$T/none.db" things
# version 2: PostgreSQL's adds the SQL functions of the SensorThings filter, SQLite's
# replaces SpatiaLite's R*Tree triggers; 3 keeps the observations' texts once (obs_texts);
# 4 records the file name a run depended on (ingest_runs.source_name)
newest=4
expect 0 "init creates the store" "schema version $newest" -- insitu init
expect 0 "init again changes nothing" "schema version $newest" -- insitu init
tables=0
for t in things locations sensors observed_properties datastreams observations features \
  historical_locations ingest_runs; do
  [ "$(sql "SELECT count(*) FROM $t")" = 0 ] && tables=$((tables + 1))
done
equal "the store holds the SensorThings tables, empty" "$tables" 9
expect 0 "formats lists the ingesters and their settings" "theia-pivot" "csv" "col.time" \
  "metadata_only" -- "$INSITU" formats
expect 2 "ingest without a source is bad usage" "no source given" -- insitu ingest
expect 2 "an unknown format is bad usage" "unknown format 'xls'" -- \
  insitu ingest --format xls "$DATA/csv/time_value.csv"
expect 2 "an unknown setting is bad usage" "colour" -- \
  insitu ingest --set colour=blue "$DATA/csv/time_value.csv"
expect 2 "--stat needs --aggregate" "--stat goes with --aggregate" -- insitu query --stat max
expect 2 "a bad aggregate is bad usage" "--aggregate week" -- insitu query --aggregate week
expect 2 "a bad bbox is bad usage" "--bbox 1,2,3" -- insitu things --bbox 1,2,3
expect 2 "a bad time is bad usage" "--from" "2020-13-01" -- insitu query --from 2020-13-01
expect 2 "a bad output format is bad usage" "format 'xlsx'" -- insitu things --format xlsx
expect 1 "an unknown thing fails" "thing 'nowhere': no such thing" -- \
  insitu datastreams --thing nowhere
INSITU_STORE="$STORE" run "$INSITU" sources
equal "INSITU_STORE names the default store" "$RC" 0
done_testing
