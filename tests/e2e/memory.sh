#!/bin/sh
# End-to-end: memory stays bounded by the batch size, not by the input size: ingesting ten
# times more rows must not raise the peak RSS by more than a few MiB.
. "$INSITU_TEST_LIB"

if [ "$BACKEND" != sqlite ]; then
  skip "peak RSS does not grow with input size" "measured on the embedded store"
  done_testing
  exit 0
fi
if [ -n "${INSITU_SANITIZED:-}" ]; then
  skip "peak RSS does not grow with input size" "sanitizer builds keep freed memory in quarantine"
  done_testing
  exit 0
fi
PEAK="$(dirname "$INSITU")/tests/peakrss"
gen() { # gen ROWS FILE: long CSV over 100 datastreams
  awk -v n="$1" 'BEGIN { print "thing,lat,lon,property,unit,time,value,quality";
    for (i = 0; i < n; i++) { s = i % 100; t = 946684800 + int(i / 100) * 600;
      printf "ST%03d,%.4f,%.4f,discharge,m3/s,%s,%.3f,ok\n", s, 40 + s / 100, 2 + s / 50,
        strftime("%Y-%m-%dT%H:%M:%SZ", t, 1), (i % 977) / 7 } }' >"$2"
}
rss() { # rss FILE: peak RSS (KiB) of ingesting FILE into a new store
  rm -f "$T/m.db"*
  "$PEAK" "$INSITU" --store "$T/m.db" ingest "$1" 2>&1 >/dev/null | awk '/^peak_rss_kib/ { print $2 }'
}
gen 100000 "$T/small.csv"
gen 1000000 "$T/large.csv"
small=$(rss "$T/small.csv")
large=$(rss "$T/large.csv")
echo "# peak RSS: 100k rows $small KiB, 1M rows $large KiB"
if [ -n "$small" ] && [ -n "$large" ] && [ "$large" -lt $((small + 16384)) ] && [ "$large" -lt 65536 ]; then
  ok "peak RSS of 1M rows ($large KiB) within 16 MiB of 100k rows ($small KiB), under 64 MiB"
else
  not_ok "peak RSS grows with input size" "100k rows: $small KiB, 1M rows: $large KiB"
fi
equal "all rows are in" "$(sqlite3 "$T/m.db" 'SELECT count(*) FROM observations')" 1000000
done_testing
