#!/bin/sh
# End-to-end: `insitu ingest URL` and `insitu pull` against tests/httpd.py on 127.0.0.1,
# which serves the real sample files with failure modes and imitates Hydrocron, the
# Hydroweb.next WFS and a THEIA/OZCAR download. Never reaches beyond the loopback.
. "$INSITU_TEST_LIB"

HTTPD="$(dirname "$INSITU_TEST_LIB")/../httpd.py"
mkdir -p "$T/scratch"
python3 "$HTTPD" --root "$DATA" --port-file "$T/port" --log "$T/requests.log" \
  --scratch "$T/scratch" &
SERVER=$!
at_exit 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null'
wait_file "$T/port" "$SERVER"
U="http://127.0.0.1:$(cat "$T/port")"
export INSITU_CACHE_DIR="$T/cache"
unset INSITU_HYDROCRON_URL INSITU_HYDROWEB_URL INSITU_THEIA_URL INSITU_HYDROWEB_API_KEY \
  INSITU_HYDROCRON_API_KEY INSITU_THEIA_API_KEY
FAST="--retry-delay 0.01"
WFS="hydroweb/hydroweb_rivers_wse_2024-01-01-to-2024-01-31.csv"
obs() { sql "SELECT count(*) FROM observations"; }
requests() { grep -c "$1" "$T/requests.log"; }

insitu init >/dev/null

# ---- insitu ingest URL ----
expect 0 "ingest a URL: downloaded, probed, ingested" \
  "ingested $U/data/$WFS (hydroweb-next): 2 things, 4 datastreams, 4 observations" -- \
  insitu ingest "$U/data/$WFS"
equal "the source is the URL" "$(sql "SELECT source || ' ' || source_key FROM ingest_runs")" \
  "$U/data/$WFS $U/data/$WFS"
equal "the checksum is the file's" "$(sql "SELECT checksum FROM ingest_runs")" \
  "$(sha256sum "$DATA/$WFS" | cut -d' ' -f1)"
run insitu query --thing R_APPROUAGUE_APPROUAGUE_KM0047 --format csv
equal "values equal the file's, the station at the JSON's position" \
  "$(printf '%s\n' "$OUT" | tail -n +2 | cut -d, -f3,5,6)" \
"wse,2024-01-19T01:26:00Z,0.84
wse_u,2024-01-19T01:26:00Z,0.03"
equal "lat/lon axis order: POINT (4.2544 -52.2139) is lon -52.2139, lat 4.2544" \
  "$(sql "SELECT l.location FROM locations l JOIN thing_locations tl ON tl.location_id = l.id JOIN things t ON t.id = tl.thing_id WHERE t.code = 'R_APPROUAGUE_APPROUAGUE_KM0047'")" \
  '{"type":"Point","coordinates":[-52.2139,4.2544]}'
expect 0 "re-ingesting an unchanged URL is skipped" "skipped $U/data/$WFS" "unchanged" -- \
  insitu ingest "$U/data/$WFS"
equal "a conditional request was made (the server said 304)" \
  "$(grep "/data/$WFS" "$T/requests.log" | grep -c '| "')" 1
equal "no observation added" "$(obs)" 4

# a document that changes at its URL replaces its old version
cp "$DATA/hydroweb/hydroprd_R_MARONI_OELEMARI_KM0387_from_20231101_to_20240131.json" \
  "$T/scratch/station.json"
insitu ingest "$U/scratch/station.json" >/dev/null
sed -i 's/122.89/122.99/' "$T/scratch/station.json"
expect 0 "a changed document replaces the old version" "6 updated" "replaces run 3" -- \
  insitu ingest "$U/scratch/station.json"
equal "the new value is there" "$(sql "SELECT count(*) FROM observations WHERE result = 122.99")" 1

# failure modes
expect 0 "HTTP 500 twice, then success" "ingested $U/fail500/2/hydroweb/" -- \
  insitu ingest $FAST "$U/fail500/2/hydroweb/hydroprd_R_MARONI_TAPANAHONY_KM0198_from_20231101_to_20240131.json"
before=$(obs)
expect 1 "a server that keeps failing: the error names URL, status, attempts" \
  "insitu: fetch: $U/always500/x.csv: HTTP 500 Internal Server Error (after 3 attempts)" -- \
  insitu ingest $FAST --retries 2 "$U/always500/x.csv"
expect 1 "a truncated body is an error" "$U/truncate/csv/wide_interval.csv" \
  "the transfer ended early: " -- insitu ingest --retries 0 "$U/truncate/csv/wide_interval.csv"
equal "nothing ingested" "$(obs)" "$before"
expect 0 "the next ingest resumes it" "ingested $U/truncate/csv/wide_interval.csv (csv)" -- \
  insitu ingest --retries 0 "$U/truncate/csv/wide_interval.csv"
