#!/bin/sh
# End-to-end: the real `insitu serve` on a free loopback port, over a store built with
# `insitu ingest` from tests/data; responses checked with curl and python3 (the spec's
# shapes), write credentials (401/403), --read-only (405), body limit (413), CORS off by default, the access
# log, and SIGTERM: the server stops cleanly and every write it acknowledged is stored.
. "$INSITU_TEST_LIB"

insitu init >/dev/null
insitu ingest "$DATA/csv/hydroweb_wse_long.csv" >/dev/null
insitu ingest "$DATA/theia/CATC_package.zip" >/dev/null

PID=""
# start_server [ENV=VALUE...] -- [serve options...]: starts the server on a free port; sets
# PID and URL (http://127.0.0.1:PORT/v1.1)
start_server() {
  envs=""
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs="$envs $1"; shift; done
  [ $# -gt 0 ] && shift
  # the file is truncated by the child, later: the last server's address must not be read
  rm -f "$T/serve.err"
  # shellcheck disable=SC2086
  env $envs "$INSITU" --store "$STORE" serve --listen 127.0.0.1:0 --threads 2 \
    --access-log "$T/access.log" "$@" 2>"$T/serve.err" &
  PID=$!
  serve_wait
}
at_exit '[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null'

start_server --
fetch GET "$URL"
equal "GET /v1.1: the eight entity sets and MultiDatastreams" "$CODE $(py 'len(d["value"]), sorted(e["name"] for e in d["value"])[0]')" \
  "200 9 Datastreams"
equal "serverSettings lists the conformance classes" \
  "$(py '"http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete" in d["serverSettings"]["conformance"]')" "True"
equal "entity set URLs are absolute and resolvable" \
  "$(py '[e["url"] for e in d["value"] if e["name"] == "Things"][0]')" "$URL/Things"

fetch GET "$URL/Things(3)"
equal "a Thing: its keys" \
  "$(py 'sorted(d.keys())')" \
  "['@iot.id', '@iot.selfLink', 'Datastreams@iot.navigationLink', 'HistoricalLocations@iot.navigationLink', 'Locations@iot.navigationLink', 'MultiDatastreams@iot.navigationLink', 'description', 'name']"
self=$(py 'd["@iot.selfLink"]')
nav=$(py 'd["Datastreams@iot.navigationLink"]')
equal "the selfLink is absolute" "$self" "$URL/Things(3)"
fetch GET "$self"
equal "the selfLink resolves to the same Thing" "$CODE $(py 'd["name"]')" "200 R_MARONI_OELEMARI_KM0387"
fetch GET "$nav"
equal "the navigationLink resolves to its Datastreams" "$CODE $(py 'len(d["value"]), d["value"][0]["@iot.id"]')" \
  "200 1 3"
equal "JSON is served as application/json" "$(header Content-Type)" "application/json; charset=utf-8"
equal "CORS is off unless configured (--cors)" "$(header Access-Control-Allow-Origin)" ""

# the third Observation of Datastream 3 (ids are the backend's: name it by series and time)
o3=$(sql "SELECT id FROM observations WHERE datastream_id = 3 ORDER BY phenomenon_start LIMIT 1 OFFSET 2")
fetch GET "$URL/Observations($o3)/Datastream/Thing"
equal "navigation Observations(id)/Datastream/Thing" "$(py 'd["@iot.id"]')" "3"
fetch GET "$URL/Datastreams(4)/Observations?\$filter=phenomenonTime%20ge%202023-12-01T00:00:00Z%20and%20phenomenonTime%20lt%202024-01-01T00:00:00Z&\$orderby=phenomenonTime%20desc&\$select=result,phenomenonTime"
equal "a filtered, ordered series" "$(py '[(o["phenomenonTime"], o["result"]) for o in d["value"]]')" \
  "[('2023-12-28T01:35:00Z', 49.15), ('2023-12-01T01:35:00Z', 49)]"
fetch GET "$URL/Datastreams(4)/Observations?\$filter=result%20lt%20'5'&\$select=result"
text_lt=$(py 'sorted(o["result"] for o in d["value"])')
fetch GET "$URL/Datastreams(4)/Observations?\$filter=result%20lt%205&\$select=result"
equal "a result compared with a string compares its text (48.96 < '5'), with a number its value" \
  "$text_lt / $(py 'len(d["value"])')" "[48.59, 48.96, 49, 49.15] / 0"
fetch GET "$URL/Things?\$filter=geo.intersects(Locations/location,%20geography'POLYGON((-55%202,-53%202,-53%205,-55%205,-55%202))')&\$select=name&\$orderby=name"
equal "geo.intersects through Locations" "$(py '[t["name"] for t in d["value"]]')" \
  "['R_MARONI_OELEMARI_KM0387', 'R_MARONI_TAPANAHONY_KM0198']"
fetch GET "$URL/Things(4)?\$expand=Datastreams(\$expand=Observations(\$top=1;\$orderby=phenomenonTime;\$count=true))"
equal "\$expand nested with its own options" \
  "$(py 'd["Datastreams"][0]["Observations@iot.count"], d["Datastreams"][0]["Observations"][0]["result"]')" "4 48.96"
fetch GET "$URL/Things(1)/name/\$value"
equal "a property's raw \$value" "$CODE $BODY" "200 R_APPROUAGUE_APPROUAGUE_KM0041"

# following @iot.nextLink to the end: every Observation once, by Datastream then time
order=$(sql "SELECT id FROM observations ORDER BY datastream_id, phenomenon_start" | tr '\n' ' ')
pages=$(python3 - "$URL/Observations?\$top=3&\$count=true&\$select=id" "$order" <<'PY'
import json, sys, urllib.request
url, ids, pages, count = sys.argv[1], [], 0, None
order = [int(i) for i in sys.argv[2].split()]
while url:
    with urllib.request.urlopen(url) as r:
        d = json.load(r)
    pages += 1
    count = d["@iot.count"]
    ids += [o["@iot.id"] for o in d["value"]]
    url = d.get("@iot.nextLink")
print(pages, count, len(ids), ids == order)
PY
)
equal "@iot.nextLink leads through every page once" "$pages" "6 16 16 True"

fetch GET "$URL/Observations?\$filter=result%20gt%20'oops"
equal "a malformed \$filter: 400 saying what and where" "$CODE $(py 'd["code"], d["message"]')" \
  "400 400 \$filter: at character 11: string not closed (a quote inside a string is written '')"
fetch GET "$URL/Nothing(1)"
equal "an unknown entity set: 404" "$CODE" "404"
fetch GET "$URL/Things?\$apply=x"
equal "an unsupported query option: 501" "$CODE" "501"
fetch HEAD "$URL/Things(1)" -I
equal "HEAD answers like GET, without a body" "$CODE" "200"
fetch OPTIONS "$URL/Things" -H 'Origin: https://maps.example.org'
equal "OPTIONS: the methods, and no CORS grant without --cors" \
  "$CODE $(header Allow) / $(header Access-Control-Allow-Methods)" \
  "204 GET, HEAD, POST, PATCH, PUT, DELETE, OPTIONS / "

# no credential configured: writes are refused
fetch POST "$URL/Things" -H 'Content-Type: application/json' -d '{"name":"x","description":"y"}'
equal "no credential configured: writes refused (403)" "$CODE $(py 'd["message"]' | cut -d: -f1)" \
  "403 writes are disabled"
fetch DELETE "$URL/Datastreams(4)/Observations" -G --data-urlencode '$filter=result gt 0'
equal "... a DELETE by \$filter too (403)" "$CODE" "403"
stop_server
equal "SIGTERM: the server exits 0" "$STOP_RC" "0"
case $(cat "$T/serve.err") in *"insitu: stopped"*) ok "SIGTERM: it says it stopped";;
  *) not_ok "SIGTERM: it says it stopped" "$(cat "$T/serve.err")";; esac
