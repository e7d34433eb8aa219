#!/bin/sh
# End-to-end (issue 17, hostile clients): the real `insitu serve` against what an attacker
# sends. tests/hostile_clients.py floods it with 10,000 malformed or hostile requests (seeded:
# the same ones every run), holds 500 slow clients while a normal one must be answered within
# a second, and tries every write on a --read-only server. Then: the store is unchanged, the
# secret appears in no log, the limits (--max-url, --max-header, --max-top, $expand and
# $filter) answer a 4xx naming them, and CORS is granted only to the origins --cors names.
. "$INSITU_TEST_LIB"

SECRET=hostile-s3cret-$$
PASSWORD=pa55-hostile-$$
HOSTILE="$DATA/../hostile_clients.py"
: "${HOSTILE_REQUESTS:=10000}"

insitu init >/dev/null
insitu ingest "$DATA/csv/hydroweb_wse_long.csv" >/dev/null
insitu ingest "$DATA/theia/CATC_package.zip" >/dev/null

# store_dump FILE: the store's rows into FILE, to compare before and after (the provenance
# runs, PostgreSQL's sequences, which a refused insert may advance, and pg_dump's random
# \restrict keys left out)
store_dump() {
  if [ "$BACKEND" = postgresql ]; then
    pg_dump --data-only --no-owner --exclude-table=ingest_runs "$STORE" |
      grep -v -e '^--' -e 'pg_catalog.setval' -e '^.restrict ' -e '^.unrestrict ' >"$1"
  else
    sqlite3 "$STORE" .dump | grep -v 'ingest_runs' >"$1"
  fi
}
# same_store DESCRIPTION: the store's rows are those of $T/before.sql
same_store() {
  store_dump "$T/after.sql"
  if cmp -s "$T/before.sql" "$T/after.sql"; then ok "$1"
  else not_ok "$1" "$(diff "$T/before.sql" "$T/after.sql" | head -n 20)"; fi
}

PID=""
start_server() {
  rm -f "$T/serve.err"
  env INSITU_SERVE_TOKEN="$SECRET" "$INSITU" --store "$STORE" serve \
    --listen 127.0.0.1:0 --access-log "$T/access.log" "$@" 2>"$T/serve.err" &
  PID=$!
  serve_wait
}
at_exit '[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null'

# hostile MODE ARGS...: runs tests/hostile_clients.py, its checks numbered as ours
hostile() {
  python3 "$HOSTILE" "$@" >"$T/hostile.out" 2>&1
  while IFS= read -r line; do
    case $line in
      "ok - "*) ok "${line#ok - }" ;;
      "not ok - "*) not_ok "${line#not ok - }" ;;
      "#"*) echo "$line" ;;
      *) echo "# $line" ;;
    esac
  done <"$T/hostile.out"
}

store_dump "$T/before.sql"
start_server --threads 4
hostile flood "$URL" "$SECRET" "$HOSTILE_REQUESTS" 17
kill -0 "$PID" 2>/dev/null && ok "the server is still running after the flood" ||
  not_ok "the server is still running after the flood" "$(tail -5 "$T/serve.err")"
same_store "the store is unchanged by the flood"

hostile slowloris "$URL" "$SECRET" 500 30
stop_server
equal "the server stops cleanly after the slow clients" "$STOP_RC" "0"

# the limits, each a 4xx naming it
start_server --threads 2 --max-url 40000 --max-top 3 --cors https://maps.example.org,https://b.example.org
long=$(python3 -c 'print("a" * 40100)')
fetch GET "$URL/Things?\$filter=$long"
equal "--max-url: a longer URL is a 414 naming the option" "$CODE $(py 'd["message"]')" \
  "414 the request URL is longer than 40000 bytes (insitu serve --max-url)"
fetch GET "$URL/Things" -H "X-Big: $(python3 -c 'print("b" * 70000)')"
equal "headers larger than --max-header (65536): 431" "$CODE" "431"
fetch GET "$URL/Observations?\$top=1000&\$select=id"
equal "--max-top: a larger \$top is cut to it, with a next link" \
  "$CODE $(py 'len(d["value"]), "@iot.nextLink" in d')" "200 3 True"
