#!/bin/sh
# The main job on the embedded store with the shipped sample data: create a store, ingest
# THEIA/OZCAR producer packages, CSV station series, a SWOT RiverSP product, a Hydroweb series
# and a USGS WaterML 2.0 document, sample MODIS NDVI rasters at the stations, then list, query,
# export and match up what came in.
# usage: scripts/demo.sh [INSITU_BINARY] [SOURCE_DIR]
set -eu
INSITU=${1:-./insitu}
SRC=${2:-.}
DATA="$SRC/tests/data"
STORE=${DEMO_STORE:-demo.db}
rm -f "$STORE" "$STORE-wal" "$STORE-shm"
# run ARGS...: shows the command (arguments with spaces or ; quoted, as a user types them),
# then runs it on the demo store
run() {
  shown=""
  for a in "$@"; do
    case $a in *[\ \;\(\)]*) a="'$a'";; esac
    shown="$shown $a"
  done
  echo "\$ insitu --store $STORE$shown" | sed "s|$DATA|tests/data|g"
  "$INSITU" --store "$STORE" "$@"
  echo
}
run init
run ingest "$DATA/theia/CATC_package.zip"
run ingest --lenient "$DATA/theia/TEST"
run ingest "$DATA/csv/hydroweb_wse_long.csv"
run ingest --sep ';' --decimal , --time-format '%d/%m/%Y %H:%M' --tz Europe/Paris \
    --set missing=-9999 --thing V7200010 "$DATA/csv/gauge_local_time.csv"
run ingest "$DATA/csv/hydroweb_wse_long.csv"
run ingest "$DATA/swot/SWOT_L2_HR_RiverSP_Reach_049_058_AU_20260419T185249_20260419T190852_PID0_01.zip"
run ingest "$DATA/hydroweb/hydroprd_R_MARONI_OELEMARI_KM0387_from_20231101_to_20240131.json"
run ingest "$DATA/waterml2/usgs_435601087432701_precipitation.xml"
run ingest "$DATA/raster/ndvi_insitu.csv"
run sample --product MOD13Q1 --property NDVI --scale 0.0001 --nodata -3000 "$DATA/raster/mod13q1"
run things --format geojson -o "${STORE%.db}-stations.geojson"
echo "(${STORE%.db}-stations.geojson: every station, reach and virtual station; QGIS opens it as a layer)"
echo
run things --bbox -55,2,-51,5
run datastreams --thing R_MARONI_TAPANAHONY_KM0198
run query --thing R_MARONI_TAPANAHONY_KM0198 --property water_surface_height \
    --from 2023-11-01 --to 2024-02-01 --format csv
run query --thing "Raingauge network, R2" --aggregate month --stat sum
run query --thing "SANKORO (PUITS)" --format json
run query --thing 57205900041 --property wse --format csv
run query --thing "HIKA RAIN GAGE NEAR CLEVELAND, WI" --from 2012-09-01 --format waterml2
run matchup --insitu ndvi_insitu --product NDVI --tolerance P2D
run sources
echo "demo store: $STORE, stations: ${STORE%.db}-stations.geojson (open both in QGIS, or query the store with 'insitu --store $STORE ...')"