if curl -s -o /dev/null "$URL" 2>/dev/null; then not_ok "the port is closed after SIGTERM"
else ok "the port is closed after SIGTERM"; fi

# a bearer token from the environment
start_server INSITU_SERVE_TOKEN=s3cret --
fetch POST "$URL/Things" -d '{"name":"x","description":"y"}'
equal "no Authorization: 401 with a challenge" "$CODE $(header WWW-Authenticate)" \
  "401 Bearer realm=\"insitu\", Basic realm=\"insitu\""
fetch POST "$URL/Things" -H 'Authorization: Bearer wrong' -d '{"name":"x","description":"y"}'
equal "a wrong token: 403" "$CODE" "403"
fetch DELETE "$URL/Things(1)" -H 'Authorization: Bearer wrong'
equal "a wrong token cannot delete either" "$CODE" "403"
fetch POST "$URL/Things" -H 'Authorization: Bearer s3cret' -H 'Content-Type: application/json' \
  -d '{"name":"river gauge","description":"new","Locations":[{"name":"here","description":"d","encodingType":"application/geo+json","location":{"type":"Point","coordinates":[-52.3,4.9]}}],"Datastreams":[{"name":"stage","description":"d","properties":{"k":"v"},"observationType":"http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement","unitOfMeasurement":{"name":"metre","symbol":"m","definition":"http://qudt.org/vocab/unit/M"},"ObservedProperty":{"name":"stage","definition":"http://example.org/stage","description":"d"},"Sensor":{"name":"radar","description":"d","encodingType":"text/plain","metadata":"radar"}}]}'
