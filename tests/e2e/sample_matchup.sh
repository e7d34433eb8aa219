#!/bin/sh
# End-to-end: stations from a CSV, `insitu sample` on real rasters (MODIS sinusoidal JPEG2000,
# ESA CCI NetCDF without CRS, UTM GeoTIFF), values checked against gdallocationinfo,
# re-sampling skipped, then `insitu matchup` against a (synthetic) in-situ NDVI series with
# statistics recomputed here from the printed pairs.
. "$INSITU_TEST_LIB"
R="$DATA/raster"
CCI="$R/esa_cci_sm/ESACCI-SOILMOISTURE-L3S-SSMV-PASSIVE-20161227000000-fv04.2.nc"

insitu init >/dev/null
expect 1 "sampling an empty store says there are no stations" "no station to sample" -- \
  insitu sample --product MOD13Q1 "$R/mod13q1"
insitu ingest "$R/stations.csv" "$R/ndvi_insitu.csv" >/dev/null
expect 2 "--product is required" "--product NAME is required" -- insitu sample "$R/mod13q1"
expect 2 "an even window is bad usage" "expected an odd size" -- \
  insitu sample --product X --window 4 "$R/mod13q1/TERRA_MODIS_012010_NDVI_2013-09-14.jp2"
# a setting the ingester refuses is one usage error naming the option, told before any raster
# is read or the store opened (the store here does not exist), not once per raster
run "$INSITU" --store "$T/none.db" sample --product X --window 4 "$R/mod13q1"
equal "a bad setting names its option, once, before the rasters and the store" "$RC: $ERR" \
"2: insitu sample: --window 4: expected an odd size (1, 3, 5...)
(see 'insitu sample --help')"
run insitu sample --product X --window 3 --bilinear "$R/mod13q1"
equal "settings that go separately" "$RC: $ERR" \
"2: insitu sample: --window 3: a window and bilinear interpolation go separately: choose one
(see 'insitu sample --help')"
run insitu sample --product X --assume-crs EPSG:99999999 "$R/mod13q1"
equal "an unknown CRS is found before any raster" "$RC: $ERR" \
"2: insitu sample: --assume-crs EPSG:99999999: not a CRS GDAL knows
(see 'insitu sample --help')"
run insitu sample --product X --min-valid 0 "$R/mod13q1"
equal "a number out of range" "$RC: $ERR" \
"2: insitu sample: --min-valid 0: expected 1 to 10201
(see 'insitu sample --help')"

expect 0 "sample a folder of 12 MODIS rasters" "sampled" "3 stations, 0 missing" -- \
  insitu sample --product MOD13Q1 --property NDVI --scale 0.0001 --nodata -3000 "$R/mod13q1"
equal "one line per raster" "$(printf '%s\n' "$OUT" | grep -c '^sampled')" 12
equal "36 NDVI observations" \
  "$(sql "SELECT count(*) FROM observations o JOIN datastreams d ON d.id = o.datastream_id JOIN observed_properties p ON p.id = d.observed_property_id WHERE p.name = 'NDVI'")" 36

