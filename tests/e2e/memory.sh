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

# the same for a WaterML 2.0 document: one series of 20k, then 400k points (streamed XML)
wml() { # wml POINTS FILE
  awk -v n="$1" 'BEGIN {
    print "<wml2:Collection xmlns:wml2=\"http://www.opengis.net/waterml/2.0\" xmlns:gml=\"http://www.opengis.net/gml/3.2\" xmlns:om=\"http://www.opengis.net/om/2.0\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" gml:id=\"c\"><wml2:observationMember><om:OM_Observation gml:id=\"o\"><om:procedure xlink:title=\"p\"/><om:observedProperty xlink:title=\"q\"/><om:featureOfInterest xlink:title=\"s\"/><om:result><wml2:MeasurementTimeseries gml:id=\"t\">"
    for (i = 0; i < n; i++)
      printf "<wml2:point><wml2:MeasurementTVP><wml2:time>%s</wml2:time><wml2:value>%.3f</wml2:value></wml2:MeasurementTVP></wml2:point>\n", strftime("%Y-%m-%dT%H:%M:%SZ", 946684800 + i * 60, 1), (i % 977) / 7
    print "</wml2:MeasurementTimeseries></om:result></om:OM_Observation></wml2:observationMember></wml2:Collection>" }' >"$2"
}
wml 20000 "$T/small.xml"
wml 400000 "$T/large.xml"
small=$(rss "$T/small.xml")
large=$(rss "$T/large.xml")
echo "# peak RSS: WaterML 20k points $small KiB, 400k points $large KiB"
if [ -n "$small" ] && [ -n "$large" ] && [ "$large" -lt $((small + 16384)) ]; then
  ok "WaterML 2.0: peak RSS of 400k points ($large KiB) within 16 MiB of 20k ($small KiB)"
else
  not_ok "WaterML 2.0 peak RSS grows with input size" "20k: $small KiB, 400k: $large KiB"
fi
done_testing
