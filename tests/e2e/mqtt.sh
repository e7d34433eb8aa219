#!/bin/sh
# End-to-end: the SensorThings MQTT extension with a real mosquitto on a free loopback port:
# `insitu serve --mqtt` publishes what HTTP and MQTT create and update (the entity set, the
# parents' collections, the entity, its properties, $select topics learnt from the broker's
# subscribe log), creates the Observations clients publish, `insitu ingest --mqtt` publishes
# what it wrote, and a broker that is not there is a clear error.
. "$INSITU_TEST_LIB"

command -v mosquitto >/dev/null || { echo "1..0 # SKIP no mosquitto (apt-get install mosquitto)"; exit 0; }

insitu init >/dev/null
insitu ingest "$DATA/csv/hydroweb_wse_long.csv" >/dev/null

MQ_PID="" PID="" SUBS=""
at_exit 'for p in $SUBS $PID $MQ_PID; do kill "$p" 2>/dev/null; done'
broker_answers() { mosquitto_pub -p "$MQ_PORT" -t probe -n 2>/dev/null; }
# run_broker: mosquitto on MQ_PORT (its pid in MQ_PID); 0 once it answers there
run_broker() {
  cat >"$T/mosquitto.conf" <<CONF
listener $MQ_PORT 127.0.0.1
allow_anonymous true
log_dest topic
log_dest stderr
log_type subscribe
log_type error
CONF
  mosquitto -c "$T/mosquitto.conf" 2>"$T/mosquitto.log" &
  MQ_PID=$!
  wait_until -p "$MQ_PID" "mosquitto to answer on port $MQ_PORT" broker_answers
}
# a free port: the helper that found it lets it go before mosquitto takes it, and another
# process may take it in between: then mosquitto exits, and it is tried on another port
for _ in 1 2 3 4 5; do
  hold_port
  MQ_PORT=$HELD_PORT
  kill "$HELD_PID"; wait "$HELD_PID" 2>/dev/null
  run_broker && break
  kill "$MQ_PID" 2>/dev/null; wait "$MQ_PID" 2>/dev/null; MQ_PID=""
done
[ -n "$MQ_PID" ] || { not_ok "mosquitto starts on a free port" "$(cat "$T/mosquitto.log")"; done_testing; exit 1; }
BROKER="mqtt://127.0.0.1:$MQ_PORT"

rm -f "$T/serve.err"
INSITU_SERVE_TOKEN=secret "$INSITU" --store "$STORE" serve --listen 127.0.0.1:0 --threads 2 \
  --mqtt "$BROKER" 2>"$T/serve.err" &
PID=$!
serve_wait
AUTH="Authorization: Bearer secret"

# sub NAME TOPIC COUNT: a subscriber that takes COUNT messages into $T/NAME (one a line)
# (its own client id, so that it returns once the broker has its subscription; -W: it gives
# up after 120 s without its messages, which only a broken server takes)
sub() {
  mosquitto_sub -p "$MQ_PORT" -V mqttv5 -i "sub_$1" -t "$2" -C "$3" -W 120 >"$T/$1" 2>"$T/$1.err" &
  SUBS="$SUBS $!"
  eval "SUB_$1=$!"
  wait_until "the broker to log the subscription of sub_$1" grep -q " sub_$1 " "$T/mosquitto.log"
}
# got NAME: waits for subscriber NAME to end; its messages in GOT
got() { eval "wait \$SUB_$1" 2>/dev/null; GOT=$(cat "$T/$1"); }
# jq_of TEXT EXPR: python over the JSON text
jp() { printf '%s' "$1" | python3 -c "import json,sys; d=json.loads(sys.stdin.readline()); print($2)"; }
# waits until the server has subscribed (the broker logs it): a subscription is then in place
subscribed() { wait_until "the broker to log a subscription to $1" grep -q "$1" "$T/mosquitto.log"; }
# learnt TOPIC: waits until the server has learnt the $select topic TOPIC (from the broker's
# subscribe log): the list it keeps, retained on the broker, names it
selects_name() {
  mosquitto_sub -p "$MQ_PORT" -t insitu/mqtt/selects -C 1 -W 10 2>/dev/null | grep -qF "\"$1\""
}
learnt() { wait_until "the server to learn the topic $1" selects_name "$1"; }