# the stored values are gdallocationinfo's, scaled, at the acquisition date of the file name
expected=""
for f in "$R"/mod13q1/*.jp2; do
  d=$(basename "$f" .jp2 | sed 's/.*NDVI_//')
  vals=$(printf -- '-55.5 -11.6\n-55.3 -11.7\n-55.7 -11.55\n' | gdallocationinfo -valonly -wgs84 "$f")
  set -- MT1 MT2 MT3
  for v in $vals; do
    expected="$expected$1,${d}T00:00:00Z,$(awk -v v="$v" 'BEGIN { printf "%.4f", v * 0.0001 }')
"
    shift
  done
done
run insitu query --property NDVI --format csv
actual=$(printf '%s\n' "$OUT" | tail -n +2 | awk -F, '{ printf "%s,%s,%.4f\n", $2, $5, $6 }' | sort)
equal "NDVI values equal gdallocationinfo's for 3 stations x 12 rasters" "$actual" \
  "$(printf '%s' "$expected" | sort)"

before=$(sql "SELECT count(*) FROM observations")
expect 0 "sampling the same rasters again is a no-op" "skipped" "unchanged" -- \
  insitu sample --product MOD13Q1 --property NDVI --scale 0.0001 --nodata -3000 "$R/mod13q1"
equal "every raster is skipped" "$(printf '%s\n' "$OUT" | grep -c '^skipped')" 12
equal "no observation changed" "$(sql "SELECT count(*) FROM observations")" "$before"
equal "sources shows the skipped runs" \
  "$(insitu sources | grep -c ',skipped,raster-sample,')" 12
expect 0 "a glob works like the folder" "skipped" -- \
  insitu sample --product MOD13Q1 --property NDVI --scale 0.0001 --nodata -3000 "$R/mod13q1/*2014-0[12]*.jp2"
equal "the glob named 2 rasters" "$(printf '%s\n' "$OUT" | grep -c '^skipped')" 2

# NetCDF without CRS: refused, then sampled with --assume-crs, per-pixel t0 times
expect 1 "a NetCDF without CRS needs --assume-crs" "no coordinate reference system" \
  "--assume-crs EPSG:4326" -- insitu sample --product CCI-SM "NETCDF:\"$CCI\":sm"
expect 0 "NETCDF:\"file\":sm with --assume-crs" "sampled" "10 stations" -- \
  insitu sample --product CCI-SM --assume-crs EPSG:4326 "NETCDF:\"$CCI\":sm"
run insitu query --thing AUS1 --property sm --format csv
t0=$(gdallocationinfo -valonly -geoloc "NETCDF:\"$CCI\":t0" 147.3 -33.1)
equal "the observation time is the pixel's t0 (days since 1970)" \
  "$(printf '%s\n' "$OUT" | tail -n 1 | cut -d, -f5)" \
  "$(python3 -c "import datetime as d; print((d.datetime(1970,1,1) + d.timedelta(seconds=round($t0 * 86400))).strftime('%Y-%m-%dT%H:%M:%SZ'))")"
equal "and the value gdallocationinfo's" \
  "$(printf '%s\n' "$OUT" | tail -n 1 | cut -d, -f6 | awk '{ printf "%.9f", $1 }')" \
  "$(gdallocationinfo -valonly -geoloc "NETCDF:\"$CCI\":sm" 147.3 -33.1 | awk '{ printf "%.9f", $1 }')"
equal "a fill value is a NULL result flagged nodata" \
  "$(sql "SELECT count(*) FROM observations_text o JOIN datastreams d ON d.id = o.datastream_id JOIN things t ON t.id = d.thing_id JOIN observed_properties p ON p.id = d.observed_property_id WHERE p.name = 'sm' AND t.code = 'SOCAL1' AND o.result IS NULL AND o.result_quality = 'nodata'")" 1

# a raster that covers no selected station writes no run: a warning with its footprint; when
# no raster sampled anything, exit 1 with what helps find why
runs=$(sql "SELECT count(*) FROM ingest_runs")
run insitu sample --product RGB --thing MT1 --date 2020-01-01 "$R/rasterio/RGB.byte.tif"
equal "a raster without a selected station inside: warning, and why nothing was sampled (exit 1)" \
  "$RC: $ERR" \
"1: insitu: warning: $R/rasterio/RGB.byte.tif: no station inside (footprint -78.959,23.565,-76.575,25.551)
insitu: nothing sampled: no station lies inside the rasters (1 raster, footprint -78.959,23.565,-76.575,25.551; 1 station, extent -55.500,-11.600,-55.500,-11.600); check the rasters' CRS (--assume-crs for those that declare none) and the selection (the product's rasters, --thing, --bbox)"
equal "nothing printed on stdout" "$OUT" ""
equal "no run recorded" "$(sql "SELECT count(*) FROM ingest_runs")" "$runs"
run insitu sample --product RGB --thing MT1 --thing MT2 --date 2020-01-01 \
  "$R/rasterio/RGB.byte.tif" "$R/rasterio/byte.tif"
equal "two rasters: their footprints together, the stations' extent" \
  "$RC: $(printf '%s\n' "$ERR" | tail -n 1)" \
"1: insitu: nothing sampled: no station lies inside the rasters (2 rasters, footprint -117.642,23.565,-76.575,33.902; 2 stations, extent -55.500,-11.700,-55.300,-11.600); check the rasters' CRS (--assume-crs for those that declare none) and the selection (the product's rasters, --thing, --bbox)"
equal "a warning per raster" "$(printf '%s\n' "$ERR" | grep -c 'no station inside (footprint')" 2
expect 0 "a raster with stations inside is sampled, one without only warned of" \
  "sampled $R/rasterio/RGB.byte.tif: 1 station, 0 missing" \
  "insitu: warning: $R/rasterio/byte.tif: no station inside (footprint -117.642,33.892,-117.629,33.902)" -- \
  insitu sample --product RGB --thing MT1 --thing BAH1 --date 2020-01-01 \
  "$R/rasterio/RGB.byte.tif" "$R/rasterio/byte.tif"
equal "one run for the raster that sampled" "$(sql "SELECT count(*) FROM ingest_runs")" $((runs + 1))
# a station inside whose pixel is nodata is sampled: a NULL result, a run, exit 0
expect 0 "a station on a nodata pixel is a sample, not nothing" "1 station, 1 missing" -- \
  insitu sample --product CCI-NODATA --assume-crs EPSG:4326 --thing SOCAL1 "NETCDF:\"$CCI\":sm"
equal "its run is recorded" "$(sql "SELECT count(*) FROM ingest_runs")" $((runs + 2))

mkdir -p "$T/no_rasters" && echo "not a raster" >"$T/no_rasters/notes.txt"
expect 1 "a folder without rasters is not success" \
  "insitu: no raster to sample: no file given is one GDAL recognises" -- \
  insitu sample --product X "$T/no_rasters"

# a raster that fails does not stop the next one: bad input, exit 1
run insitu sample --product CCI --assume-crs EPSG:4326 "$R/esa_cci_sm/"*
equal "each NetCDF of several variables fails on its own; both are tried" \
  "$RC: $(printf '%s\n' "$ERR" | grep -c 'several variables (t0, sm, sm_uncertainty, .*): choose one with --subdataset'): $(printf '%s\n' "$ERR" | tail -n 1)" \
  "1: 2: insitu: 2 rasters failed (of 2)"
expect 1 "after a raster that fails, the next is sampled" \
  "several variables" "sampled $R/rasterio/RGB.byte.tif: 3 stations" "insitu: 1 raster failed (of 2)" -- \
  insitu sample --product RGB2 --date 2020-01-01 "$CCI" "$R/rasterio/RGB.byte.tif"

# a GeoTIFF without date; a window
expect 1 "a raster without date asks for --date" "give --date or --date-pattern" -- \
  insitu sample --product RGB "$R/rasterio/RGB.byte.tif"
expect 0 "--date and a 3x3 window" "sampled" "3 stations, 1 missing" -- \
  insitu sample --product RGB --band 1 --window 3 --date 2020-01-01 "$R/rasterio/RGB.byte.tif"
equal "the window statistics are parameters" \
  "$(sql "SELECT parameters FROM observations_text o JOIN datastreams d ON d.id = o.datastream_id JOIN things t ON t.id = d.thing_id WHERE t.code = 'BAH1' AND d.qualifier = 'window3-mean'" |
     python3 -c 'import json,sys; p=json.load(sys.stdin); print(p["n_valid"], p["method"])')" \
  "9 window3-mean"
expect 0 "query sees the product datastream as GeoJSON with the pixel as feature" '"Feature"' \
  -- insitu query --thing BAH1 --property RGB --format geojson

# matchup: in-situ NDVI (synthetic) against the sampled MOD13Q1 NDVI at MT1 and MT2
expect 2 "--tolerance is required" "--tolerance are required" -- \
  insitu matchup --insitu ndvi_insitu --product NDVI
expect 0 "matchup by property: one pair set per station" "(all)" -- \
  insitu matchup --insitu ndvi_insitu --product NDVI --tolerance P2D --plot "$T/plot.svg"
printf '%s\n' "$OUT" >"$T/matchup.csv"
equal "24 pairs" "$(sed -n '2,/^$/p' "$T/matchup.csv" | grep -c ',')" 24
check=$(python3 - "$T/matchup.csv" <<'PY'
import csv, math, sys
text = open(sys.argv[1]).read().split("\n\n")
pairs = list(csv.DictReader(text[0].splitlines()))
stats = {r["thing"]: r for r in csv.DictReader(text[1].splitlines())}
bad = []
for thing in ("MT1", "MT2"):
    p = [(float(r["insitu"]), float(r["product"])) for r in pairs if r["thing"] == thing]
    n = len(p); o = [a for a, b in p]; s = [b for a, b in p]
    mo, ms = sum(o) / n, sum(s) / n
    vo = sum((x - mo) ** 2 for x in o); vs = sum((x - ms) ** 2 for x in s)
    cov = sum((a - mo) * (b - ms) for a, b in p)
    r = cov / math.sqrt(vo * vs)
    want = {"n": n, "bias": ms - mo, "rmse": math.sqrt(sum((b - a) ** 2 for a, b in p) / n),
            "r": r, "nse": 1 - sum((b - a) ** 2 for a, b in p) / vo,
            "kge": 1 - math.sqrt((r - 1) ** 2 + (math.sqrt(vs / vo) - 1) ** 2 + (ms / mo - 1) ** 2)}
    for k, v in want.items():
        if abs(float(stats[thing][k]) - v) > 1e-8 * max(1, abs(v)):
            bad.append(f"{thing} {k} {stats[thing][k]} != {v}")
print("ok" if not bad else "; ".join(bad))
PY
)
equal "statistics equal an independent computation from the pairs" "$check" ok
equal "the SVG plot is well-formed, with the 1:1 line and the pooled n" \
  "$(python3 -c "import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); t = open(sys.argv[1]).read(); print(r.tag.split('}')[-1], 'class=\"one\"' in t, 'n = 24' in t)" "$T/plot.svg")" \
  "svg True True"
run insitu matchup --insitu ndvi_insitu --product NDVI --tolerance 12h --format json
equal "a 12 h tolerance finds no pair (in situ is 34 h after) and reports no statistics" \
  "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["all"]["n"], d["all"]["rmse"], len(d["sets"][0]["pairs"]))')" \
  "0 None 0"
expect 0 "--reduce mean over 2 days" "MT1," -- \
  insitu matchup --insitu ndvi_insitu --product NDVI --tolerance 2d --reduce mean --min-n 20
equal "below --min-n the statistics are not reported" \
  "$(printf '%s\n' "$OUT" | grep '^MT1,' | tail -n 1 | cut -d, -f4,5,12)" "12,,n < min-n (20): not reported"
done_testing
