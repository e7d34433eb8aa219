#!/bin/sh
# End-to-end: hostile and broken files (issue 17, item 4), made here from the real samples:
# NUL bytes, a lone CR, text that is not UTF-8, truncated files, huge lines, dates out of
# range and leap seconds, zip bombs and lying zip headers, path traversal in zip member
# names, shapefiles without their .dbf or .shx. Each gets one message naming the file and the
# line, field or member, exit 1, and the store is as it was; a UTF-8 BOM and CR LF or mixed
# line ends are read. The other sources of the same command are still ingested.
. "$INSITU_TEST_LIB"

insitu init >/dev/null
insitu ingest "$DATA/csv/hydroweb_wse_long.csv" "$DATA/theia/CATC_package.zip" >/dev/null
# what the data tables hold: counts, the sum of the results, and every code and name
snapshot() {
  sql "SELECT (SELECT count(*) FROM observations) || '/' || (SELECT count(*) FROM things) || '/' ||
       (SELECT count(*) FROM datastreams) || '/' || (SELECT count(*) FROM features) || '/' ||
       (SELECT count(*) FROM ingest_runs WHERE status = 'complete') || '/' ||
       (SELECT coalesce(sum(result), 0) FROM observations)"
  sql "SELECT code FROM things ORDER BY code"
  sql "SELECT name FROM datastreams ORDER BY name"
}
BEFORE=$(snapshot)
unchanged() { equal "$1: the store is unchanged" "$(snapshot)" "$BEFORE"; }

# pyfile SRC DEST EXPR: DEST is SRC's bytes d transformed by the Python expression EXPR
pyfile() {
  python3 -c "import sys; d = open(sys.argv[1], 'rb').read(); open(sys.argv[2], 'wb').write($3)" \
    "$1" "$2"
}
HW=$DATA/hydroweb/hydroprd_R_APPROUAGUE_APPROUAGUE_KM0041_from_20240101_to_20240131.json
HWN=$DATA/hydroweb/hydroweb_rivers_wse_2024-01-01-to-2024-01-31.csv
HC=$DATA/hydrocron/reach_basic.csv
WML=$DATA/waterml2/usgs_435601087432701_precipitation.xml

# ---- NUL bytes: "1\0\0" was read as 1 ----
printf 'time,value\n2020-01-01,1\000\000\n' >"$T/nul.csv"
expect 1 "csv: a NUL byte names the line and character" "nul.csv:2" \
  "a NUL byte at character 13" -- insitu ingest "$T/nul.csv"
pyfile "$HWN" "$T/nul_next.csv" "d.replace(b'\n', b'\n\0', 2)"
expect 1 "hydroweb-next csv: a NUL byte" "nul_next.csv:2" "a NUL byte at character 1" -- \
  insitu ingest "$T/nul_next.csv"
pyfile "$HW" "$T/nul_hw.json" "d.replace(b'\"data\"', b'\"da\0ta\"')"
expect 1 "hydroweb JSON: a NUL byte names the line and column" "hydroweb: nul_hw.json: line" \
  "a NUL byte" -- insitu ingest "$T/nul_hw.json"
pyfile "$HC" "$T/nul_hc.json" "d.replace(b'reach_id', b'reach\0id', 1)"
expect 1 "hydrocron: a NUL byte" "hydrocron: nul_hc.json: line 1 column" "a NUL byte" -- \
  insitu ingest --format hydrocron "$T/nul_hc.json"
mkdir "$T/nulpivot" && cp "$DATA/theia/CATC/CATC_DAT_CE.WChem_Od.zip" "$T/nulpivot/"
pyfile "$DATA/theia/CATC_en.json" "$T/nulpivot/CATC_en.json" "d.replace(b'\"datasets\"', b'\"data\0sets\"')"
expect 1 "pivot JSON: a NUL byte" "pivot: CATC_en.json: line" "a NUL byte" -- \
  insitu ingest "$T/nulpivot"
pyfile "$WML" "$T/nul.xml" "d.replace(b'<wml2:point>', b'<wml2:point>\0', 1)"
expect 1 "WaterML 2.0: a NUL byte" "waterml2: nul.xml" "Char 0x0 out of allowed range" -- \
  insitu ingest "$T/nul.xml"
unchanged "NUL bytes"

# ---- line ends: LF, CR LF and a mix are read; a lone CR is refused ----
printf '\357\273\277time,value\r\n2020-01-01,1\r\n2020-01-02,2\n2020-01-03,3' >"$T/bom_mixed.csv"
expect 0 "csv: a BOM, CR LF, LF and no final line end" "validated" "1 datastreams, 3 observations" -- \
  insitu ingest --dry-run "$T/bom_mixed.csv"