fetch GET "$URL"
equal "GET /v1.1 lists the MQTT classes with the broker as their endpoint" \
  "$(py '[c.rsplit("/", 1)[1] for c in d["serverSettings"]["conformance"] if "mqtt" in c], d["serverSettings"]["http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation"]["endpoints"]')" \
  "['receive-updates', 'observations-creation'] ['$BROKER']"

# ---- receive: an Observation POSTed through HTTP ----
ds=$(sql "SELECT min(id) FROM datastreams")
sub obs_all 'v1.1/Observations' 1
sub obs_ds "v1.1/Datastreams($ds)/Observations" 1
sub obs_sel 'v1.1/Observations?$select=result,phenomenonTime' 1
subscribed 'v1.1/Observations?$select=result,phenomenonTime'
subscribed "v1.1/Datastreams($ds)/Observations"
learnt 'v1.1/Observations?$select=result,phenomenonTime'
fetch POST "$URL/Datastreams($ds)/Observations" -H "$AUTH" -d '{"phenomenonTime": "2030-01-01T00:00:00Z", "result": 1.5}'
equal "POST an Observation through HTTP" "$CODE" "201"
oid=$(py 'd["@iot.id"]')
got obs_all
equal "v1.1/Observations receives it, as GET answers it" \
  "$(jp "$GOT" 'd["@iot.id"], d["result"], d["phenomenonTime"], d["@iot.selfLink"]')" \
  "$oid 1.5 2030-01-01T00:00:00Z $URL/Observations($oid)"
got obs_ds
equal "v1.1/Datastreams($ds)/Observations receives it" "$(jp "$GOT" 'd["@iot.id"]')" "$oid"
got obs_sel
equal "a \$select topic receives only the members selected" "$(jp "$GOT" 'sorted(d.keys())')" \
  "['phenomenonTime', 'result']"
fetch GET "$URL/Observations($oid)/FeatureOfInterest"
foi=$(py 'd["@iot.id"]')

# ---- create: an Observation published by a client ----
# the broker hands the client's message itself to the topic's subscribers too: two messages
sub obs_new "v1.1/Datastreams($ds)/Observations" 2
sub foi_obs "v1.1/FeaturesOfInterest($foi)/Observations" 1
subscribed "v1.1/FeaturesOfInterest($foi)/Observations"
mosquitto_pub -p "$MQ_PORT" -V mqttv5 -t "v1.1/Datastreams($ds)/Observations" \
  -m '{"phenomenonTime": "2030-01-02T00:00:00Z", "result": 2.5}'
got obs_new
GOT=$(printf '%s\n' "$GOT" | grep '@iot.id')
new=$(jp "$GOT" 'd.get("@iot.id")')
equal "an Observation published to v1.1/Datastreams($ds)/Observations is published back with its id" \
  "$(jp "$GOT" 'd["result"], d["phenomenonTime"]')" "2.5 2030-01-02T00:00:00Z"
got foi_obs
equal "... and on its FeatureOfInterest's Observations" "$(jp "$GOT" 'd["@iot.id"]')" "$new"
fetch GET "$URL/Observations($new)/Datastream"
equal "... and it is stored, in the Datastream of the topic" "$CODE $(py 'd["@iot.id"]')" "200 $ds"
sub obs_new2 'v1.1/Observations' 2
mosquitto_pub -p "$MQ_PORT" -V mqttv5 -t "v1.1/Observations" \
  -m "{\"phenomenonTime\": \"2030-01-03T00:00:00Z\", \"result\": 3.5, \"Datastream\": {\"@iot.id\": $ds}}"
