#!/bin/sh
# End-to-end: polygon Things from a GeoJSON FeatureCollection and a zipped Lambert-93
# shapefile (the vector ingester), `insitu sample --bands` on an N2A-like stack, periods from
# product names (L3A month, OSO year, snow L3B hydrological year) and from --period, and a
# Cloud-Optimised GeoTIFF sampled through HTTP range requests from tests/httpd.py. Every
# value is checked against numbers computed here with GDAL's Python bindings and numpy
# (tests/e2e/vector_bands.py), never with insitu.
. "$INSITU_TEST_LIB"
HERE="$(dirname "$INSITU_TEST_LIB")"
PY=python3
$PY -c 'import osgeo, numpy' 2>/dev/null || PY=/usr/bin/python3
$PY "$HERE/vector_bands.py" make "$T" || { not_ok "fixtures written"; done_testing; exit 1; }
(cd "$T" && zip -q bv.zip bv.shp bv.shx bv.dbf bv.prj)
STACK="$T/SENTINEL2A_20180315-103021-456_L2A_T31TCJ_C_V2-2_FRE_STACK.tif"
rows() { $PY "$HERE/vector_bands.py" rows; }
$PY "$HERE/vector_bands.py" window "$STACK" 3 >"$T/window.txt"
# product_rows PRODUCT...: the sorted rows (thing,property,start,end,result,quality) of the
# Datastreams of these product Sensors
product_rows() {
  ids=""
  for p in "$@"; do
    for id in $(sql "SELECT d.id FROM datastreams d JOIN sensors s ON s.id = d.sensor_id WHERE s.code = '$p'"); do
      ids="$ids --datastream $id"
    done
  done
  # shellcheck disable=SC2086
  insitu query --format csv $ids | rows
}

insitu init >/dev/null

# ---- polygon Things ----
expect 0 "a GeoJSON FeatureCollection: a Thing per feature" \
  "ingested $T/lakes.geojson (vector): 2 things, 0 datastreams, 0 observations" -- \
  insitu ingest "$T/lakes.geojson"
expect 0 "a zipped Lambert-93 shapefile, named and coded by its fields" \
  "ingested $T/bv.zip (vector): 2 things" -- \
  insitu ingest --set name_field=NOM --set id_field=CODE --set namespace=bv "$T/bv.zip"
run insitu things --format csv
equal "locations in EPSG:4326 equal GDAL's transformation of the vertices to 1e-9 degrees" \
  "$(printf '%s\n' "$OUT" | $PY "$HERE/vector_bands.py" locations "$T/expected_locations.json")" \
  "4 ok"
equal "names from the name property and from --set name_field" \
  "$(sql "SELECT code || '=' || name FROM things WHERE namespace IN ('vector:lakes', 'bv') ORDER BY code")" \
"LK1=Lac de Saint-Ferreol
LK2=Lac de la Ganguise
O0130010=Bassin O0130010
O0200020=Bassin O0200020"
equal "the other attributes are the Thing's properties" \
  "$(sql "SELECT properties FROM things WHERE code = 'LK1'")" '{"area_km2":0.67,"dam":true}'
things=$(sql "SELECT count(*) FROM things")
history=$(sql "SELECT count(*) FROM historical_locations")
expect 0 "ingesting again is skipped" "skipped $T/lakes.geojson (vector): unchanged" -- \
  insitu ingest "$T/lakes.geojson"
expect 0 "with --force it changes nothing" "ingested $T/bv.zip (vector): 2 things" -- \
  insitu ingest --force --set name_field=NOM --set id_field=CODE --set namespace=bv "$T/bv.zip"
equal "the same Things and no new HistoricalLocation" \
  "$(sql "SELECT count(*) FROM things") $(sql "SELECT count(*) FROM historical_locations")" \
  "$things $history"
