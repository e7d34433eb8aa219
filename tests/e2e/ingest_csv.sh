#!/bin/sh
# End-to-end: the README's walk-through on CSV station series.
. "$INSITU_TEST_LIB"

insitu init >/dev/null
expect 0 "ingest a long CSV" "ingested" "5 things, 5 datastreams, 13 observations" -- \
  insitu ingest "$DATA/csv/hydroweb_wse_long.csv"
equal "no progress line when stderr is not a terminal" "$ERR" ""
run insitu things --format geojson
equal "things --format geojson is a FeatureCollection of the 5 stations" \
  "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["type"], len(d["features"]), d["features"][0]["geometry"]["type"])')" \
  "FeatureCollection 5 Point"
expect 0 "datastreams of thing 1" "water_surface_height" "R_APPROUAGUE_APPROUAGUE_KM0041" -- \
  insitu datastreams --thing 1
run insitu query --thing R_MARONI_TAPANAHONY_KM0198 --property water_surface_height \
  --from 2023-11-01 --to 2024-01-01 --format csv
equal "query gives the contract's CSV columns and the series in time order" "$OUT" \
"datastream_id,thing,observed_property,unit,phenomenon_time,result,result_quality,phenomenon_time_end,parameters
4,R_MARONI_TAPANAHONY_KM0198,water_surface_height,m,2023-11-04T01:35:00Z,48.96,,,
4,R_MARONI_TAPANAHONY_KM0198,water_surface_height,m,2023-12-01T01:35:00Z,49,,,
4,R_MARONI_TAPANAHONY_KM0198,water_surface_height,m,2023-12-28T01:35:00Z,49.15,,,"
run insitu query --datastream 3 --aggregate month --stat mean
equal "query --aggregate month --stat mean" "$(printf '%s\n' "$OUT" | sed -n 2p)" \
  "3,R_MARONI_OELEMARI_KM0387,water_surface_height,m,2023-11-01T00:00:00Z,122.36,,2023-12-01T00:00:00Z,1"
expect 0 "query -o writes a file" "rows written to" -- insitu query --thing 1 -o "$T/out.csv"
equal "the file holds the rows" "$(wc -l <"$T/out.csv")" 2
before=$(sql "SELECT count(*) FROM observations")
expect 0 "re-ingesting the same file is skipped" "skipped" "unchanged" -- \
  insitu ingest "$DATA/csv/hydroweb_wse_long.csv"
equal "re-ingesting changes no observation" "$(sql "SELECT count(*) FROM observations")" "$before"
run insitu sources
equal "sources shows the complete and the skipped run" \
  "$(printf '%s\n' "$OUT" | cut -d, -f2 | tail -n +2 | tr '\n' ' ')" "complete skipped "
expect 0 "sources as JSON" '"checksum":"' -- insitu sources --format json
# a changed copy of a source replaces the old version
cp "$DATA/csv/time_value.csv" "$T/series.csv"
insitu ingest "$T/series.csv" >/dev/null
sed -i 's/^2020-02-01T00:00:00Z,10$/2020-02-01T00:00:00Z,11/; /2020-01-02T06/d' "$T/series.csv"
expect 0 "a changed source is ingested again" "1 deleted" "replaces run" -- insitu ingest "$T/series.csv"
equal "the changed value is there" \
  "$(sql "SELECT CAST(result AS INTEGER) FROM observations o JOIN datastreams d ON d.id = o.datastream_id JOIN things t ON t.id = d.thing_id WHERE t.code = 'series' AND o.phenomenon_start = 1580515200000000")" "11"
equal "the removed row is gone" \
  "$(sql "SELECT count(*) FROM observations o JOIN datastreams d ON d.id = o.datastream_id JOIN things t ON t.id = d.thing_id WHERE t.code = 'series'")" 4
# settings from the command line and from a mapping file
cat >"$T/gauge.map" <<'MAP'
# a mapping file: one key = value per line
sep = ;
decimal = ,
time_format = %d/%m/%Y %H:%M
tz = Europe/Paris
missing = -9999
thing = V7200010
MAP
expect 0 "a mapping file describes a French gauge export" "2 datastreams, 8 observations" \
  "1 null" -- insitu ingest --mapping "$T/gauge.map" "$DATA/csv/gauge_local_time.csv"
run insitu query --thing V7200010 --property Hauteur --format json
equal "local times are stored in UTC" \
  "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print([r["phenomenon_time"] for r in json.load(sys.stdin)][2])')" \
  "2024-03-31T01:00:00Z"
# a folder of files: each file is its own source; one bad file does not stop the others
mkdir "$T/folder"
cp "$DATA/csv/wide_interval.csv" "$DATA/csv/time_value.csv" "$T/folder/"
printf 'time,value\n2020-01-01,oops\n' >"$T/folder/zz_bad.csv"
expect 1 "a folder ingests file by file and reports the bad one" "zz_bad.csv:2" \
  "1 source failed" "ingested $T/folder/wide_interval.csv" -- insitu ingest "$T/folder"
# a station that exists with a property it does not have: say so, with what it has
expect 1 "a query of a property the station lacks says so" \
  "thing 'R_MARONI_TAPANAHONY_KM0198': no datastream of property 'discharge'" \
  "its properties: water_surface_height" -- \
  insitu query --thing R_MARONI_TAPANAHONY_KM0198 --property discharge
expect 1 "a property no datastream has names the store's properties" \
  "property 'water_surface_heigth': no datastream has it" "water_surface_height" -- \
  insitu query --property water_surface_heigth
expect 1 "so does the datastreams listing" "no datastream of property 'discharge'" -- \
  insitu datastreams --thing R_MARONI_TAPANAHONY_KM0198 --property discharge
expect 0 "a property in another case still selects" "48.96" -- \
  insitu query --thing R_MARONI_TAPANAHONY_KM0198 --property Water_Surface_Height
# the same bytes under another name, where the station is named after the file, are another
# station: not "the same content" (issue 14: b's station was never made)
cp "$DATA/csv/time_value.csv" "$T/a.csv"
cp "$DATA/csv/time_value.csv" "$T/b.csv"
insitu ingest "$T/a.csv" >/dev/null
expect 0 "a copy named b.csv is station b, not a repeat of a.csv" "ingested $T/b.csv" \
  "5 observations" -- insitu ingest "$T/b.csv"
equal "stations a and b both exist" \
  "$(sql "SELECT count(*) FROM things WHERE namespace = 'csv' AND code IN ('a', 'b')")" 2
expect 0 "a.csv again is still a no-op" "skipped $T/a.csv" "unchanged" -- insitu ingest "$T/a.csv"
expect 0 "--dry-run validates without writing" "validated" -- \
  insitu ingest --dry-run --force "$DATA/csv/wide_interval.csv"
done_testing
