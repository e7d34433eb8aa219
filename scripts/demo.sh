#!/bin/sh
# The main job on the embedded store with the shipped sample data: create a store, ingest a
# THEIA/OZCAR producer package and CSV station series, then list and query what came in.
# usage: scripts/demo.sh [INSITU_BINARY] [SOURCE_DIR]
set -eu
INSITU=${1:-./insitu}
SRC=${2:-.}
DATA="$SRC/tests/data"
STORE=${DEMO_STORE:-demo.db}
rm -f "$STORE" "$STORE-wal" "$STORE-shm"
run() { echo "\$ insitu --store $STORE $*" | sed "s|$DATA|tests/data|g"; "$INSITU" --store "$STORE" "$@"; echo; }
run init
run ingest "$DATA/theia/CATC_package.zip"
run ingest --lenient "$DATA/theia/TEST"
run ingest "$DATA/csv/hydroweb_wse_long.csv"
run ingest --sep ';' --decimal , --time-format '%d/%m/%Y %H:%M' --tz Europe/Paris \
    --set missing=-9999 --thing V7200010 "$DATA/csv/gauge_local_time.csv"
run ingest "$DATA/csv/hydroweb_wse_long.csv"
run things --format geojson
run datastreams --thing R_MARONI_TAPANAHONY_KM0198
run query --thing R_MARONI_TAPANAHONY_KM0198 --property water_surface_height \
    --from 2023-11-01 --to 2024-02-01 --format csv
run query --thing "Raingauge network, R2" --aggregate month --stat sum
run query --thing "SANKORO (PUITS)" --format json
run sources
echo "demo store: $STORE (open it in QGIS, or query it with 'insitu --store $STORE ...')"