printf '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"site":"A"},"geometry":{"type":"Point","coordinates":[1,2]}},{"type":"Feature","properties":{"site":"A"},"geometry":{"type":"Point","coordinates":[3,4]}}]}' >"$T/dup.geojson"
expect 1 "a repeated code names the file and the feature, and writes nothing" \
  "vector: dup.geojson: feature 1: code 'A' is also feature 0's" -- \
  insitu ingest --set id_field=site "$T/dup.geojson"
equal "nothing of it is stored" "$(sql "SELECT count(*) FROM things")" "$things"
expect 0 "a SWOT LakeSP product stays the swot-lake ingester's" "(swot-lake)" -- \
  insitu ingest --dry-run "$DATA/swot/SWOT_L2_HR_LakeSP_Prior_033_506_AU_20250605T225724_20250605T230824_PID0_01.zip"

# ---- several bands, periods ----
insitu ingest "$T/stations.csv" >/dev/null
expect 0 "--bands all: the 5 bands of the stack in one run" \
  "sampled $STACK: 15 stations, 1 missing, 15 datastreams" -- \
  insitu sample --product N2A --bands all "$STACK"
expect 0 "an L3A synthesis, an OSO map, a snow L3B synthesis" "sampled" -- \
  insitu sample --product THEIA "$T/SENTINEL2X_20180315-000000-000_L3A_T31TCJ_C_V2-2_FRE_B4.tif" \
  "$T/OCS_2018_CESBIO.tif" "$T/SENTINEL2X_20180115-000000-000_L3B-SNOW_T31TCJ_C_V1-0_SCD.tif"
equal "values equal numpy's pixels; properties from the band descriptions; periods from the names" \
  "$(product_rows N2A THEIA)" "$(cat "$T/expected_rasters.txt")"
equal "one Datastream per band, qualifier bandN/nearest" \
  "$(sql "SELECT DISTINCT qualifier FROM datastreams d JOIN sensors s ON s.id = d.sensor_id WHERE s.code = 'N2A' ORDER BY qualifier")" \
"band1/nearest
band2/nearest
band3/nearest
band4/nearest
band5/nearest"
expect 0 "sampling the stack again is skipped" "skipped $STACK: unchanged" -- \
  insitu sample --product N2A --bands all "$STACK"
expect 0 "--bands 2,4 with --property and --period P1M" "6 stations, 0 missing" -- \
  insitu sample --product N2A-M --property FRE --bands 2,4 --period P1M "$STACK"
equal "named PROPERTY DESCRIPTION, over the month of the acquisition" \
  "$(product_rows N2A-M | grep '^ST1,' | cut -d, -f1-4)" \
"ST1,FRE B3,2018-03-01T00:00:00Z,2018-04-01T00:00:00Z
ST1,FRE B8,2018-03-01T00:00:00Z,2018-04-01T00:00:00Z"
insitu sample --product N2A-H --bands 1 --period hydro-year "$STACK" >/dev/null
insitu sample --product N2A-X --bands 1 --period 2018-03-10/2018-03-20 "$STACK" >/dev/null
equal "--period hydro-year and an explicit interval" \
  "$(product_rows N2A N2A-H N2A-X | grep '^ST2,B2,' | cut -d, -f3,4 | sort -u)" \
"2017-09-01T00:00:00Z,2018-09-01T00:00:00Z
2018-03-10T00:00:00Z,2018-03-20T00:00:00Z
2018-03-15T10:30:21.456Z,"
insitu sample --product N2A-W --bands 3 --window 3 "$STACK" >/dev/null
equal "--bands with --window 3: the means of numpy's valid window pixels (the nodata one left out), to 1e-9" \
  "$(product_rows N2A-W | $PY -c "
import sys
want = dict(l.strip().split(',') for l in open('$T/window.txt'))
for l in sys.stdin:
    f = l.strip().split(',')
    print(f[0], f[1], abs(float(f[4]) - float(want[f[0]])) <= 1e-9)" )" \
"ST1 B4 True
ST2 B4 True
ST3 B4 True"
expect 2 "a bad --bands is a usage error naming it" "--bands 1,x: expected all or band numbers" -- \
  insitu sample --product X --bands 1,x "$STACK"
