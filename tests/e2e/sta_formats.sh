#!/bin/sh
# End-to-end: $resultFormat=CSV and $resultFormat=GeoJSON from the real `insitu serve`, read
# back by python3's csv and json modules (and by GDAL's ogrinfo when it is installed), each
# compared with the JSON answer of the same request; and a Datastream's observedArea after an
# ingest, after a POST of an Observation at a new feature far away, and after its DELETE.
. "$INSITU_TEST_LIB"

insitu init >/dev/null
insitu ingest "$DATA/csv/hydroweb_wse_long.csv" >/dev/null
insitu ingest "$DATA/theia/CATC_package.zip" >/dev/null

PID=""
at_exit '[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null'
rm -f "$T/serve.err"
INSITU_SERVE_TOKEN=s3cret "$INSITU" --store "$STORE" serve --listen 127.0.0.1:0 --threads 2 \
  2>"$T/serve.err" &
PID=$!
serve_wait

# csv_vs_json QUERY: the CSV answer of Collection?QUERY, parsed by python3's csv module, is
# the JSON answer of the same request, row by row (unitOfMeasurement and expansions
# flattened into a/b columns, objects as JSON text); prints "rows OK" or what differs
csv_vs_json() {
  curl -s -o "$T/a.csv" -D "$T/csv.headers" "$URL/$1&\$resultFormat=CSV"
  curl -s -o "$T/a.json" "$URL/$1"
  python3 - "$T/a.csv" "$T/a.json" <<'PY'
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
want = json.load(open(sys.argv[2]))["value"]
head, body = rows[0], rows[1:]
def cell(e, path):
    for k in path:
        if isinstance(e, list):
            e = e[0] if e else None
        if not isinstance(e, dict):
            return ""
        e = e.get("@iot.id" if k == "id" else k)
    if e is None:
        return ""
    if isinstance(e, str):
        return e
    if isinstance(e, (dict, list)):
        return json.dumps(e, separators=(",", ":"))
    return json.dumps(e)
bad = [(i, h, r[j], cell(e, h.split("/"))) for i, (r, e) in enumerate(zip(body, want))
       for j, h in enumerate(head)
       if r[j] != cell(e, h.split("/")) and not (r[j].startswith("{") and
                                                 json.loads(r[j]) == json.loads(cell(e, h.split("/"))))]
print(f"{len(body)} rows", "OK" if not bad and len(body) == len(want) else f"differ: {bad[:3]} ({len(want)} in JSON)")
PY
}

equal "CSV: Observations with \$select, \$filter, \$orderby, \$top, as the JSON answer" \
  "$(csv_vs_json "Datastreams(4)/Observations?\$select=id,phenomenonTime,result,resultQuality&\$orderby=result%20desc&\$top=3&\$filter=result%20gt%2010")" \
  "3 rows OK"
equal "CSV: served as text/csv" "$(tr -d '\r' <"$T/csv.headers" | sed -n 's/^Content-Type: //Ip')" \
  "text/csv; charset=utf-8"
case $(tr -d '\r' <"$T/csv.headers" | sed -n 's/^Link: //Ip') in
  "<$URL/Datastreams(4)/Observations?"*'$top=3&$skip=3&$resultFormat=CSV>; rel="next"') ok "CSV: the next page in a Link header";;
  *) not_ok "CSV: the next page in a Link header" "$(cat "$T/csv.headers")";; esac
equal "CSV: every property of Datastreams, expanded Thing and ObservedProperty flattened" \
  "$(csv_vs_json "Datastreams?\$expand=Thing,ObservedProperty(\$select=name,definition)&\$top=100")" \
  "$(sql 'SELECT count(*) FROM datastreams') rows OK"
equal "CSV: Things with their first Location (a to-many expansion with \$top=1)" \
  "$(csv_vs_json "Things?\$expand=Locations(\$top=1)&\$skip=1")" \
  "$(($(sql 'SELECT count(*) FROM things') - 1)) rows OK"
# quoting: a comma, quotes and a line break in one name, JSON properties
fetch POST "$URL/Things" -H 'Authorization: Bearer s3cret' \
  -d '{"name":"a, \"quoted\"\nname","description":"d","properties":{"k":["x, y",1.5]}}'
equal "a Thing with a hard name" "$CODE" "201"
equal "CSV: RFC 4180 quoting read back by python3's csv" \
  "$(csv_vs_json "Things?\$filter=startswith(name,'a,')")" "1 rows OK"