loc=$(header Location)
equal "the right token: 201 Created with a Location" "$CODE $(py 'd["name"]')" "201 river gauge"
fetch GET "$loc?\$expand=Datastreams"
ds=$(py 'd["Datastreams"][0]["@iot.id"]')
equal "the Location resolves to the deep-inserted Thing" "$CODE $(py 'len(d["Datastreams"])')" "200 1"
equal "a deep-inserted Datastream keeps its properties" "$(py 'd["Datastreams"][0].get("properties")')" \
  "{'k': 'v'}"
thing=$(py 'd["@iot.id"]')
sensor=$(sql "SELECT sensor_id FROM datastreams WHERE id = $ds")
property=$(sql "SELECT observed_property_id FROM datastreams WHERE id = $ds")
fetch POST "$URL/Datastreams" -H 'Authorization: Bearer s3cret' \
  -d "{\"name\":\"flow\",\"description\":\"d\",\"properties\":{\"k\":\"v\"},\"observationType\":\"x\",\"unitOfMeasurement\":{\"name\":\"u\",\"symbol\":\"u\",\"definition\":\"u\"},\"Thing\":{\"@iot.id\":$thing},\"Sensor\":{\"@iot.id\":$sensor},\"ObservedProperty\":{\"@iot.id\":$property}}"
fetch GET "$(header Location)"
equal "POST /Datastreams keeps its properties" "$CODE $(py 'd.get("properties")')" "200 {'k': 'v'}"
equal "... in the store too" "$(sql "SELECT properties FROM datastreams WHERE id = $(py 'd["@iot.id"]')")" \
  '{"k":"v"}'
fetch POST "$URL/CreateObservations" -H 'Authorization: Bearer s3cret' \
  -d "[{\"Datastream\":{\"@iot.id\":$ds},\"components\":[\"phenomenonTime\",\"result\"],\"dataArray\":[[\"2024-03-01T00:00:00Z\",1.5],[\"2024-03-01T01:00:00Z\",1.75],[\"bad time\",2]]}]"