got obs_new2
new2=$(printf '%s\n' "$GOT" | python3 -c 'import json,sys
for l in sys.stdin:
    d = json.loads(l)
    if "@iot.id" in d: print(d["@iot.id"])')
fetch GET "$URL/Observations($new2)"
equal "an Observation published to v1.1/Observations is stored" "$CODE $(py 'd["result"]')" "200 3.5"
mosquitto_pub -p "$MQ_PORT" -V mqttv5 -t "v1.1/Observations" -m '{"result": "no datastream"}'
wait_until "the server to log the refused create" grep -q "create on v1.1/Observations refused" "$T/serve.err"
expect 0 "a bad create is logged by the server, naming the topic and the cause" \
  "create on v1.1/Observations refused (400)" "Datastream" -- cat "$T/serve.err"

# ---- create: an Observation of a MultiDatastream, published to its topic ----
CX="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation"
fetch POST "$URL/MultiDatastreams" -H "$AUTH" -H 'Content-Type: application/json' -d '{"name": "pair",
 "description": "two values", "observationType": "'"$CX"'", "multiObservationDataTypes": ["a", "b"],
 "unitOfMeasurements": [{"name": "m"}, {"name": "s"}], "Thing": {"@iot.id": '"$(sql "SELECT thing_id FROM datastreams WHERE id = $ds")"'},
 "Sensor": {"name": "s", "description": "d", "encodingType": "text/plain", "metadata": "m"},
 "ObservedProperties": [{"name": "p", "definition": "urn:p", "description": "d"},
  {"name": "q", "definition": "urn:q", "description": "d"}]}'
md=$(py 'd["@iot.id"]')
sub obs_md "v1.1/MultiDatastreams($md)/Observations" 2
mosquitto_pub -p "$MQ_PORT" -V mqttv5 -t "v1.1/MultiDatastreams($md)/Observations" \
  -m '{"phenomenonTime": "2030-01-04T00:00:00Z", "result": [1, 2]}'
got obs_md
GOT=$(printf '%s\n' "$GOT" | grep '@iot.id')
equal "an Observation published to v1.1/MultiDatastreams($md)/Observations is stored and published back" \
  "$(jp "$GOT" 'd["result"]') $(sql "SELECT count(*) FROM observations WHERE datastream_id = $md")" "[1, 2] 1"

# ---- receive: a Datastream created under a Thing; an update of a Thing's properties ----
thing=$(sql "SELECT min(id) FROM things")
sub ds_new "v1.1/Things($thing)/Datastreams" 1
subscribed "v1.1/Things($thing)/Datastreams"
fetch POST "$URL/Things($thing)/Datastreams" -H "$AUTH" -d '{"name": "mqtt ds", "description": "d",
  "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
  "unitOfMeasurement": {"name": "metre", "symbol": "m", "definition": "m"},
  "Sensor": {"name": "s", "description": "s", "encodingType": "text/html", "metadata": "x"},
  "ObservedProperty": {"name": "p", "definition": "p", "description": "p"}}'
dsnew=$(py 'd["@iot.id"]')
got ds_new
equal "v1.1/Things($thing)/Datastreams receives a new Datastream" "$(jp "$GOT" 'd["@iot.id"], d["name"]')" \
  "$dsnew mqtt ds"
sub props "v1.1/Things($thing)/properties" 1
sub thing_e "v1.1/Things($thing)" 1
sub thing_name "v1.1/Things($thing)/name" 1
subscribed "v1.1/Things($thing)/name"
fetch PATCH "$URL/Things($thing)" -H "$AUTH" -d '{"properties": {"k": "v"}}'
equal "PATCH a Thing's properties" "$CODE" "200"
got props
equal "v1.1/Things($thing)/properties receives the new properties" "$GOT" '{"properties":{"k":"v"}}'
got thing_e
equal "v1.1/Things($thing) receives the Thing" "$(jp "$GOT" 'd["@iot.id"], d["properties"]')" \
  "$thing {'k': 'v'}"
kill "$SUB_thing_name" 2>/dev/null
equal "v1.1/Things($thing)/name receives nothing: the name did not change" "$(cat "$T/thing_name")" ""

