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
equal "an unknown command is one line and a pointer to --help, not the whole help" "$ERR" \
"insitu: 'frobnicate' is not a command
(see 'insitu --help')"
expect 2 "an unknown option is bad usage" "see 'insitu query --help'" -- "$INSITU" query --bogus

# mistakes are told once (not getopt's message beside insitu's), with the nearest name
run "$INSITU" ingset
equal "a mistyped command: did you mean (exit 2)" "$RC: $ERR" \
"2: insitu: 'ingset' is not a command (did you mean 'ingest'?)
(see 'insitu --help')"
run "$INSITU" ingest --formt csv a.csv
equal "a mistyped option: one line, did you mean (exit 2)" "$RC: $ERR" \
"2: insitu ingest: unknown option '--formt' (did you mean '--format'?)
(see 'insitu ingest --help')"
run "$INSITU" ingest --f csv a.csv
equal "an ambiguous abbreviation lists its candidates" "$RC: $ERR" \
"2: insitu ingest: ambiguous option '--f' (could be --format or --force)
(see 'insitu ingest --help')"
run "$INSITU" ingest --format
equal "an option without its value" "$RC: $ERR" \
"2: insitu ingest: --format: needs a value
(see 'insitu ingest --help')"
run "$INSITU" ingest --dry-run=yes a.csv
equal "a value given to an option that takes none" "$RC: $ERR" \
"2: insitu ingest: --dry-run: takes no value (got 'yes')
(see 'insitu ingest --help')"
run "$INSITU" things -o
equal "a short option without its value names its long name" "$RC: $ERR" \
"2: insitu things: -o (--output): needs a value
(see 'insitu things --help')"
run "$INSITU" query -x
equal "an unknown short option" "$RC: $ERR" \
"2: insitu query: unknown option '-x'
(see 'insitu query --help')"
run "$INSITU" ingest --bogus a.csv
equal "an unknown option with nothing near: no suggestion" "$RC: $ERR" \
"2: insitu ingest: unknown option '--bogus'
(see 'insitu ingest --help')"
run "$INSITU" --verison
equal "insitu's own options are suggested too" "$RC: $ERR" \
"2: insitu: unknown option '--verison' (did you mean '--version'?)
(see 'insitu --help')"
run "$INSITU" sample --help
case $OUT in
*"--definition URI"*) ok "sample --help lists --definition, which the parser takes" ;;
*) not_ok "sample --help lists --definition, which the parser takes" "$OUT" ;;
esac

# --format: each command's own choices, in plain words, before the store is opened
run "$INSITU" --store "$T/none.db" things --format xml
equal "things --format: its choices" "$RC: $ERR" \
"2: insitu things: --format xml: expected csv, json or geojson
(see 'insitu things --help')"
run "$INSITU" --store "$T/none.db" query --format xml
equal "query --format: its choices" "$RC: $ERR" \
"2: insitu query: --format xml: expected csv, json, geojson or waterml2
(see 'insitu query --help')"
run "$INSITU" --store "$T/none.db" sources --format geojson
equal "sources --format: csv or json" "$RC: $ERR" \
"2: insitu sources: --format geojson: expected csv or json
(see 'insitu sources --help')"
run "$INSITU" --store "$T/none.db" matchup --insitu a --product b --tolerance 1d -f xml
equal "matchup --format: csv or json" "$RC: $ERR" \
"2: insitu matchup: --format xml: expected csv or json
(see 'insitu matchup --help')"

# version 2: PostgreSQL's adds the SQL functions of the SensorThings filter, SQLite's
# replaces SpatiaLite's R*Tree triggers; 3 keeps the observations' texts once (obs_texts);
# 4 records the file name a run depended on (ingest_runs.source_name); 5 gives API creates
# keys of their own (observed_properties.key, observations.seq) and never gives an id twice;
# 6 keeps each Datastream's observedArea (datastreams.area_*)
newest=7
# a store that does not exist: writers create it and say so, the others do not
run "$INSITU" --store "$T/nofolder/x.db" init
equal "init into a folder that does not exist names the folder" "$RC: $ERR" \
"1: insitu: $T/nofolder/x.db: cannot create the store: the folder $T/nofolder does not exist"
run "$INSITU" --store "$T/demo.dbb" -q ingest "$DATA/csv/time_value.csv"
equal "ingest into a missing store creates it and says so, even with -q" "$RC: $ERR" \
"0: insitu: $T/demo.dbb: no store there, created a new one (schema version $newest)"
run "$INSITU" --store "$T/demo.dbb" -q ingest --force "$DATA/csv/time_value.csv"
equal "into the store it created: nothing said" "$RC: $ERR" "0: "
run "$INSITU" --store "$T/none.db" sample --product X "$DATA/raster/mod13q1"
equal "sample does not create a store" "$RC: $ERR" \
"1: insitu: $T/none.db: no such store (create it with 'insitu --store $T/none.db init')"
equal "no file was made" "$(ls "$T" | grep -c '^none\.db')" 0
if [ "$BACKEND" = postgresql ]; then
  psql -X -q "$STORE" -c "CREATE DATABASE insitu_fresh" >/dev/null
  FRESH=${STORE%/*}/insitu_fresh
  run "$INSITU" --store "$FRESH" -q ingest "$DATA/csv/time_value.csv"
  equal "ingest into a database without insitu tables creates them and says so" "$RC: $ERR" \
"0: insitu: $FRESH: no insitu tables there, created them (schema version $newest)"
fi
expect 1 "a missing store fails, naming it" "$T/none.db" "no such store" -- \
  "$INSITU" --store "$T/none.db" things
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
expect 2 "a bad output format is bad usage" "--format xlsx: expected csv, json or geojson" -- \
  insitu things --format xlsx
expect 1 "an unknown thing fails" "thing 'nowhere': no such thing" -- \
  insitu datastreams --thing nowhere
INSITU_STORE="$STORE" run "$INSITU" sources
equal "INSITU_STORE names the default store" "$RC" 0
done_testing
