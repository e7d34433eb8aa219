#!/bin/sh
# End-to-end: what the OGC SensorThings test suites (ets-sta10 and Fraunhofer IOSB's extended
# fork) check, asked again by tests/sta_conformance.py of the real `insitu serve` on a free
# loopback port, over an empty store: entity shapes, deep insert, PATCH, PUT, DELETE cascades,
# every $filter operator and function, the geo and time functions, paging, dataArray.
. "$INSITU_TEST_LIB"

insitu init >/dev/null
rm -f "$T/serve.err"
INSITU_SERVE_TOKEN=s3cret "$INSITU" --store "$STORE" serve --listen 127.0.0.1:0 --threads 2 \
  2>"$T/serve.err" &
PID=$!
at_exit '[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null'
serve_wait
# the script prints TAP lines of its own: renumber them into this script's
python3 "$(dirname "$INSITU_TEST_LIB")/../sta_conformance.py" "$URL" s3cret >"$T/conformance.out" 2>&1
rc=$?
while IFS= read -r line; do
  case "$line" in
    "ok "*) ok "${line#ok [0-9]* - }" ;;
    "not ok "*) not_ok "${line#not ok [0-9]* - }" ;;
    "1.."*) ;;
    *) echo "$line" ;;
  esac
done <"$T/conformance.out"
equal "the conformance script ran to its end" "$rc $(tail -n 1 "$T/conformance.out" | cut -c1-3)" "0 1.."
done_testing