# ---- a $batch changeset: its creates are published when it commits, never when it rolls back ----
sub obs_batch "v1.1/Datastreams($ds)/Observations" 1
subscribed "v1.1/Datastreams($ds)/Observations"
cat >"$T/bad.json" <<JSON
{"requests": [
 {"id": "1", "atomicityGroup": "g", "method": "post", "url": "Datastreams($ds)/Observations",
  "body": {"phenomenonTime": "2031-01-01T00:00:00Z", "result": 9.5}},
 {"id": "2", "atomicityGroup": "g", "method": "post", "url": "Observations", "body": {"result": 1}}]}
JSON
cat >"$T/good.json" <<JSON
{"requests": [
 {"id": "1", "atomicityGroup": "g", "method": "post", "url": "Datastreams($ds)/Observations",
  "body": {"phenomenonTime": "2031-01-02T00:00:00Z", "result": 10.5}}]}
JSON
fetch POST "$URL/\$batch" -H "$AUTH" -H 'Content-Type: application/json' --data-binary @"$T/bad.json"
equal "a changeset whose second create fails is rolled back" "$(py '[r["status"] for r in d["responses"]]')" \
  "[424, 400]"
fetch POST "$URL/\$batch" -H "$AUTH" -H 'Content-Type: application/json' --data-binary @"$T/good.json"
equal "a changeset that commits" "$(py '[r["status"] for r in d["responses"]]')" "[201]"
got obs_batch
equal "subscribers hear of the committed changeset's Observation only, not of the rolled-back one" \
  "$(jp "$GOT" 'd["result"]')" "10.5"

# ---- ingest --mqtt publishes the Observations it wrote ----
cat >"$T/new.csv" <<CSV
thing,latitude,longitude,observed_property,unit,phenomenon_time,result
MQTT_STATION,4.2,-52.1,water_surface_height,m,2031-01-01T00:00:00Z,7.25
MQTT_STATION,4.2,-52.1,water_surface_height,m,2031-01-02T00:00:00Z,7.5
MQTT_STATION,4.2,-52.1,water_surface_height,m,2031-01-03T00:00:00Z,7.75
CSV
sub ingest_obs 'v1.1/Observations?$select=result' 3
subscribed 'v1.1/Observations?$select=result'
learnt 'v1.1/Observations?$select=result'
# 3 Observations, each on 4 topics and 2 $select topics
expect 0 "ingest --mqtt" "insitu: mqtt: 18 messages published to $BROKER" -- insitu ingest --mqtt "$BROKER" "$T/new.csv"
got ingest_obs
equal "the ingest's Observations are published (the \$select the server learnt, kept retained)" \
  "$(printf '%s\n' "$GOT" | sort | tr '\n' ' ')" '{"result":7.25} {"result":7.5} {"result":7.75} '

# ---- the broker goes away and comes back: the server reconnects ----
kill "$MQ_PID"; wait "$MQ_PID" 2>/dev/null
run_broker || { not_ok "mosquitto starts again on port $MQ_PORT" "$(cat "$T/mosquitto.log")"; done_testing; exit 1; }
subscribed 'insitu-serve.* 0 insitu/mqtt/selects' # its last subscription after the reconnect
sub again 'v1.1/Observations' 1
fetch POST "$URL/Datastreams($ds)/Observations" -H "$AUTH" -d '{"phenomenonTime": "2030-02-01T00:00:00Z", "result": 9}'
got again
equal "after a broker restart, creates are published again" "$(jp "$GOT" 'd["result"]')" "9"

stop_server
equal "the server stops cleanly" "$STOP_RC" "0"

# ---- no broker ----
kill "$MQ_PID"; wait "$MQ_PID" 2>/dev/null; MQ_PID=""
expect 1 "serve --mqtt without a broker: a clear error naming the URL" \
  "cannot connect to the MQTT broker $BROKER" -- insitu serve --listen 127.0.0.1:0 --mqtt "$BROKER"
expect 1 "ingest --mqtt without a broker: the same" \
  "cannot connect to the MQTT broker $BROKER" -- insitu ingest --mqtt "$BROKER" "$T/new.csv"
expect 2 "--mqtt takes an mqtt:// URL" "--mqtt http://x: expected mqtt://HOST:PORT" -- \
  insitu serve --mqtt http://x

done_testing
