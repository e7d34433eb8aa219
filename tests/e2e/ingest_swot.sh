#!/bin/sh
# End-to-end: SWOT RiverSP/LakeSP products through the command line.
. "$INSITU_TEST_LIB"

REACH="$DATA/swot/SWOT_L2_HR_RiverSP_Reach_049_058_AU_20260419T185249_20260419T190852_PID0_01.zip"
LAKE="$DATA/swot/SWOT_L2_HR_LakeSP_Prior_033_506_AU_20250605T225724_20250605T230824_PID0_01.zip"
insitu init >/dev/null
expect 0 "ingest a RiverSP Reach product" "(swot-river): 52 things" -- insitu ingest "$REACH"
expect 0 "ingest a LakeSP Prior product" "(swot-lake): 723 things" -- insitu ingest "$LAKE"
run insitu query --thing 57205900041 --property wse --format csv
equal "a reach's wse series, by reach id" "$(printf '%s\n' "$OUT" | sed -n 2p | cut -d, -f2-6)" \
  "57205900041,wse,m,2026-04-19T19:08:39.531Z,118.0225"
run insitu things --bbox 170,-45,173,-42 --format geojson
equal "the reaches are where the product says (bbox)" \
  "$(printf '%s' "$OUT" | python3 -c 'import json,sys; f=json.load(sys.stdin)["features"]; print(len(f), f[0]["geometry"]["type"])')" \
  "52 LineString"
expect 0 "re-ingesting the product is skipped" "skipped" -- insitu ingest "$REACH"
run insitu sources
equal "sources has the runs of both products and the skip" \
  "$(printf '%s\n' "$OUT" | cut -d, -f2,3 | tail -n +2 | tr '\n' ' ')" \
  "complete,swot-river complete,swot-lake skipped,swot-river "
# the same product unzipped into a folder is the same granule, already there
mkdir "$T/unzipped"
python3 -m zipfile -e "$REACH" "$T/unzipped"
expect 0 "an unzipped product folder is one source" "skipped" "same version PID0_01" -- \
  insitu ingest "$T/unzipped"
before=$(sql "SELECT count(*) FROM observations")
# a corrupt newer version (counter 02) of the granule
BAD="$T/bad/$(basename "$REACH" _01.zip)_02.zip"
mkdir "$T/bad" && printf 'PK\003\004 not a zip' >"$BAD"
expect 1 "a corrupt product zip fails clearly" "not a readable zip archive" -- insitu ingest "$BAD"
equal "and changes nothing" "$(sql "SELECT count(*) FROM observations")" "$before"
# a folder (sorted: the lake, the reach, then a corrupt product): each file is read while
# the one before it is written; the corrupt one fails in its own turn, the others are kept
mkdir "$T/folder"
cp "$LAKE" "$REACH" "$T/folder/"
CORRUPT="SWOT_L2_HR_RiverSP_Reach_050_058_AU_20260510T185249_20260510T190852_PID0_01.zip"
printf 'PK\003\004 not a zip' >"$T/folder/$CORRUPT"
complete=$(sql "SELECT count(*) FROM ingest_runs WHERE status = 'complete'")
expect 1 "a folder with a corrupt product read ahead: it fails in its turn, by name" \
  "(swot-lake): 723 things" "(swot-river): 52 things" "$CORRUPT" "not a readable zip archive" -- \
  insitu ingest --force "$T/folder"
equal "the two other products are kept" \
  "$(sql "SELECT count(*) FROM ingest_runs WHERE status = 'complete'")" "$((complete + 2))"
equal "with the same observations" "$(sql "SELECT count(*) FROM observations")" "$before"
done_testing
