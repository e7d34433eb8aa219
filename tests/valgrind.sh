#!/bin/sh
# make check-valgrind: every unit suite, and the insitu binary on the README walk-through,
# under valgrind. Fails on any memory error or definite leak (what third-party libraries keep
# reachable until exit is not a leak).
set -u
VG="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99"
status=0
for t in "$@"; do
  echo "valgrind: $t"
  if ! $VG "./$t" >"$t.valgrind.log" 2>&1; then
    grep -v '^ok' "$t.valgrind.log" | tail -n 40
    status=1
  fi
done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
S="$T/vg.db"
for args in "init" \
    "ingest $INSITU_TEST_DATA/theia/CATC_package.zip" \
    "ingest --lenient $INSITU_TEST_DATA/theia/TEST" \
    "ingest $INSITU_TEST_DATA/csv/hydroweb_wse_long.csv" \
    "ingest $INSITU_TEST_DATA/csv/hydroweb_wse_long.csv" \
    "things --format geojson" "datastreams --thing 1" "sources --format json" \
    "query --thing 1 --format waterml2" "query --datastream 3 --aggregate day --stat mean" \
    "ingest $INSITU_TEST_DATA/raster/stations.csv $INSITU_TEST_DATA/raster/ndvi_insitu.csv" \
    "sample --product MOD13Q1 --property NDVI --scale 0.0001 --nodata -3000 $INSITU_TEST_DATA/raster/mod13q1" \
    "sample --product RGB --window 3 --mask $INSITU_TEST_DATA/raster/rasterio/RGB.byte.tif --date 2020-01-01 $INSITU_TEST_DATA/raster/rasterio/RGB.byte.tif" \
    "matchup --insitu ndvi_insitu --product NDVI --tolerance P2D --format json --plot $T/plot.svg"; do
  echo "valgrind: insitu $args"
  # shellcheck disable=SC2086
  if ! $VG "$INSITU" --store "$S" $args >"$T/out" 2>&1; then
    tail -n 40 "$T/out"
    status=1
  fi
done
# downloads and pulls, against the tests' local server
mkdir "$T/www"
python3 "$(dirname "$0")/httpd.py" --root "$INSITU_TEST_DATA" --port-file "$T/port" \
  --log "$T/www/log" &
HTTPD=$!
trap 'kill $HTTPD 2>/dev/null; wait $HTTPD 2>/dev/null; rm -rf "$T"' EXIT
i=0
while [ ! -s "$T/port" ] && [ $i -lt 1200 ] && kill -0 $HTTPD 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
U="http://127.0.0.1:$(cat "$T/port")"
export INSITU_CACHE_DIR="$T/cache"
for args in "ingest --retry-delay 0.01 $U/fail500/1/hydroweb/hydroweb_rivers_wse_2024-01-01-to-2024-01-31.csv" \
    "ingest --retries 0 $U/truncate/csv/wide_interval.csv" \
    "ingest --retries 0 $U/truncate/csv/wide_interval.csv" \
    "pull hydroweb --base-url $U/geoserver/HYDROWEB/ows --from 2024-01-01 --to 2024-02-01 --page-size 1 R_APPROUAGUE_APPROUAGUE_KM0041 R_APPROUAGUE_APPROUAGUE_KM0047" \
    "pull hydrocron --base-url $U/hydrocron/v1 --from 2024-01-01 --to 2024-04-01 18180900091 1" \
    "pull theia $U/theia/theia/CATC_package.zip" "backup $T/backup.db"; do
  echo "valgrind: insitu $args"
  # shellcheck disable=SC2086
  $VG "$INSITU" --store "$S" $args >"$T/out" 2>&1
  if [ $? = 99 ]; then
    tail -n 40 "$T/out"
    status=1
  fi
done
# failing commands must not leak either: a bad row, a raster given to ingest, rasters that
# hold none of the selected stations (no run left), a property the station lacks, a 404,
# mistyped options and commands
printf 'time,value\n2020-01-01,x\n' >"$T/bad.csv"
# issue 17's hostile files: NUL bytes, a lone CR, a line over max_line, a leap second
printf 'time,value\n2020-01-01,1\0\0\n' >"$T/nul.csv"
printf 'time,value\r2020-01-01,1\r' >"$T/cr.csv"
printf 'time,value\n2020-01-01,%04096d\n' 1 >"$T/long.csv"
printf 'time,value\n2016-12-31T23:59:60Z,1\n' >"$T/leap.csv"
for args in "ingest $T/bad.csv" "ingest $T/nul.csv" "ingest $T/cr.csv" \
    "ingest --set max_line=1K $T/long.csv" "ingest $T/leap.csv" "backup $T/backup.db" \
    "ingest $INSITU_TEST_DATA/raster/mod13q1/TERRA_MODIS_012010_NDVI_2013-09-14.jp2" \
    "sample --product MOD13Q1 --thing R_MARONI_TAPANAHONY_KM0198 $INSITU_TEST_DATA/raster/mod13q1" \
    "sample --product X --window 4 $INSITU_TEST_DATA/raster/mod13q1" \
    "query --thing R_MARONI_TAPANAHONY_KM0198 --property discharge" \
    "ingest --retries 0 $U/data/none.csv" "ingest --formt csv $T/bad.csv" "ingset"; do
  echo "valgrind: insitu $args (fails)"
  # shellcheck disable=SC2086
  $VG "$INSITU" --store "$S" $args >"$T/out" 2>&1
  [ $? = 99 ] && { tail -n 40 "$T/out"; status=1; }
done
# the server: reads, a write with a credential, refused writes, errors, then SIGTERM
echo "valgrind: insitu serve"
rm -f "$T/serve.err"
INSITU_SERVE_TOKEN=vg $VG "$INSITU" --store "$S" serve --listen 127.0.0.1:0 --threads 2 --read-store "$S" \
  --access-log "$T/access.log" 2>"$T/serve.err" &
pid=$!
url=""
# (a server under valgrind on a loaded machine is slow to start: up to 300 s, or until it exits)
for _ in $(seq 3000); do
  url=$(sed -n 's/^insitu: serving .* at \(http:[^ ]*\) .*/\1/p' "$T/serve.err" 2>/dev/null)
  [ -n "$url" ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
if [ -n "$url" ]; then
  for q in "" "/Things(1)?\$expand=Datastreams(\$expand=Observations(\$top=2))" \
      "/Observations?\$filter=result%20gt%201%20and%20year(phenomenonTime)%20ge%202000&\$count=true&\$top=2" \
      "/Datastreams(1)/Observations?aggregate=day" "/Things?\$filter=bad%20'" "/Nope"; do
    curl -s -o /dev/null "$url$q"
  done
  curl -s -o /dev/null -X POST -H 'Authorization: Bearer vg' \
    -d '{"name":"vg","description":"d","Locations":[{"name":"l","description":"d","encodingType":"application/geo+json","location":{"type":"Point","coordinates":[1,2]}}]}' "$url/Things"
  curl -s -o /dev/null -X POST -d '{}' "$url/Things"
fi
kill -TERM $pid
wait $pid
rc=$?
if [ -z "$url" ] || [ $rc != 0 ]; then
  echo "valgrind: insitu serve exited $rc"
  tail -n 40 "$T/serve.err"
  status=1
fi
[ $status = 0 ] && echo "valgrind: no memory errors, no definite leaks"
exit $status