printf 'time,value\r2020-01-01,1\r2020-01-02,2\r' >"$T/mac.csv"
expect 1 "csv: a lone CR (classic Mac OS line ends)" "mac.csv:1" \
  "a carriage return (CR) at character 11" "tr '\\r' '\\n'" -- insitu ingest "$T/mac.csv"
printf 'time,value\n2020-01-01,1\r2\n' >"$T/cr_inside.csv"
expect 1 "csv: a CR inside a line" "cr_inside.csv:2" "a carriage return (CR) at character 13" -- \
  insitu ingest "$T/cr_inside.csv"
unchanged "line ends"

# ---- a UTF-8 byte order mark is accepted by every text format ----
pyfile "$HW" "$T/bom_hw.json" "b'\xef\xbb\xbf' + d"
expect 0 "hydroweb JSON with a BOM" "validated" "(hydroweb)" -- insitu ingest --dry-run "$T/bom_hw.json"
pyfile "$HWN" "$T/bom_next.csv" "b'\xef\xbb\xbf' + d"
expect 0 "hydroweb-next CSV with a BOM" "validated" "(hydroweb-next)" -- \
  insitu ingest --dry-run "$T/bom_next.csv"
pyfile "$HC" "$T/bom_hc.json" "b'\xef\xbb\xbf' + d"
expect 0 "hydrocron with a BOM" "validated" "15 observations" -- \
  insitu ingest --dry-run --format hydrocron "$T/bom_hc.json"
pyfile "$WML" "$T/bom.xml" "b'\xef\xbb\xbf' + d"
expect 0 "WaterML 2.0 with a BOM" "validated" "33 observations" -- insitu ingest --dry-run "$T/bom.xml"
mkdir "$T/bompivot" && cp "$DATA/theia/CATC/CATC_DAT_CE.WChem_Od.zip" "$T/bompivot/"
pyfile "$DATA/theia/CATC_en.json" "$T/bompivot/CATC_en.json" "b'\xef\xbb\xbf' + d"
expect 0 "pivot JSON with a BOM" "validated" "3 observations" -- insitu ingest --dry-run "$T/bompivot"

# ---- Latin-1 / CP1252 where UTF-8 is declared: every format says so, with iconv ----
pyfile "$HWN" "$T/latin1_next.csv" "d.replace(b'\n', b'\n\xe9', 1)"
expect 1 "hydroweb-next CSV in CP1252" "latin1_next.csv:2" "not UTF-8" "iconv -f CP1252" -- \
  insitu ingest --format hydroweb-next "$T/latin1_next.csv"
pyfile "$HC" "$T/latin1_hc.json" "d.replace(b'200 OK', b'200 \xe9')"
expect 1 "hydrocron in CP1252" "hydrocron: latin1_hc.json: line 1 column" "not UTF-8" \
  "iconv -f CP1252" -- insitu ingest --format hydrocron "$T/latin1_hc.json"
mkdir "$T/latin1pivot" && cp "$DATA/theia/CATC/CATC_DAT_CE.WChem_Od.zip" "$T/latin1pivot/"
pyfile "$DATA/theia/CATC_en.json" "$T/latin1pivot/CATC_en.json" "d.replace(b'\"datasets\"', b'\"d\xe9tasets\"', 1)"
expect 1 "pivot JSON in CP1252" "pivot: CATC_en.json: line" "not UTF-8" -- \
  insitu ingest --format theia-pivot "$T/latin1pivot"
pyfile "$WML" "$T/latin1.xml" "d.replace(b'<wml2:point>', b'<!-- \xe9 --><wml2:point>', 1)"
expect 1 "WaterML 2.0 in CP1252 (declared UTF-8)" "waterml2: latin1.xml: line" "not UTF-8" \
  "iconv -f CP1252" -- insitu ingest "$T/latin1.xml"
# bytes that are not of the encoding the file declares: libxml2 printed its own lines
# ("encoding error : input conversion failed...") before insitu's; now only insitu's
pyfile "$WML" "$T/sjis.xml" "b'<?xml version=\"1.0\" encoding=\"SHIFT_JIS\"?>\\n' + d.replace(b'<wml2:point>', b'<!-- \x81\x20\xff\xfe --><wml2:point>', 1)"
expect 1 "WaterML 2.0 not in its declared encoding" "waterml2: sjis.xml" -- insitu ingest "$T/sjis.xml"
equal "WaterML 2.0 not in its declared encoding: one line on stderr" \
  "$(printf '%s\n' "$ERR" | grep -c .)" 1
unchanged "wrong encodings"

