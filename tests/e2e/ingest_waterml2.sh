#!/bin/sh
# End-to-end: WaterML 2.0 in and out. A real USGS NWIS document; a store's series exported
# as WaterML 2.0 and ingested into a second store give the same stations and values.
. "$INSITU_TEST_LIB"

if [ "$BACKEND" = postgresql ]; then
  sql "CREATE DATABASE roundtrip" >/dev/null
  STORE2="${STORE%/*}/roundtrip"
else
  STORE2="$T/second.db"
fi
insitu2() { "$INSITU" --store "$STORE2" "$@"; }

insitu init >/dev/null
expect 0 "formats lists the WaterML 2.0 ingester" "waterml2" -- insitu formats
expect 0 "a USGS WaterML 2.0 document is recognised and ingested" \
  "(waterml2): 1 things, 1 datastreams, 33 observations" "3 null" -- \
  insitu ingest "$DATA/waterml2/usgs_435601087432701_precipitation.xml"
run insitu query --thing "HIKA RAIN GAGE NEAR CLEVELAND, WI" --from 2012-09-06 --to 2012-09-08 --format csv
equal "its series in UTC, with the point qualifiers" "$(printf '%s\n' "$OUT" | cut -d, -f6- | tail -n +2)" \
"2012-09-06T18:00:00Z,0,Provisional data subject to revision.,,
2012-09-07T18:00:00Z,0.21,Provisional data subject to revision.,,"

# the round trip: CSV -> store -> WaterML 2.0 -> second store
expect 0 "ingest the CSV series" "5 things" -- insitu ingest "$DATA/csv/hydroweb_wse_long.csv"
expect 0 "export every CSV series as WaterML 2.0" "rows written to" -- \
  insitu query --property water_surface_height --format waterml2 -o "$T/series.xml"
equal "the export is well-formed XML with 5 monitoring points" \
  "$(python3 -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); print(len(r.findall(".//{http://www.opengis.net/waterml/2.0}MonitoringPoint")))' "$T/series.xml")" 5
insitu2 init >/dev/null
expect 0 "the export is ingested into a second store" \
  "(waterml2): 5 things, 5 datastreams, 13 observations" -- insitu2 ingest "$T/series.xml"
run insitu query --property water_surface_height --format csv
first=$(printf '%s\n' "$OUT" | cut -d, -f2- | sort)
run insitu2 query --property water_surface_height --format csv
equal "the same stations, properties, units, times, values and qualities" \
  "$(printf '%s\n' "$OUT" | cut -d, -f2- | sort)" "$first"
run insitu things --format geojson
a=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(sorted((f["properties"]["name"], f["geometry"]["coordinates"]) for f in json.load(sys.stdin)["features"] if f["geometry"] and f["properties"]["namespace"] == "csv"))')
run insitu2 things --format geojson
b=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(sorted((f["properties"]["name"], f["geometry"]["coordinates"]) for f in json.load(sys.stdin)["features"] if f["geometry"]))')
equal "the same station positions" "$b" "$a"
expect 0 "the same export again is skipped" "skipped" -- insitu2 ingest "$T/series.xml"

# bad input: a clear error, no change
head -c 6000 "$T/series.xml" >"$T/cut.xml"
before=$(sql "SELECT count(*) FROM observations")
expect 1 "a truncated document fails naming the file and line" \
  "waterml2: cut.xml: not well-formed XML: line" -- insitu ingest --format waterml2 "$T/cut.xml"
equal "and changes nothing" "$(sql "SELECT count(*) FROM observations")" "$before"
done_testing
