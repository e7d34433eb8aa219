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
  "$(sql "SELECT id FROM datastreams WHERE qualifier = 'TEST_OBS_DAT_2_1'"),\"Raingauge network, R2\",Rainfall (24h from today to day after),mm,2001-03-18T00:00:00Z,0,1,2001-03-19T00:00:00Z,\"{\"\"source\"\":{\"\"file\"\":\"\"TEST_OBS_DAT_2_1.txt\"\"}}\""
expect 1 "the JSON alone without its data files fails clearly" \
  "TOUR_OBS_lgt-ec1-ges-eddycovariance_sh-FC.txt not found" -- insitu ingest "$DATA/theia/TOUR_en.json"
expect 0 "metadata_only ingests the entities" "1 things, 5 datastreams, 0 observations" -- \
  insitu ingest --set metadata_only=yes "$DATA/theia/TOUR_en.json"
expect 0 "the failed run is recorded in sources" "failed" -- insitu sources

# The portal team's SensorThings guideline, as `insitu serve` shows it: the data file in
# parameters.source.file, missingValue and processingLevel in the Datastream's properties,
# the procedure's lineage in the Sensor's properties (no public document has a procedure with
# lineage: the real TEST document is given one, as the portal's schema describes it).
mkdir "$T/lineage"
cp "$DATA/theia/TEST/"*.zip "$T/lineage/"
python3 - "$DATA/theia/TEST/TEST_en.json" "$T/lineage/TEST_en.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
obs = doc["datasets"][1]["observations"][0]
obs["procedure"] = {"dataProduction": {"method": "Tipping-bucket rain gauge, daily totals"},
                    "lineageInformations": [{"processingDescription": "Gaps checked by hand",
                                             "processingDate": "2021-06-30T08:00:00Z"}]}
json.dump(doc, open(sys.argv[2], "w"))
PY
expect 0 "a procedure with lineage" "13 observations" -- insitu ingest --lenient "$T/lineage"
"$INSITU" --store "$STORE" serve --listen 127.0.0.1:0 --threads 1 2>"$T/serve.err" &
PID=$!
at_exit '[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null'
serve_wait
# (a procedure given later is another Sensor, and so another Datastream: take the new one)
ds=$(sql "SELECT d.id FROM datastreams d JOIN sensors s ON s.id = d.sensor_id WHERE \
  d.qualifier = 'TEST_OBS_DAT_2_1' AND s.properties IS NOT NULL")
fetch GET "$URL/Datastreams($ds)?\$select=properties"
equal "the Datastream's properties: missingValue, processingLevel" \
  "$CODE $(py 'd["properties"]["missingValue"], d["properties"]["processingLevel"]')" \
  "200 -99999.99 Quality-controlled data"
fetch GET "$URL/Datastreams($ds)/Sensor"
equal "the Sensor: the method describes it, its lineage in its properties" \
  "$CODE $(py 'd["description"], d["properties"]["lineageInformations"][0]["processingDescription"]')" \
  "200 Tipping-bucket rain gauge, daily totals Gaps checked by hand"
fetch GET "$URL/Datastreams($ds)/Observations?\$filter=parameters/source/file%20eq%20'TEST_OBS_DAT_2_1.txt'&\$count=true&\$top=1&\$orderby=phenomenonTime"
equal "each Observation names its data file in parameters.source.file; resultTime is date_end" \
  "$CODE $(py 'd["@iot.count"], d["value"][0]["parameters"], d["value"][0]["resultTime"]')" \
  "200 4 {'source': {'file': 'TEST_OBS_DAT_2_1.txt'}} 2001-03-19T00:00:00Z"
ds=$(sql "SELECT id FROM datastreams WHERE qualifier = 'CATC_OBS_CE.WChem_Od_1'")
fetch GET "$URL/Datastreams($ds)/Observations?\$top=1&\$orderby=phenomenonTime"
equal "additional values stay beside the data file" "$CODE $(py 'd["value"][0]["parameters"]')" \
  "200 {'delta': 1.5575, 'source': {'file': 'CATC_OBS_CE.WChem_Od_1.txt'}}"
stop_server
equal "the server stops cleanly" "$STOP_RC" "0"
done_testing