equal "CreateObservations: links, and an error for the bad row" \
  "$CODE $(py 'len(d), d[2][:5], d[0].startswith("'"$URL"'/Observations(")')" "201 3 error True"
first=$(py 'd[0]')
# issue 15: a POST creates, whatever is stored (the same time, the same name), and an id
# once deleted is not given again
fetch POST "$URL/Datastreams($ds)/Observations" -H 'Authorization: Bearer s3cret' \
  -d '{"phenomenonTime":"2024-03-01T00:00:00Z/2024-03-01T00:59:00Z","result":1.5}'
equal "an Observation at a time the Datastream has: a new one" \
  "$CODE $([ "$(header Location)" != "$first" ] && echo new)" "201 new"
equal "... both stored" \
  "$(sql "SELECT count(*) FROM observations WHERE datastream_id = $ds AND phenomenon_start = 1709251200000000")" "2"
for k in 1 2; do
  fetch POST "$URL/ObservedProperties" -H 'Authorization: Bearer s3cret' \
    -d "{\"name\":\"stage\",\"definition\":\"http://example.org/stage\",\"description\":\"take $k\"}"
  eval "prop$k=\$(header Location)"
done
equal "the same ObservedProperty twice: two entities" "$CODE $([ "$prop1" != "$prop2" ] && echo two)" "201 two"
fetch GET "$prop1"
equal "... each with its own description" "$(py 'd["description"]')" "take 1"
fetch POST "$URL/Things" -H 'Authorization: Bearer s3cret' -d '{"name":"short-lived","description":"d"}'
gone=$(header Location)
fetch DELETE "$gone" -H 'Authorization: Bearer s3cret'
fetch POST "$URL/Things" -H 'Authorization: Bearer s3cret' -d '{"name":"next","description":"d"}'
equal "a deleted Thing's id is not given again" \
  "$CODE $([ "$(header Location)" != "$gone" ] && echo new)" "201 new"
fetch GET "$gone"
equal "... the deleted one stays gone" "$CODE" "404"
fetch GET "$URL/Datastreams($ds)/Observations?aggregate=day&stat=mean"
equal "the aggregation extension: a daily mean" \
  "$(py 'd["value"][0]["phenomenonTime"], d["value"][0]["result"], d["value"][0]["parameters"]["count"]')" \
  "2024-03-01T00:00:00Z/2024-03-02T00:00:00Z 1.5833333333333333 3"
fetch PATCH "$loc" -H 'Authorization: Bearer s3cret' -d '{"description":"patched"}'
equal "PATCH with the token" "$CODE $(py 'd["description"]')" "200 patched"
fetch POST "$URL/Things" -H 'Authorization: Bearer s3cret' -H 'Content-Type: text/csv' \
  -d '{"name":"csv","description":"d"}'
equal "a body of another type than JSON: 415, naming the type taken" \
  "$CODE $(header Accept-Post) $(py 'd["message"]')" \
  "415 application/json Content-Type 'text/csv' is not accepted: send the body as application/json"
fetch PATCH "$loc" -H 'Authorization: Bearer s3cret' -H 'Content-Type: application/xml' \
  -d '{"description":"xml"}'
equal "a PATCH of another type: 415 with Accept-Patch" "$CODE $(header Accept-Patch)" \
  "415 application/json, application/json-patch+json"
# issue 15: JSON Patch (RFC 6902) on PATCH
fetch PATCH "$loc" -H 'Authorization: Bearer s3cret' -H 'Content-Type: application/json-patch+json' \
  -d '[{"op":"add","path":"/properties","value":{"owner":"a","n":1}},{"op":"replace","path":"/properties/owner","value":"x"},{"op":"add","path":"/properties/k","value":1},{"op":"remove","path":"/properties/n"},{"op":"copy","from":"/name","path":"/description"}]'
equal "JSON Patch: add, replace, remove, copy" "$CODE $(py 'sorted(d["properties"].items()), d["description"]')" \
  "200 [('k', 1), ('owner', 'x')] river gauge"
fetch PATCH "$loc" -H 'Authorization: Bearer s3cret' -H 'Content-Type: application/json-patch+json' \
  -d '[{"op":"replace","path":"/name","value":"renamed"},{"op":"test","path":"/properties/owner","value":"someone else"}]'
equal "JSON Patch: a failed test is 409 and changes nothing" "$CODE $(py 'd["message"]')" \
  "409 JSON Patch: [1] test /properties/owner: the value differs"
fetch PATCH "$loc" -H 'Authorization: Bearer s3cret' -H 'Content-Type: application/json-patch+json' \
  -d '[{"op":"replace","path":"/@iot.id","value":1}]'
equal "JSON Patch: @iot.id is read-only (400 naming the path)" "$CODE $(py 'd["message"]')" \
  "400 JSON Patch: [0] replace /@iot.id: @iot.id is read-only"
fetch GET "$loc"
equal "... the Thing is as it was" "$(py 'd["name"], d["properties"]["owner"]')" "river gauge x"
fetch PATCH "$URL/Datastreams($ds)" -H 'Authorization: Bearer s3cret' -H 'Content-Type: application/json-patch+json' \
  -d '[{"op":"replace","path":"/unitOfMeasurement/symbol","value":"cm"}]'
equal "JSON Patch of a unitOfMeasurement member" "$CODE $(py 'd["unitOfMeasurement"]["symbol"], d["unitOfMeasurement"]["name"]')" \
  "200 cm metre"
# issue 15: DELETE of a collection with $filter
n_before=$(sql "SELECT n_obs FROM datastreams WHERE id = $ds")
fetch DELETE "$URL/Datastreams($ds)/Observations" -G --data-urlencode '$filter=phenomenonTime lt 2024-03-01T00:30:00Z'
equal "DELETE by \$filter without a credential: 401" "$CODE" "401"
fetch DELETE "$URL/Datastreams($ds)/Observations" -H 'Authorization: Bearer s3cret'
equal "DELETE of a collection without \$filter: 400" "$CODE $(py '"needs a $filter" in d["message"]')" \
  "400 True"
fetch DELETE "$URL/Datastreams($ds)/Observations" -H 'Authorization: Bearer s3cret' -G \
  --data-urlencode '$filter=result lt 1.7'
equal "DELETE by \$filter: 200 with the count" "$CODE $(py 'd["deleted"], d["message"]')" \
  "200 2 2 Observations deleted"
equal "... the summary follows" \
  "$n_before $(sql "SELECT n_obs FROM datastreams WHERE id = $ds") $(sql "SELECT count(*) FROM observations WHERE datastream_id = $ds")" \
  "3 1 1"
fetch GET "$URL/Datastreams($ds)"
equal "... and the Datastream's phenomenonTime" "$(py 'd["phenomenonTime"]')" "2024-03-01T01:00:00Z/2024-03-01T01:00:00Z"
fetch DELETE "$URL/Observations" -H 'Authorization: Bearer s3cret' -G --data-urlencode '$filter=nothing eq 1'
equal "DELETE with a bad \$filter: 400 naming it" "$CODE $(py '"nothing" in d["message"]')" "400 True"
fetch GET "$URL/Things?\$orderby=name%20DESC&\$select=name&\$top=3"
upper=$(py '[t["name"] for t in d["value"]]')
fetch GET "$URL/Things?\$orderby=name%20desc&\$select=name&\$top=3"
equal "\$orderby=name DESC (upper case, as FROST's Python client sends it)" "$upper" \
  "$(py '[t["name"] for t in d["value"]]')"
fetch GET "$URL/Things?\$orderby=name%20ASC&\$select=name&\$top=1"
equal "\$orderby=name ASC" "$CODE $(py 'd["value"][0]["name"]')" "200 R_APPROUAGUE_APPROUAGUE_KM0041"
# spatial relations on a polygon give GEOS's answers, the same on every request (each of the
# server's threads has its own connection, and SpatiaLite its own cache per connection)
fetch POST "$URL/Things" -H 'Authorization: Bearer s3cret' -H 'Content-Type: application/json' \
  -d '{"name":"triangle","description":"d","Locations":[{"name":"triangle","description":"d","encodingType":"application/geo+json","location":{"type":"Polygon","coordinates":[[[8,53],[7,52],[7,53],[8,53]]]}}]}'
equal "a Thing at a triangle" "$CODE" "201"
geo_answers=""
for rel in "st_within(geography'POINT(7.5 52.75)',location)" \
  "st_contains(location,geography'POINT(7.5 52.75)')" \
  "st_intersects(location,geography'LINESTRING(7.5 51, 7.5 54)')" \
  "geo.intersects(geography'LINESTRING(7.5 51, 7.5 54)',location)" \
  "st_crosses(location,geography'LINESTRING(7.5 51, 7.5 54)')" \
  "st_crosses(geography'LINESTRING(7.5 51, 7.5 54)',location)" \
  "st_crosses(geography'LINESTRING(7.5 51, 7.5 54)',location)" \
  "st_crosses(geography'LINESTRING(7.5 51, 7.5 54)',location)" \
  "st_crosses(geography'LINESTRING(7.5 51, 7.5 54)',location)" \
  "st_disjoint(location,geography'POINT(7.5 52.75)')"; do
  fetch GET "$URL/Locations" -G --data-urlencode "\$filter=name eq 'triangle' and $rel" \
    --data-urlencode '$select=name'
  geo_answers="$geo_answers $(py 'len(d["value"])')"
done
equal "spatial relations with a polygon: within, contains, intersects, crosses (both orders, repeated), disjoint" \
  "$geo_answers" " 1 1 1 1 1 1 1 1 1 0"
if [ "$BACKEND" = sqlite ]; then
  # another writer keeps the store past the 10 s busy time-out: 503 and Retry-After
  # (it holds the lock until told to let go, so that a slow machine cannot turn the 503 into
  # a 200 by getting to the write after the lock is gone)
  python3 -c 'import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").write("locked")
for _ in range(2400):
    if os.path.exists(sys.argv[3]):
        break
    time.sleep(0.05)
c.execute("ROLLBACK")' "$STORE" "$T/locked" "$T/unlock" &
  locker=$!
  wait_file "$T/locked" "$locker"
  fetch PATCH "$loc" -H 'Authorization: Bearer s3cret' -d '{"description":"while locked"}'
  equal "a write while another writer holds the store: 503, retry after 5 s" \
    "$CODE $(header Retry-After)" "503 5"
  touch "$T/unlock"
  wait $locker
  fetch PATCH "$loc" -H 'Authorization: Bearer s3cret' -d '{"description":"after"}'
  equal "the same write once the store is free: 200" "$CODE $(py 'd["description"]')" "200 after"
fi
stop_server

# many writes in flight when SIGTERM comes: each one acknowledged is in the store
start_server INSITU_SERVE_TOKEN=s3cret --
before=$(sql "SELECT count(*) FROM observations WHERE datastream_id = $ds")
k=0
while [ $k -lt 40 ]; do
  curl -s -o /dev/null -w '%{http_code}\n' -X POST -H 'Authorization: Bearer s3cret' \
    -d "{\"result\": $k, \"phenomenonTime\": \"2024-04-01T00:00:$(printf '%02d' $k)Z\"}" \
    "$URL/Datastreams($ds)/Observations" >>"$T/codes" 2>/dev/null &
  k=$((k + 1))
done
# SIGTERM once the first writes are acknowledged, with the others still coming
i=0
while [ $i -lt 1200 ] && [ "$(grep -c '^201$' "$T/codes" 2>/dev/null)" -lt 3 ]; do
  sleep 0.05
  i=$((i + 1))
done
stop_server
wait
acked=$(grep -c '^201$' "$T/codes")
after=$(sql "SELECT count(*) FROM observations WHERE datastream_id = $ds")
if [ "$acked" -gt 0 ] && [ $((after - before)) -ge "$acked" ]; then
  ok "SIGTERM during writes: all $acked acknowledged writes are stored"
else
  not_ok "SIGTERM during writes: acknowledged writes are stored" "acked $acked, stored $((after - before))"
fi
equal "the API's provenance run is complete after the stop" \
  "$(sql "SELECT status || ' ' || ingester FROM ingest_runs WHERE ingester = 'sta' ORDER BY id DESC LIMIT 1")" \
  "complete sta"
# concurrent first writes share the server's one run (none is left running)
equal "one provenance run per server, all complete" \
  "$(sql "SELECT count(*) || ' ' || sum(CASE WHEN status = 'complete' THEN 1 ELSE 0 END) FROM ingest_runs WHERE ingester = 'sta'")" \
  "2 2"
equal "the summary counts the series exactly" \
  "$(sql "SELECT n_obs FROM datastreams WHERE id = $ds")" "$after"

# $batch (OGC 18-088 section 11): a changeset is one transaction; $1 names what it created
start_server INSITU_SERVE_TOKEN=s3cret --
ds_body='{"name":"level","description":"d","unitOfMeasurement":{"name":"metre","symbol":"m","definition":"http://example.org/m"},"observationType":"http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement","ObservedProperty":{"name":"batch level","definition":"http://example.org/batch-level","description":"level"},"Sensor":{"name":"batch gauge","description":"g","encodingType":"application/pdf","metadata":"m"}}'
# changeset_body DATASTREAM_JSON: a changeset (a Thing, and $1/Datastreams), then a GET
changeset_body() {
  printf -- '--b\r\nContent-Type: multipart/mixed; boundary="cs 1"\r\n\r\n'
  printf -- '--cs 1\r\nContent-Type: application/http\r\nContent-ID: 1\r\n\r\n'
  printf 'POST /v1.1/Things HTTP/1.1\r\nContent-Type: application/json\r\n\r\n'
  printf '{"name":"batch thing","description":"made in a changeset"}\r\n'
  printf -- '--cs 1\r\nContent-Type: application/http\r\nContent-ID: 2\r\n\r\n'
  printf 'POST $1/Datastreams HTTP/1.1\r\nContent-Type: application/json\r\n\r\n%s\r\n' "$1"
  printf -- '--cs 1--\r\n--b\r\nContent-Type: application/http\r\n\r\n'
  printf "GET Things?\$filter=name%%20eq%%20'batch%%20thing'&\$expand=Datastreams HTTP/1.1\r\n\r\n\r\n--b--\r\n"
}
changeset_body "$ds_body" >"$T/batch.txt"
fetch POST "$URL/\$batch" -H 'Authorization: Bearer s3cret' \
  -H 'Content-Type: multipart/mixed; boundary=b' --data-binary "@$T/batch.txt"
equal "\$batch: a changeset creates a Thing and, through \$1, its Datastream; the GET after it sees them" \
  "$CODE $(printf '%s' "$BODY" | grep -c '^HTTP/1.1 201 Created') $(printf '%s' "$BODY" | grep -c '"Datastreams":\[{')" "200 2 1"
case $(header Content-Type) in "multipart/mixed; boundary=batchresponse_"*) ok "\$batch answers multipart/mixed";;
  *) not_ok "\$batch answers multipart/mixed" "$(header Content-Type)";; esac
