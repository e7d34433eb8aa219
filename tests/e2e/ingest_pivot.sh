#!/bin/sh
# End-to-end: THEIA/OZCAR pivot packages through the command line.
. "$INSITU_TEST_LIB"

insitu init >/dev/null
expect 0 "ingest the AMMA-CATCH producer package (zip)" "theia-pivot" \
  "2 things, 2 datastreams, 3 observations" -- insitu ingest "$DATA/theia/CATC_package.zip"
run insitu query --thing "SANKORO (PUITS)" --format json
equal "values, flags and additional columns come back" \
  "$(printf '%s' "$OUT" | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["result"], r["result_quality"], r["parameters"]["delta"])')" \
  "31.15 13 1.5575"
run insitu datastreams --thing "SANKORO (PUITS)" --format json
equal "the datastream cites its dataset (DOI, licence)" \
  "$(printf '%s' "$OUT" | python3 -c 'import json,sys; p=json.load(sys.stdin)[0]["properties"]; print(p["doi"], p["licence"])')" \
  "10.5072/AMMA-CATCH.AE.CE.WChem_Od CC BY 4.0"
before=$(sql "SELECT count(*) FROM observations")
expect 1 "a package with a repeated observationId fails, naming both" \
  "datasets[0].observations[1].observationId: TEST_OBS_DAT_1_1 is also datasets[0].observations[0]" \
  -- insitu ingest "$DATA/theia/TEST"
equal "the failed package wrote nothing" "$(sql "SELECT count(*) FROM observations")" "$before"
expect 0 "--lenient keeps the first and warns" "warning:" "repeats" "13 observations" -- \
  insitu ingest --lenient "$DATA/theia/TEST"
run insitu query --thing "Raingauge network, R2" --format csv
equal "interval rows keep their end time" "$(printf '%s\n' "$OUT" | sed -n 2p)" \
  "$(sql "SELECT id FROM datastreams WHERE qualifier = 'TEST_OBS_DAT_2_1'"),\"Raingauge network, R2\",Rainfall (24h from today to day after),mm,2001-03-18T00:00:00Z,0,1,2001-03-19T00:00:00Z,\"{\"\"dataFile\"\":\"\"TEST_OBS_DAT_2_1.txt\"\"}\""
expect 1 "the JSON alone without its data files fails clearly" \
  "TOUR_OBS_lgt-ec1-ges-eddycovariance_sh-FC.txt not found" -- insitu ingest "$DATA/theia/TOUR_en.json"
expect 0 "metadata_only ingests the entities" "1 things, 5 datastreams, 0 observations" -- \
  insitu ingest --set metadata_only=yes "$DATA/theia/TOUR_en.json"
expect 0 "the failed run is recorded in sources" "failed" -- insitu sources
done_testing
