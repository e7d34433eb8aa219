#!/bin/sh
# End-to-end: the FROST Python client's documented behaviour (tests/sta_client.py replays
# its requests: creates read by their Location header, isoformat() times, upper-case
# $orderby, nextLink walking, JSON Patch, dataArray) against the real `insitu serve` on a
# free loopback port, over an empty store.
. "$INSITU_TEST_LIB"

insitu init >/dev/null
rm -f "$T/serve.err"
INSITU_SERVE_TOKEN=s3cret "$INSITU" --store "$STORE" serve --listen 127.0.0.1:0 --threads 2 \
  2>"$T/serve.err" &
PID=$!
at_exit '[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null'
serve_wait
# the script prints TAP lines of its own: renumber them into this script's
python3 "$(dirname "$INSITU_TEST_LIB")/../sta_client.py" "$URL" s3cret >"$T/client.out" 2>&1
rc=$?
while IFS= read -r line; do
  case "$line" in
    "ok "*) ok "${line#ok [0-9]* - }" ;;
    "not ok "*) not_ok "${line#not ok [0-9]* - }" ;;
    "1.."*) ;;
    *) echo "$line" ;;
  esac
done <"$T/client.out"
equal "the client script ran to its end" "$rc $(tail -n 1 "$T/client.out" | cut -c1-3)" "0 1.."
done_testing