equal "the Datastream is the new Thing's" \
  "$(sql "SELECT count(*) FROM datastreams d JOIN things t ON t.id = d.thing_id WHERE t.name = 'batch thing'")" "1"
things=$(sql "SELECT count(*) FROM things")
sensors=$(sql "SELECT count(*) FROM sensors")
changeset_body '{"name":"no unit","description":"d"}' >"$T/batch.txt"
fetch POST "$URL/\$batch" -H 'Authorization: Bearer s3cret' \
  -H 'Content-Type: multipart/mixed; boundary=b' --data-binary "@$T/batch.txt"
equal "\$batch: a changeset whose 2nd request fails is answered by that failure alone" \
  "$CODE $(printf '%s' "$BODY" | grep -c '^HTTP/1.1 201') $(printf '%s' "$BODY" | grep -c '^HTTP/1.1 400 Bad Request')" "200 0 1"
equal "... and leaves nothing" "$(sql "SELECT count(*) FROM things") $(sql "SELECT count(*) FROM sensors")" \
  "$things $sensors"
cat >"$T/batch.json" <<'JSON'
{"requests":[
 {"id":"s1","atomicityGroup":"g","method":"post","url":"Sensors","body":{"name":"json sensor","description":"d","encodingType":"application/pdf","metadata":"m"}},
 {"id":"t1","atomicityGroup":"g","method":"post","url":"Things","body":{"name":"json thing","description":"d"}},
 {"id":"d1","atomicityGroup":"g","dependsOn":["t1"],"method":"post","url":"$t1/Datastreams","body":{"name":"temp","description":"d","unitOfMeasurement":{"name":"degree Celsius","symbol":"degC","definition":"http://example.org/c"},"observationType":"http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement","ObservedProperty":{"@iot.id":OPID},"Sensor":{"@iot.id":"$s1"}}},
 {"id":"r","dependsOn":["g"],"method":"get","url":"$d1/Sensor?$select=name"}]}