expect 2 "a bad --period too" "--period P1Q:" -- insitu sample --product X --period P1Q "$STACK"
expect 1 "a band the raster does not have" "band 7: the raster has 5 bands" -- \
  insitu sample --product X --bands 1,7 "$STACK"

# ---- a remote COG through HTTP range requests ----
COG=SENTINEL2B_20180320-103021-000_L2A_T31TCJ_C_V2-2_FRE_COG.tif
python3 "$HERE/../httpd.py" --root "$DATA" --port-file "$T/port" --log "$T/requests.log" \
  --scratch "$T/scratch" &
SERVER=$!
at_exit 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null'
wait_file "$T/port" "$SERVER"
U="http://127.0.0.1:$(cat "$T/port")/scratch/$COG"
equal "the server answers a Range request with 206 and those bytes" \
  "$(curl -s -o "$T/range" -w '%{http_code} %{size_download}' -r 100-199 "$U")" "206 100"
equal "the bytes of the file" "$(cmp -n 100 "$T/range" "$T/scratch/$COG" 0 100 && echo same)" same
: >"$T/requests.log"
expect 0 "insitu sample URL --bands all" "sampled $U: 16 stations" -- \
  insitu sample --product COG --bands all "$U"
expect 0 "the same file sampled locally" "sampled" -- \
  insitu sample --product COG-LOCAL --bands all "$T/scratch/$COG"
remote=$(product_rows COG)
# 3 stations and 1 lake polygon (zonal statistics) x 4 bands
equal "16 values read remotely" "$(printf '%s\n' "$remote" | grep -c ',2018-03-20T10:30:21Z,,[0-9]')" 16
equal "the remote values equal the local file's" "$remote" "$(product_rows COG-LOCAL)"
size=$(wc -c <"$T/scratch/$COG")
served=$(grep "/scratch/$COG" "$T/requests.log" | sed -n 's/.*| bytes=\([0-9]*\)-\([0-9]*\) |.*/\1 \2/p' |
  awk '{ s += $2 - $1 + 1 } END { print s + 0 }')
whole=$(grep "/scratch/$COG" "$T/requests.log" | grep -c '^GET [^|]*|  |')
# the lake polygon reads the tiles under it: a quarter of the file
if [ "$served" -gt 0 ] && [ "$served" -lt $((size / 3)) ] && [ "$whole" = 0 ]; then
  ok "range requests only: $served of $size bytes"
else
  not_ok "range requests only" "served $served of $size bytes, $whole whole-file GETs" \
    "$(cat "$T/requests.log")"
fi
equal "the run's source is the URL" \
  "$(sql "SELECT source FROM ingest_runs WHERE source LIKE 'http%'")" "$U"
expect 0 "sampling the URL again is skipped (size and Last-Modified unchanged)" \
  "skipped $U: unchanged" -- insitu sample --product COG --bands all "$U"
size_before=$(wc -c <"$T/scratch/$COG")
$PY "$HERE/vector_bands.py" cog "$T" 99
equal "the COG is written again with other values, same size" "$(wc -c <"$T/scratch/$COG")" "$size_before"
expect 0 "a file replaced at the URL is sampled again (the server's ETag changed)" \
  "sampled $U: 16 stations, 0 missing, 16 datastreams (0 inserted, 16 updated" -- \
  insitu sample --product COG --bands all "$U"
expect 0 "and the local copy" "16 updated" -- insitu sample --product COG-LOCAL --bands all "$T/scratch/$COG"
equal "the new remote values equal the new file's" "$(product_rows COG)" "$(product_rows COG-LOCAL)"
equal "and differ from the old ones" "$(product_rows COG | grep -c -x -F "$remote")" 0

expect 1 "a URL with no raster there names it" \
  "insitu: ${U%/*}/none.tif: cannot read it in place (HTTP range requests): no file there" -- \
  insitu sample --product COG "${U%/*}/none.tif"

done_testing