fetch GET "$URL/Things?\$top=99999999999999999999"
equal "a \$top out of range: 400 naming it" "$CODE $(py 'd["message"]' | cut -c1-5)" "400 \$top:"
fetch GET "$URL/Things" --data-urlencode "\$expand=$(python3 -c 'print("Datastreams($expand=Thing($expand=" * 4 + "Locations" + "))" * 4)')" -G
equal "\$expand deeper than 6 levels: 400 naming the limit" "$CODE $(py '"nested more than 6 levels" in d["message"]')" "400 True"
fetch GET "$URL/Things" --data-urlencode "\$filter=$(python3 -c 'print("(" * 60 + "id eq 1" + ")" * 60)')" -G
equal "\$filter nested deeper than 48: 400 naming the limit" "$CODE $(py 'd["message"]')" \
  "400 \$filter: at character 25: expression nested too deeply (more than 48 levels)"
fetch GET "$URL/Things" --data-urlencode "\$filter=$(python3 -c 'print(" or ".join(["id eq %d" % i for i in range(2100)]))')" -G
equal "\$filter larger than 16384 characters: 400 naming the limit" \
  "$CODE $(py 'd["message"].startswith("$filter: too long (") and "at most 16384" in d["message"]')" \
  "400 True"

# CORS: only the origins configured
fetch GET "$URL/Things(1)" -H 'Origin: https://maps.example.org'
equal "--cors: a listed origin may read" \
  "$(header Access-Control-Allow-Origin) $(header Vary)" "https://maps.example.org Origin"
fetch GET "$URL/Things(1)" -H 'Origin: https://b.example.org'
equal "--cors: the second origin of the list too" "$(header Access-Control-Allow-Origin)" \
  "https://b.example.org"
fetch GET "$URL/Things(1)" -H 'Origin: https://evil.example.com'
equal "--cors: another origin gets no grant" "$(header Access-Control-Allow-Origin)" ""
fetch OPTIONS "$URL/Things" -H 'Origin: https://maps.example.org' -H 'Access-Control-Request-Method: POST'
equal "--cors: a preflight from a listed origin is granted" \
  "$CODE $(header Access-Control-Allow-Origin) $(header Access-Control-Allow-Methods)" \
  "204 https://maps.example.org GET, HEAD, POST, PATCH, PUT, DELETE, OPTIONS"
fetch OPTIONS "$URL/Things" -H 'Origin: https://evil.example.com' -H 'Access-Control-Request-Method: POST'
equal "--cors: a preflight from another origin is not" \
  "$CODE $(header Access-Control-Allow-Origin)$(header Access-Control-Allow-Methods)" "204 "
stop_server

start_server --threads 2 --cors '*'
fetch GET "$URL/Things(1)" -H 'Origin: https://anyone.example.net'
equal "--cors '*': any origin may read" "$(header Access-Control-Allow-Origin)" "*"
stop_server
expect 2 "--cors with no origin is a usage error" "--cors" -- \
  "$INSITU" --store "$STORE" serve --cors ''

# --read-only: every write refused, with a valid credential
start_server --threads 2 --read-only
hostile readonly "$URL" "$SECRET"
stop_server
same_store "the store is unchanged by the read-only server"

# a valid write with Basic credentials, then: the secrets are in no log
rm -f "$T/serve.err"
env INSITU_SERVE_USER=steward INSITU_SERVE_PASSWORD="$PASSWORD" "$INSITU" \
  --store "$STORE" serve --listen 127.0.0.1:0 --threads 2 --access-log "$T/access.log" \
  2>"$T/serve.err" &
PID=$!
serve_wait
fetch POST "$URL/Things" -u "steward:$PASSWORD" -H 'Content-Type: application/json' \
  -d '{"name": "written with Basic", "description": "d"}'
equal "a Basic credential writes" "$CODE" "201"
fetch POST "$URL/Things" -u "steward:wrong-$PASSWORD" -d '{"name": "x", "description": "d"}'
equal "a wrong password is refused" "$CODE" "403"
stop_server
leaks=$(grep -l -e "$SECRET" -e "$PASSWORD" "$T/access.log" "$T/serve.err" 2>/dev/null)
equal "neither the token nor the password is in the access log or the server's output" "$leaks" ""
grep -q 'steward' "$T/access.log" && ok "the access log names the Basic user" ||
  not_ok "the access log names the Basic user" "$(tail -3 "$T/access.log")"

done_testing