# ---- truncated files ----
pyfile "$DATA/csv/hydroweb_wse_long.csv" "$T/trunc.csv" "d[:len(d) * 2 // 3]"
expect 1 "csv cut in a line" "trunc.csv:" "expected 8 fields" -- insitu ingest "$T/trunc.csv"
pyfile "$HW" "$T/trunc_hw.json" "d[:len(d) // 2]"
expect 1 "hydroweb JSON cut" "hydroweb: trunc_hw.json: line" -- \
  insitu ingest --format hydroweb "$T/trunc_hw.json"
pyfile "$HC" "$T/trunc_hc.json" "d[:len(d) // 2]"
expect 1 "hydrocron cut" "hydrocron: trunc_hc.json: line 1 column" "premature end of input" -- \
  insitu ingest --format hydrocron "$T/trunc_hc.json"
pyfile "$WML" "$T/trunc.xml" "d[:len(d) // 2]"
expect 1 "WaterML 2.0 cut" "waterml2: trunc.xml" "not well-formed XML" -- insitu ingest "$T/trunc.xml"
pyfile "$DATA/theia/CATC_package.zip" "$T/trunc_package.zip" "d[:len(d) // 2]"
expect 1 "pivot package zip cut" "trunc_package.zip" -- \
  insitu ingest --format theia-pivot "$T/trunc_package.zip"