equal "with a Range request" "$(grep "/truncate/csv/wide_interval.csv" "$T/requests.log" | grep -c 'bytes=')" 1
expect 1 "a slow server times out" "timed out" "total 0.5s" -- \
  insitu ingest --timeout 0.5 --retries 0 "$U/slow/3/csv/time_value.csv"
expect 0 "redirects are followed" "ingested $U/redirect/2/csv/time_value.csv (csv)" -- \
  insitu ingest "$U/redirect/2/csv/time_value.csv"
expect 1 "a redirect loop stops" "more than 5 redirects" -- insitu ingest "$U/loop"
expect 1 "a body beyond --max-size is refused" "larger than the size limit of 1024 bytes" -- \
  insitu ingest --max-size 1K "$U/big-chunked/100000"
entries=$(find "$T/cache" -mindepth 1 -maxdepth 1 -type d | wc -l)
expect 1 "HTTP 404 names the URL" "$U/data/none.csv: HTTP 404 Not Found" -- \
  insitu ingest "$U/data/none.csv"
equal "a 404 leaves no folder in the download cache" \
  "$(find "$T/cache" -mindepth 1 -maxdepth 1 -type d | wc -l)" "$entries"
expect 2 "a bad download option is a usage error" "--max-size 12Q" -- \
  insitu ingest --max-size 12Q "$U/data/none.csv"

# ---- pull hydroweb (Hydroweb.next WFS) ----
STATIONS="R_APPROUAGUE_APPROUAGUE_KM0041 R_APPROUAGUE_APPROUAGUE_KM0047"
rm -f "$STORE"
insitu init >/dev/null
# shellcheck disable=SC2086
expect 0 "pull hydroweb: pages of 1 feature joined into one source" \
  "(hydroweb-next): 2 things, 4 datastreams, 4 observations" -- \
  env INSITU_HYDROWEB_API_KEY=secret "$INSITU" --store "$STORE" pull hydroweb \
  --base-url "$U/geoserver/HYDROWEB/ows" --from 2024-01-01 --to 2024-01-31 --page-size 1 $STATIONS
equal "three pages requested (1, 1, then 0 features)" \
  "$(grep -c 'ows?service=WFS.*count=1&startIndex=[012] ' "$T/requests.log")" 3
equal "the API key from the environment went with every page" \
  "$(grep 'ows?service=WFS' "$T/requests.log" | grep -c '| secret |')" 3
equal "the source is the request without paging" \
  "$(sql "SELECT count(*) FROM ingest_runs WHERE source LIKE '$U/geoserver/HYDROWEB/ows?service=WFS&version=2.0.0&request=GetFeature&typeNames=hydroweb_rivers_wse&%' AND source NOT LIKE '%startIndex%'")" 1
run insitu query --thing R_APPROUAGUE_APPROUAGUE_KM0041 --format csv
equal "pulled values equal the CSV's" "$(printf '%s\n' "$OUT" | tail -n +2 | cut -d, -f3,5,6)" \
"wse,2024-01-24T13:31:00Z,0.72
wse_u,2024-01-24T13:31:00Z,0.01"
# shellcheck disable=SC2086
expect 0 "pulling again is skipped" "skipped" "unchanged" -- \
  insitu pull hydroweb --base-url "$U/geoserver/HYDROWEB/ows" --from 2024-01-01 \
  --to 2024-01-31 --page-size 1 $STATIONS
# the legacy JSON of the same stations merges with what was pulled
expect 0 "the legacy JSON merges with the pulled series" "0 inserted, 2 updated" -- \
  insitu ingest "$DATA/hydroweb/hydroprd_R_APPROUAGUE_APPROUAGUE_KM0041_from_20240101_to_20240131.json"
equal "still 2 stations, 4 datastreams, 4 observations" \
  "$(sql "SELECT (SELECT count(*) FROM things) || ' ' || (SELECT count(*) FROM datastreams) || ' ' || (SELECT count(*) FROM observations)")" "2 4 4"
expect 1 "a WFS exception is reported with its text" "Feature type nope unknown" -- \
  insitu pull hydroweb --base-url "$U/geoserver/HYDROWEB/ows" --from 2024-01-01 \
  --to 2024-01-31 --layer nope R_X
expect 0 "base URL from the environment" "skipped" -- \
  env INSITU_HYDROWEB_URL="$U/geoserver/HYDROWEB/ows" "$INSITU" --store "$STORE" pull hydroweb \
  --from 2024-01-01 --to 2024-01-31 --page-size 1 R_APPROUAGUE_APPROUAGUE_KM0041 R_APPROUAGUE_APPROUAGUE_KM0047

# ---- pull hydrocron ----
expect 0 "pull hydrocron: a reach, a prior lake" \
  "(hydrocron): 1 things, 3 datastreams, 9 observations (9 inserted, 0 updated, 0 deleted, 6 null)" -- \
  insitu pull hydrocron --base-url "$U/hydrocron/v1" --from 2024-01-01T00:00:00Z \
  --to 2024-04-01T00:00:00Z 18180900091
