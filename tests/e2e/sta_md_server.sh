#!/bin/sh
# End-to-end: MultiDatastreams (OGC 18-088 14.3) through the real `insitu serve`: the entity
# set and conformance class in GET /v1.1, a deep insert, Observations with array results
# (refused when their length is not the member count), navigation both ways, $filter
# through MultiDatastream/, dataArray both ways, a JSON $batch, JSON Patch, CSV and GeoJSON,
# DELETE by $filter; then the CLI on the store holding it (insitu datastreams, insitu query)
# and `insitu pull sta` of the server, which harvests its Datastreams only.
. "$INSITU_TEST_LIB"

insitu init >/dev/null
insitu ingest "$DATA/csv/hydroweb_wse_long.csv" >/dev/null

PID=""
at_exit '[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null'
rm -f "$T/serve.err"
INSITU_SERVE_TOKEN=s3cret "$INSITU" --store "$STORE" serve --listen 127.0.0.1:0 --threads 2 \
  2>"$T/serve.err" &
PID=$!
serve_wait
# wfetch METHOD URL BODY: fetch with the write credential and a JSON body
wfetch() {
  fetch "$1" "$2" -H 'Authorization: Bearer s3cret' -H 'Content-Type: application/json' -d "$3"
}
CX="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation"
MT="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"

fetch GET "$URL"
equal "GET /v1.1 lists MultiDatastreams and the multi-datastream class" \
  "$(py '[e["url"] for e in d["value"] if e["name"] == "MultiDatastreams"], "http://www.opengis.net/spec/iot_sensing/1.1/req/multi-datastream" in d["serverSettings"]["conformance"]')" \
  "['$URL/MultiDatastreams'] True"

wfetch POST "$URL/Things(1)/MultiDatastreams" '{"name":"level and flow","description":"one pass, two values",
 "observationType":"'$CX'","multiObservationDataTypes":["'$MT'","'$MT'"],
 "unitOfMeasurements":[{"name":"metre","symbol":"m","definition":"http://qudt.org/vocab/unit/M"},
  {"name":"cubic metre per second","symbol":"m3/s","definition":"http://qudt.org/vocab/unit/M3-PER-SEC"}],
 "Sensor":{"name":"gauge","description":"staff and ADCP","encodingType":"text/plain","metadata":"x"},
 "ObservedProperties":[{"name":"level","definition":"urn:level","description":"d"},
  {"name":"discharge","definition":"urn:discharge","description":"d"}],
 "Observations":[{"phenomenonTime":"2024-02-01T00:00:00Z","result":[1.25,310]}]}'
equal "POST Things(1)/MultiDatastreams with a new Sensor, ObservedProperties and an Observation" \
  "$CODE $(py 'd["observationType"].rsplit("/", 1)[1], [u["symbol"] for u in d["unitOfMeasurements"]], d["phenomenonTime"]')" \
  "201 OM_ComplexObservation ['m', 'm3/s'] 2024-02-01T00:00:00Z/2024-02-01T00:00:00Z"
MD=$(py 'd["@iot.id"]')
fetch GET "$URL/MultiDatastreams($MD)/ObservedProperties?\$select=name"
equal "its ObservedProperties in order" "$(py '[e["name"] for e in d["value"]]')" "['level', 'discharge']"
wfetch POST "$URL/MultiDatastreams($MD)/Observations" '{"phenomenonTime":"2024-02-02T00:00:00Z","result":[1.5,330]}'
equal "an Observation with an array result" "$CODE $(py 'd["result"]')" "201 [1.5, 330]"
OBS=$(py 'd["@iot.id"]')
wfetch POST "$URL/Observations" '{"result":[1.5],"MultiDatastream":{"@iot.id":'"$MD"'}}'
equal "a result of another length: 400" "$CODE $(py '"must be an array of 2 values" in d["message"]')" "400 True"
wfetch POST "$URL/Observations" '{"result":[1,2],"MultiDatastream":{"@iot.id":'"$MD"'},"Datastream":{"@iot.id":1}}'
equal "both a Datastream and a MultiDatastream: 400" "$CODE" "400"
fetch GET "$URL/Observations($OBS)?\$expand=MultiDatastream(\$select=name),Datastream"
equal "Observation -> MultiDatastream, and no Datastream" \
  "$(py 'd["MultiDatastream"]["name"], d["Datastream"]')" "level and flow None"
fetch GET "$URL/Observations" -G --data-urlencode "\$filter=MultiDatastream/name eq 'level and flow'" \
  --data-urlencode '$count=true' --data-urlencode '$select=result'
equal "\$filter through MultiDatastream/" "$(py 'd["@iot.count"]')" "2"
fetch GET "$URL/Datastreams($MD)"
equal "a MultiDatastream is not a Datastream" "$CODE" "404"
fetch GET "$URL/Things(1)?\$expand=Datastreams(\$select=id),MultiDatastreams(\$select=id)"
equal "a Thing's Datastreams and MultiDatastreams apart" \
  "$(py 'len(d["Datastreams"]), [e["@iot.id"] for e in d["MultiDatastreams"]]')" "1 [$MD]"

