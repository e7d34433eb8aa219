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
# a failing ingest must not leak either
printf 'time,value\n2020-01-01,x\n' >"$T/bad.csv"
$VG "$INSITU" --store "$S" ingest "$T/bad.csv" >"$T/out" 2>&1
[ $? = 99 ] && { tail -n 40 "$T/out"; status=1; }
[ $status = 0 ] && echo "valgrind: no memory errors, no definite leaks"
exit $status
