#!/bin/sh
# End-to-end: bad input gets a clear error naming the file, line and field, exit status 1,
# and loses nothing: the store is exactly as it was.
. "$INSITU_TEST_LIB"

insitu init >/dev/null
insitu ingest "$DATA/csv/hydroweb_wse_long.csv" "$DATA/theia/CATC_package.zip" >/dev/null
snapshot() {
  sql "SELECT (SELECT count(*) FROM observations) || '/' || (SELECT count(*) FROM things) || '/' ||
       (SELECT count(*) FROM datastreams) || '/' || (SELECT count(*) FROM features) || '/' ||
       (SELECT coalesce(sum(result), 0) FROM observations)"
}
BEFORE=$(snapshot)
unchanged() { equal "$1: the store is unchanged" "$(snapshot)" "$BEFORE"; }

printf 'time,value\n2020-01-01,1\n2020-01-02,2,3\n' >"$T/columns.csv"
expect 1 "wrong column count" "columns.csv:3" "expected 2 fields" -- insitu ingest "$T/columns.csv"
unchanged "wrong column count"

printf 'time,value\n2020-01-01,1\n01/02/2020,2\n' >"$T/dates.csv"
expect 1 "unparseable date" "dates.csv:3" "column 'time'" "01/02/2020" -- insitu ingest "$T/dates.csv"
unchanged "unparseable date"

: >"$T/empty.csv"
expect 1 "empty file" "empty.csv: empty file" -- insitu ingest "$T/empty.csv"
: >"$T/package.zip"
expect 1 "0-byte zip" "package.zip: empty file (0 bytes)" -- insitu ingest "$T/package.zip"
printf 'PK\003\004garbage, not a zip' >"$T/broken.zip"
expect 1 "a corrupt zip" "broken.zip" -- insitu ingest --format theia-pivot "$T/broken.zip"
unchanged "empty and corrupt files"

head -c 2500 "$DATA/theia/CATC_en.json" >"$T/CATC_en.json"
expect 1 "truncated JSON" "CATC_en.json: line" "column" -- insitu ingest "$T/CATC_en.json"
unchanged "truncated JSON"

mkdir "$T/nodata" && cp "$DATA/theia/CATC_en.json" "$T/nodata/"
expect 1 "missing data file" \
  "datasets[0].observations[0].result.dataFile: CATC_OBS_CE.WChem_Od_1.txt not found" -- \
  insitu ingest "$T/nodata"
for i in 1 2 3; do
  mkdir "$T/invalid$i"
  cp "$DATA/theia/CATC_en.json" "$T/invalid$i/"
  cp "$DATA/theia/CATC_DAT_CE.WChem_Od_-_invalid$i.zip" "$T/invalid$i/CATC_DAT_CE.WChem_Od.zip"
done
expect 1 "two variable names for one observation" "CATC_OBS_CE.WChem_Od_1.txt:4" \
  "#Variable_name" -- insitu ingest "$T/invalid1"
expect 1 "a data row without its leading ';'" "CATC_OBS_CE.WChem_Od_1.txt:6" "expected 8 fields" -- \
  insitu ingest "$T/invalid2"
expect 1 "the date 2003-02-32" "CATC_OBS_CE.WChem_Od_1.txt:7" "date_end" "day out of range" -- \
  insitu ingest "$T/invalid3"
unchanged "pivot packages"

# a bad row deep in a big file, after several batches were written
awk 'BEGIN { print "thing,lat,lon,property,unit,time,value";
  for (i = 0; i < 10000; i++) {
    t = 1577836800 + i * 60; v = (i == 4998) ? "x" : i;
    printf "BIG,1,2,h,m,%s,%s\n", strftime("%Y-%m-%dT%H:%M:%SZ", t, 1), v } }' >"$T/big.csv"
expect 1 "a bad row 5000 of 10000" "big.csv:5000" "column 'value'" "not a number: 'x'" -- \
  insitu ingest --batch 500 "$T/big.csv"
unchanged "a bad row 5000"
equal "the failed run is recorded" \
  "$(sql "SELECT count(*) FROM ingest_runs WHERE status = 'failed' AND message LIKE '%big.csv:5000%'")" 1

printf 'time,value\n2020-01-01,1\n' >"$T/ok.csv"
printf 'time,value\n2020-01-01,\351t\351\n' >"$T/latin1.csv"
expect 1 "non-UTF-8 text: the line, and the iconv command that converts it" "latin1.csv:2" \
  "not UTF-8" "iconv -f CP1252 -t UTF-8 '$T/latin1.csv' > '$T/latin1.utf8.csv'" -- \
  insitu ingest "$T/latin1.csv"
printf 'time,d\351bit\n2020-01-01,1\n' >"$T/latin1_header.csv"
expect 1 "a CP1252 header gets the same advice" "latin1_header.csv:1: header" "iconv -f CP1252" -- \
  insitu ingest "$T/latin1_header.csv"
printf 'date d\351bit\n2020-01-01 1\n' >"$T/latin1.txt"
expect 1 "an unrecognised file that is not UTF-8 says so" "no ingester recognises" \
  "not UTF-8 text" "iconv -f CP1252" -- insitu ingest "$T/latin1.txt"
expect 1 "ingest of a raster points to insitu sample" "a raster (" "insitu sample --product" -- \
  insitu ingest "$DATA/raster/mod13q1/TERRA_MODIS_012010_NDVI_2013-09-14.jp2"
expect 1 "a file that no ingester reads" "no ingester recognises" -- \
  insitu ingest "$INSITU"
expect 1 "a source that does not exist" "$T/none.csv" -- insitu ingest "$T/none.csv"
unchanged "all bad inputs"
# a folder of sources committed as one group: the bad one is left out, the others kept, and
# each good source's line is printed (after the group's commit); the same with one commit
# per source
for every in 5 0; do
  mkdir "$T/mixed$every"
  printf 'thing,time,value\nMIX%sA,2020-01-01,1\n' "$every" >"$T/mixed$every/a.csv"
  printf 'thing,time,value\nMIX%sB,2020-01-01,x\n' "$every" >"$T/mixed$every/b.csv"
  printf 'thing,time,value\nMIX%sC,2020-01-01,3\n' "$every" >"$T/mixed$every/c.csv"
  expect 1 "a bad source in a group (--commit-every $every)" "b.csv:2" "ingested $T/mixed$every/a.csv" \
    "ingested $T/mixed$every/c.csv" "1 source failed (of 3)" -- \
    insitu ingest --commit-every "$every" "$T/mixed$every"
  equal "the group's good sources are kept (--commit-every $every)" \
    "$(sql "SELECT count(*) || ':' || min(code) || ',' || max(code) FROM things WHERE code LIKE 'MIX$every%'")" \
    "2:MIX${every}A,MIX${every}C"
done
expect 2 "--commit-every takes seconds" "--commit-every soon" -- insitu ingest --commit-every soon "$T/ok.csv"
done_testing