fetch GET "$URL/Things?\$resultFormat=CSV&\$expand=Datastreams"
equal "CSV: a to-many expansion without \$top=1 is refused, saying why" \
  "$CODE $(py 'd["message"]' | cut -c1-60)" \
  "400 \$resultFormat=CSV: \$expand=Datastreams: an expanded collecti"

# GeoJSON
curl -s -o "$T/loc.geojson" -D "$T/gj.headers" "$URL/Locations?\$resultFormat=GeoJSON&\$top=100"
curl -s -o "$T/loc.json" "$URL/Locations?\$top=100"
equal "GeoJSON: served as application/geo+json" \
  "$(tr -d '\r' <"$T/gj.headers" | sed -n 's/^Content-Type: //Ip')" "application/geo+json"
equal "GeoJSON: a FeatureCollection of the Locations, geometry from their location" \
  "$(python3 -c 'import json, sys
g = json.load(open(sys.argv[1])); j = json.load(open(sys.argv[2]))["value"]
print(g["type"], len(g["features"]) == len(j), all(f["type"] == "Feature" and f["geometry"] == e["location"] and f["properties"]["name"] == e["name"] and f["id"] == e["@iot.id"] for f, e in zip(g["features"], j)))' "$T/loc.geojson" "$T/loc.json")" \
  "FeatureCollection True True"
curl -s -o "$T/obs.geojson" "$URL/Datastreams(4)/Observations?\$resultFormat=GeoJSON&\$expand=FeatureOfInterest&\$top=2&\$count=true"
equal "GeoJSON: Observations take their FeatureOfInterest's geometry; count and nextLink kept" \
  "$(python3 -c 'import json, sys
g = json.load(open(sys.argv[1]))
f = g["features"][0]
print(g["@iot.count"], "$skip=2" in g["@iot.nextLink"], f["geometry"]["type"], "FeatureOfInterest/name" in f["properties"], "result" in f["properties"])' "$T/obs.geojson")" \
  "$(sql 'SELECT n_obs FROM datastreams WHERE id = 4') True Point True True"
if command -v ogrinfo >/dev/null; then
  equal "GeoJSON: GDAL reads the Locations" \
    "$(ogrinfo -ro -so -al "$T/loc.geojson" 2>&1 | sed -n 's/^Feature Count: //p')" \
    "$(sql 'SELECT count(*) FROM locations')"
  curl -s -o "$T/things.geojson" "$URL/Things?\$resultFormat=GeoJSON&\$expand=Locations"
  equal "GeoJSON: GDAL reads Things with their expanded Locations' geometry" \
    "$(ogrinfo -ro -al "$T/things.geojson" 2>&1 | grep -c '^  POINT')" \
    "$(sql 'SELECT count(DISTINCT thing_id) FROM thing_locations')"
else
  skip "GeoJSON read by GDAL" "ogrinfo (gdal-bin) is not installed"
fi

# observedArea: the box of the features of a Datastream's Observations
fetch GET "$URL/Datastreams(4)?\$select=observedArea"
area0=$(py 'json.dumps(d["observedArea"])')
equal "observedArea after an ingest: the series' one point" "$(py 'd["observedArea"]["type"]')" "Point"
fetch POST "$URL/Datastreams(4)/Observations" -H 'Authorization: Bearer s3cret' \
  -d '{"phenomenonTime":"2031-01-01T00:00:00Z","result":3,"FeatureOfInterest":{"name":"far","description":"far away","encodingType":"application/geo+json","feature":{"type":"Point","coordinates":[120.5,-33.25]}}}'
equal "an Observation at a new feature far away" "$CODE" "201"
obs=$(py 'd["@iot.id"]')
fetch GET "$URL/Datastreams(4)?\$select=observedArea"
equal "observedArea after the POST: the envelope of both features" \
  "$(py 'd["observedArea"]["type"], max(p[0] for p in d["observedArea"]["coordinates"][0]), min(p[1] for p in d["observedArea"]["coordinates"][0])')" \
  "Polygon 120.5 -33.25"
fetch GET "$URL/Datastreams" -G --data-urlencode "\$filter=st_intersects(observedArea, geography'POINT(120.5 -33.25)')" \
  --data-urlencode '$select=id'
equal "\$filter=st_intersects(observedArea, ...)" "$CODE $(py '[e["@iot.id"] for e in d["value"]]')" "200 [4]"
fetch DELETE "$URL/Observations($obs)" -H 'Authorization: Bearer s3cret'
equal "DELETE of that Observation" "$CODE" "200"
fetch GET "$URL/Datastreams(4)?\$select=observedArea"
equal "observedArea after the DELETE: the one point again" "$(py 'json.dumps(d["observedArea"])')" "$area0"
stop_server
done_testing