JSON
sed -i "s/OPID/$(sql 'SELECT min(id) FROM observed_properties')/" "$T/batch.json"
fetch POST "$URL/\$batch" -H 'Authorization: Bearer s3cret' -H 'Content-Type: application/json' \
  --data-binary "@$T/batch.json"
equal "\$batch in JSON: an atomicity group, dependsOn, \$id in the URL and in a body" \
  "$CODE $(py '[r["status"] for r in d["responses"]], d["responses"][3]["body"]["name"], d["responses"][2]["location"].startswith("'"$URL"'/Datastreams(")')" \
  "200 [201, 201, 201, 200] json sensor True"
fetch POST "$URL/\$batch" -H 'Content-Type: application/json' \
  -d '{"requests":[{"id":"1","method":"get","url":"Things(1)?$select=name"},{"id":"2","method":"post","url":"Things","body":{"name":"x","description":"y"}}]}'
equal "\$batch without a credential: its reads are answered, its writes refused (401)" \
  "$CODE $(py '[r["status"] for r in d["responses"]]')" "200 [200, 401]"
fetch POST "$URL/\$batch" -H 'Authorization: Bearer s3cret' -H 'Content-Type: text/plain' -d 'x'
equal "\$batch of another type: 415" "$CODE" "415"
stop_server

# HTTP Basic from an auth file, and the body limit
printf 'user = hydro\npassword = p4ss word\n' >"$T/auth"
chmod 600 "$T/auth"
start_server -- --auth-file "$T/auth" --max-body 1024
fetch POST "$URL/Things" -u 'hydro:p4ss word' -d '{"name":"b","description":"basic"}'
equal "HTTP Basic from --auth-file: 201" "$CODE" "201"
fetch POST "$URL/Things" -u 'hydro:nope' -d '{"name":"b","description":"basic"}'
equal "a wrong password: 403" "$CODE" "403"
python3 -c 'print("{\"name\":\"" + "x" * 5000 + "\",\"description\":\"big\"}")' >"$T/big.json"
fetch POST "$URL/Things" -u 'hydro:p4ss word' --data-binary "@$T/big.json"
equal "a body over --max-body: 413" "$CODE" "413"
stop_server

# read-only, behind a proxy
start_server INSITU_SERVE_TOKEN=s3cret -- --read-only --base-url https://sta.example.org/hydro/v1.1/
fetch GET "$URL/Things(1)"
equal "--read-only still reads" "$CODE" "200"
equal "--base-url: links start with it" "$(py 'd["@iot.selfLink"]')" \
  "https://sta.example.org/hydro/v1.1/Things(1)"
fetch DELETE "$URL/Things(1)" -H 'Authorization: Bearer s3cret'
equal "--read-only refuses writes: 405 with Allow" "$CODE $(header Allow)" "405 GET, HEAD, OPTIONS"
fetch POST "$URL/\$batch" -H 'Authorization: Bearer s3cret' -H 'Content-Type: application/json' \
  -d '{"requests":[{"id":"1","method":"get","url":"Things(1)?$select=name"},{"id":"2","method":"delete","url":"Things(1)"}]}'
equal "--read-only: a \$batch reads, and its writes are refused as single ones are (405)" \
  "$CODE $(py '[r["status"] for r in d["responses"]]')" "200 [200, 405]"
fetch DELETE "$URL/Datastreams(4)/Observations" -H 'Authorization: Bearer s3cret' -G \
  --data-urlencode '$filter=result gt 0'
equal "--read-only refuses a DELETE by \$filter: 405" "$CODE" "405"
stop_server
equal "the Thing is still there" "$(sql 'SELECT count(*) FROM things WHERE id = 1')" "1"
equal "... and Datastream 4's Observations" "$(sql 'SELECT count(*) FROM observations WHERE datastream_id = 4')" "4"

# the access log
equal "the access log has one line per request, with status and time" \
  "$(grep -c '"GET /v1.1/Things(1) HTTP/1.1" 200 [0-9]* [0-9.]*ms$' "$T/access.log")" "1"
case $(cat "$T/access.log") in *' - hydro ['*'"POST /v1.1/Things HTTP/1.1" 201 '*) ok "the access log names the writer";;
  *) not_ok "the access log names the writer" "$(tail -n 5 "$T/access.log")";; esac

expect 2 "a bad --listen is a usage error" "--listen" -- insitu serve --listen nowhere
hold_port
expect 1 "a port in use is reported" "cannot listen" -- insitu serve --listen "127.0.0.1:$HELD_PORT"
kill "$HELD_PID"
done_testing