wfetch POST "$URL/CreateObservations" '[{"MultiDatastream":{"@iot.id":'"$MD"'},"components":["phenomenonTime","result"],
 "dataArray":[["2024-02-03T00:00:00Z",[1.75,350]],["2024-02-04T00:00:00Z",[2.0]]]}]'
equal "CreateObservations: one row created, the short one refused" \
  "$CODE $(py '"/Observations(" in d[0], d[1].startswith("error:")')" "201 True True"
fetch GET "$URL/MultiDatastreams($MD)/Observations?\$resultFormat=dataArray&\$select=phenomenonTime,result"
equal "dataArray of its Observations, linked to it" \
  "$(py 'd["value"][0]["MultiDatastream@iot.navigationLink"].endswith("/MultiDatastreams('"$MD"')"), d["value"][0]["dataArray"][-1]')" \
  "True ['2024-02-03T00:00:00Z', [1.75, 350]]"
wfetch POST "$URL/\$batch" '{"requests":[{"id":"o","atomicityGroup":"g","method":"post",
 "url":"MultiDatastreams('"$MD"')/Observations","body":{"phenomenonTime":"2024-02-05T00:00:00Z","result":[2.25,370]}},
 {"id":"bad","atomicityGroup":"g","method":"post","url":"MultiDatastreams('"$MD"')/Observations","body":{"result":[1]}}]}'
fetch GET "$URL/MultiDatastreams($MD)/Observations?\$count=true&\$top=0"
equal "a \$batch atomicity group with a bad Observation writes nothing" "$(py 'd["@iot.count"]')" "3"
fetch PATCH "$URL/MultiDatastreams($MD)" -H 'Authorization: Bearer s3cret' \
  -H 'Content-Type: application/json-patch+json' \
  -d '[{"op":"replace","path":"/unitOfMeasurements/0/symbol","value":"cm"}]'
equal "JSON Patch into its unitOfMeasurements" "$CODE $(py 'd["unitOfMeasurements"][0]["symbol"]')" "200 cm"
wfetch PATCH "$URL/MultiDatastreams($MD)" '{"multiObservationDataTypes":["'$MT'"]}'
equal "PATCH leaving the arrays of different lengths: 400" "$CODE" "400"
fetch GET "$URL/MultiDatastreams?\$resultFormat=CSV&\$select=id,name,unitOfMeasurements"
equal "CSV" "$CODE $(printf '%s' "$BODY" | head -n 1 | tr -d '\r')" "200 id,name,unitOfMeasurements"
fetch GET "$URL/MultiDatastreams?\$resultFormat=GeoJSON&\$select=name,observedArea"
equal "GeoJSON: its observedArea" "$CODE $(py 'd["features"][0]["geometry"]["type"], d["features"][0]["properties"]["name"]')" \
  "200 Point level and flow"

# the CLI on the store that holds it
expect 0 "insitu datastreams: its members and units joined by |" "level|discharge" "cm|m3/s" -- \
  insitu datastreams
expect 0 "insitu query --datastream: the array results as JSON text" \
  "$MD,R_APPROUAGUE_APPROUAGUE_KM0041,level|discharge,cm|m3/s,2024-02-01T00:00:00Z,\"[1.25,310]\"" -- \
  insitu query --datastream "$MD"
B="$T/b.db"
"$INSITU" --store "$B" init >/dev/null
export INSITU_CACHE_DIR="$T/cache"
run "$INSITU" --store "$B" pull sta "$URL"
equal "insitu pull sta of a server with a MultiDatastream: its five Datastreams" \
  "$RC $(sqlite3 "$B" "SELECT count(*) FROM datastreams WHERE multi = 0") $(sqlite3 "$B" "SELECT count(*) FROM datastreams WHERE multi = 1")" \
  "0 5 0"

fetch DELETE "$URL/MultiDatastreams($MD)/Observations?\$filter=phenomenonTime%20ge%202024-02-03T00:00:00Z" \
  -H 'Authorization: Bearer s3cret'
equal "DELETE of its Observations by \$filter" "$CODE $(py 'd["deleted"]')" "200 1"
fetch DELETE "$URL/MultiDatastreams?\$filter=name%20eq%20'level%20and%20flow'" -H 'Authorization: Bearer s3cret'
equal "DELETE of MultiDatastreams by \$filter" "$CODE $(py 'd["deleted"]')" "200 1"
equal "its Observations and members are gone" \
  "$(sql "SELECT count(*) FROM observations WHERE datastream_id = $MD") $(sql "SELECT count(*) FROM multi_datastream_properties")" "0 0"
stop_server
done_testing