for f in "$DATA"/swot/*.zip; do
  b=$(basename "$f")
  pyfile "$f" "$T/$b" "d[:len(d) // 2]"
  expect 1 "SWOT zip cut: $b" "$b" -- insitu ingest "$T/$b"
  rm -f "$T/$b"
done
unchanged "truncated files"

# ---- huge lines and fields: the max_line setting ----
python3 -c "print('time,value'); print('2020-01-01,' + '1' * 100000)" >"$T/long.csv"
expect 1 "a line over --set max_line=64K" "long.csv:2" "line longer than 65536 bytes" \
  "the max_line setting" -- insitu ingest --set max_line=64K "$T/long.csv"
python3 -c "
import sys
sys.stdout.write('time,value\n2020-01-01,1\n2020-01-02,')
sys.stdout.write('2' * (17 << 20))" >"$T/huge_line.csv"
expect 1 "a 17 MiB line over the 16M default" "huge_line.csv:3" \
  "line longer than 16777216 bytes" -- insitu ingest "$T/huge_line.csv"
python3 -c "
print('time,value,comment')
print('2020-01-01,1,\"' + 'x\n' * 40000 + '\"')" >"$T/long_quoted.csv"
expect 1 "a quoted field over 40000 lines past max_line" "long_quoted.csv:2" \
  "a quoted field over several lines is longer than 65536 bytes" -- \
  insitu ingest --set max_line=64K --set col.value=value "$T/long_quoted.csv"
expect 2 "max_line takes a count" "setting 'max_line=lots'" "expected a positive count" -- \
  insitu ingest --set max_line=lots "$T/long.csv"
unchanged "huge lines"

# ---- dates out of range and leap seconds ----
for c in "10000-01-01|year out of range (0000 to 9999)" "0000-00-00|month out of range" \
  "2020-13-01|month out of range" "2020-02-30|day out of range for the month" \
  "2020-01-01T25:00:00Z|hour, minute or second out of range" \
  "2016-12-31T23:59:60Z|a leap second (:60)" "2017-06-30T23:59:60Z|a leap second (:60)"; do
  t=${c%%|*} why=${c#*|}
  printf 'time,value\n2020-01-01,1\n%s,2\n' "$t" >"$T/date.csv"
  expect 1 "the date $t" "date.csv:3" "column 'time'" "'$t'" "$why" -- insitu ingest "$T/date.csv"
done
unchanged "dates"

# ---- zip archives: bombs, lying headers, path traversal ----
python3 - "$T" <<'EOF'
import sys, zipfile, struct
t = sys.argv[1]
big = b'time,value\n' + b'2020-01-01,1\n' * 2000000   # 26 MB of one line: deflates ~250:1
with zipfile.ZipFile(t + '/bomb.zip', 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('big.csv', big)
with zipfile.ZipFile(t + '/nested.zip', 'w', zipfile.ZIP_STORED) as z:
    z.write(t + '/bomb.zip', 'inner/bomb.zip')
for name in ('../evil.csv', '/etc/evil.csv', 'a/../../evil.csv'):
    out = t + '/traversal%d.zip' % ('../evil.csv', '/etc/evil.csv', 'a/../../evil.csv').index(name)
    with zipfile.ZipFile(out, 'w') as z:
        z.writestr('ok.csv', 'time,value\n2020-01-01,1\n')
        z.writestr(name, 'time,value\n2020-01-01,1\n')
EOF
expect 1 "a zip bomb: the ratio of a member" "bomb.zip: member 'big.csv'" \
  "a ratio over 200 (a zip bomb? the zip_max_ratio setting)" -- insitu ingest "$T/bomb.zip"
expect 1 "a zip bomb inside a zip" "nested.zip: member 'inner/bomb.zip/big.csv'" "a ratio over 200" -- \
  insitu ingest "$T/nested.zip"
expect 1 "zip_max_bytes: the uncompressed total" "CATC_package.zip: member" \
  "unpacks to more than 1024 bytes (the zip_max_bytes setting)" -- \
  insitu ingest --set zip_max_bytes=1K "$DATA/theia/CATC_package.zip"
expect 1 "zip_max_ratio raised: the archive passes its check (no ingester reads it)" \
  "bomb.zip: no ingester recognises" -- insitu ingest --set zip_max_ratio=100000 "$T/bomb.zip"
expect 1 "path traversal: ../" "traversal0.zip: member '../evil.csv'" "(path traversal): refused" -- \
  insitu ingest "$T/traversal0.zip"
expect 1 "path traversal: an absolute path" "traversal1.zip: member '/etc/evil.csv'" \
  "(path traversal): refused" -- insitu ingest "$T/traversal1.zip"
expect 1 "path traversal: a/../.." "traversal2.zip: member 'a/../../evil.csv'" -- \
  insitu ingest "$T/traversal2.zip"
# a data file whose zip header declares fewer bytes than its member holds: GDAL reads on
mkdir "$T/liar" && cp "$DATA/theia/CATC_en.json" "$T/liar/"
python3 - "$DATA/theia/CATC_DAT_CE.WChem_Od.zip" "$T/liar/CATC_DAT_CE.WChem_Od.zip" <<'EOF'
import sys, zipfile, struct
src = zipfile.ZipFile(sys.argv[1])
sizes = None
with zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as out:
    for i in src.infolist():
        d = src.read(i.filename)
        if sizes is None and i.filename.endswith('_1.txt'):
            sizes = (len(d), len(d) + 3000000)
            d += b'\n' * 3000000
        out.writestr(i.filename, d)
data = open(sys.argv[2], 'rb').read()
real, lie = struct.pack('<I', sizes[1]), struct.pack('<I', sizes[0])
assert data.count(real) == 2
open(sys.argv[2], 'wb').write(data.replace(real, lie))
EOF
expect 1 "a zip member longer than its header says" "CATC_OBS_CE.WChem_Od_1.txt" \
  "holds more than the 408 bytes its archive declares" -- insitu ingest "$T/liar"
unchanged "zip archives"

# ---- shapefiles without their .dbf or .shx ----
python3 - "$DATA"/swot/SWOT_L2_HR_RiverSP_*.zip "$T" <<'EOF'
import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1])
for missing in ('dbf', 'shx'):
    d = os.path.join(sys.argv[2], 'no' + missing)
    os.mkdir(d)
    with zipfile.ZipFile(d + '.zip', 'w', zipfile.ZIP_DEFLATED) as out:
        for n in z.namelist():
            if not n.endswith('.' + missing):
                open(os.path.join(d, n), 'wb').write(z.read(n))
                out.writestr(n, z.read(n))
EOF
for m in dbf shx; do
  expect 1 "vector: a .shp without its .$m" "vector: SWOT_L2_HR_RiverSP_" "_PID0_01.$m is missing" -- \
    insitu ingest --format vector "$T/no$m"/*.shp
  expect 1 "vector: a zip without the .$m" "vector: no$m.zip" "_PID0_01.$m is missing" -- \
    insitu ingest --format vector "$T/no$m.zip"
  expect 1 "swot-river: a product without its .$m" "_PID0_01.$m is missing from the product" -- \
    insitu ingest "$T/no$m"/*.shp
done
unchanged "shapefiles"

# ---- the other sources of the same command are still ingested ----
printf 'thing,time,value\nGOOD1,2020-01-01,1\n' >"$T/good1.csv"
printf 'thing,time,value\nGOOD2,2020-01-01,2\n' >"$T/good2.csv"
expect 1 "a bad source among good ones" "nul.csv:2" "ingested $T/good1.csv" \
  "ingested $T/good2.csv" "1 source failed (of 3)" -- \
  insitu ingest "$T/good1.csv" "$T/nul.csv" "$T/good2.csv"
equal "the good sources are kept" \
  "$(sql "SELECT count(*) FROM things WHERE code IN ('GOOD1', 'GOOD2')")" 2
done_testing