expect 0 "pull hydrocron --feature PriorLake" "(hydrocron): 1 things, 2 datastreams, 8 observations" -- \
  insitu pull hydrocron --base-url "$U/hydrocron/v1" --from 2024-06-01 --to 2024-08-01 \
  --feature PriorLake 7230381002
equal "the request carries Hydrocron's parameters" \
  "$(grep -c '/hydrocron/v1/timeseries?feature=Reach&feature_id=18180900091&start_time=2024-01-01T00%3A00%3A00Z&end_time=2024-04-01T00%3A00%3A00Z&output=geojson&compact=true&fields=reach_id%2Ctime%2Ctime_str%2Cwse' "$T/requests.log")" 1
printf '44404000150591\n# a comment\n99999999999\n' >"$T/ids"
expect 0 "ids from a file; a feature without data is skipped, not failed" \
  "(hydrocron): 1 things, 4 datastreams, 16 observations" \
  "no data: {\"error\": \"400: Results with the specified Feature ID 99999999999 were not found\"}" -- \
  insitu pull hydrocron --base-url "$U/hydrocron/v1" --from 2024-01-01 --to 2024-03-01 \
  --feature Node --ids-file "$T/ids"
run insitu query --thing 18180900091 --property dschg_c --format csv
equal "fill values are NULL with their flag" "$(printf '%s\n' "$OUT" | tail -n +2 | cut -d, -f5-7)" \
"2024-01-12T11:52:38Z,,\"{\"\"dschg_c_q\"\":-999}\"
2024-01-25T21:14:41Z,,\"{\"\"dschg_c_q\"\":-999}\"
2024-02-02T08:37:44Z,,\"{\"\"dschg_c_q\"\":-999}\""
equal "a reach is a swot:reach Thing of the SWOT L2_HR_RiverSP sensor" \
  "$(sql "SELECT t.namespace || ' ' || s.name FROM things t JOIN datastreams d ON d.thing_id = t.id JOIN sensors s ON s.id = d.sensor_id WHERE t.code = '18180900091' LIMIT 1")" \
  "swot:reach SWOT L2_HR_RiverSP"
expect 1 "a response too large for the service is asked again in halves" "HTTP 413" -- \
  insitu pull hydrocron --base-url "$U/hydrocron/v1" --from 2024-01-01 --to 2024-01-20 413
equal "two halves were asked" \
  "$(grep -c 'feature_id=413&start_time=2024-01-01T00%3A00%3A00Z&end_time=2024-01-10T12%3A00%3A00Z' "$T/requests.log")" 1

# ---- pull theia ----
expect 0 "pull theia: a dataset download ingested as a pivot package" \
  "ingested $U/theia/theia/CATC_package.zip (theia-pivot): 2 things, 2 datastreams, 3 observations" -- \
  insitu pull theia "$U/theia/theia/CATC_package.zip"
expect 0 "a path joined to --base-url; unchanged: skipped" "skipped $U/theia/theia/CATC_package.zip" -- \
  insitu pull theia --base-url "$U/theia/" theia/CATC_package.zip

# one source that fails: its error, then the summary line as for several
run insitu pull theia "$U/theia/theia/none.zip"
equal "a single failing id: its error and the summary line (exit 1)" \
  "$RC: $(printf '%s\n' "$ERR" | grep -c "$U/theia/theia/none.zip"): $(printf '%s\n' "$ERR" | tail -n 1)" \
  "1: 1: insitu: 1 source failed (of 1)"
# pull creates a missing store, and says so even with -q
run "$INSITU" --store "$T/pulled.db" -q pull theia "$U/theia/theia/CATC_package.zip"
equal "pull into a missing store creates it and says so" \
  "$RC: $(printf '%s' "$ERR" | sed 's/schema version [0-9][0-9]*/schema version N/')" \
  "0: insitu: $T/pulled.db: no store there, created a new one (schema version N)"

# ---- usage ----
expect 2 "pull without a service" "no service given" -- insitu pull
expect 2 "an unknown service" "unknown service 'nope'" -- insitu pull nope x
expect 2 "hydroweb needs a base URL" "--base-url" -- insitu pull hydroweb --from 2024-01-01 --to 2024-02-01 R_X
expect 2 "hydrocron needs a time range" "--from is required" -- \
  insitu pull hydrocron --base-url "$U/hydrocron/v1" 18180900091
expect 2 "a bad feature" "--feature River" -- \
  insitu pull hydrocron --base-url "$U/hydrocron/v1" --from 2024-01-01 --to 2024-02-01 --feature River 1
expect 0 "pull --help lists the services" "hydrocron" "hydroweb" "theia" "--cache-dir" -- insitu pull --help
done_testing
